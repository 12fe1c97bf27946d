"""An image-captioning network: image features -> initial hidden state -> RNN/LSTM -> words."""
import numpy as np

from ..layers import *  # noqa: F401,F403  (the course's imports: the given layers ...)
from ..rnn_layers import *  # noqa: F401,F403  (... and the recurrent ones)
from ..rnn_layers import (affine_backward, affine_forward, lstm_backward, lstm_forward,
                          rnn_backward, rnn_forward, temporal_affine_backward,
                          temporal_affine_forward, temporal_softmax_loss,
                          word_embedding_backward, word_embedding_forward, sigmoid)


class CaptioningRNN:
    """Produces captions from image features with a recurrent network.

    The network receives feature vectors of size D, has a vocabulary of size V, works on
    sequences of length T, has hidden size H, uses word vectors of size W and operates on
    minibatches of size N. No regularization.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=np.float32):
        """
        Inputs:
        - word_to_idx: dict of the V words -> integer ids; must hold <NULL>, and <START> for
          sampling (usually <END> too).
        - input_dim: dimension D of the image feature vectors.
        - wordvec_dim: dimension W of the word vectors.
        - hidden_dim: dimension H of the hidden state.
        - cell_type: 'rnn' or 'lstm'.
        - dtype: numpy float type of the parameters (float64 for gradient checks).
        """
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError(f'Invalid cell_type "{cell_type}" (use "rnn" or "lstm")')
        for name, value in (("input_dim", input_dim), ("wordvec_dim", wordvec_dim),
                            ("hidden_dim", hidden_dim)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        # As in the course: only <NULL> is required (the course's own checks build a
        # word_to_idx without <START> and with the ids {0, 2, 3}); V = len(word_to_idx) and
        # captions hold ids in [0, V). sample() needs <START>.
        if "<NULL>" not in word_to_idx:
            raise ValueError("word_to_idx has no <NULL> token")

        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.params = {}

        vocab_size = len(word_to_idx)
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)
        self.input_dim, self.hidden_dim = input_dim, hidden_dim

        # Word vectors
        self.params["W_embed"] = np.random.randn(vocab_size, wordvec_dim)
        self.params["W_embed"] /= 100

        # Projection from image features to the initial hidden state
        self.params["W_proj"] = np.random.randn(input_dim, hidden_dim)
        self.params["W_proj"] /= np.sqrt(input_dim)
        self.params["b_proj"] = np.zeros(hidden_dim)

        # RNN parameters (4 gate blocks for the LSTM)
        dim_mul = {"lstm": 4, "rnn": 1}[cell_type]
        self.params["Wx"] = np.random.randn(wordvec_dim, dim_mul * hidden_dim)
        self.params["Wx"] /= np.sqrt(wordvec_dim)
        self.params["Wh"] = np.random.randn(hidden_dim, dim_mul * hidden_dim)
        self.params["Wh"] /= np.sqrt(hidden_dim)
        self.params["b"] = np.zeros(dim_mul * hidden_dim)

        # Output projection from hidden states to vocabulary scores
        self.params["W_vocab"] = np.random.randn(hidden_dim, vocab_size)
        self.params["W_vocab"] /= np.sqrt(hidden_dim)
        self.params["b_vocab"] = np.zeros(vocab_size)

        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    def _check_features(self, features):
        if np.ndim(features) != 2 or np.shape(features)[1] != self.input_dim:
            raise ValueError(f"features must have shape (N, {self.input_dim}) to match "
                             f"input_dim, got {np.shape(features)}")

    def loss(self, features, captions):
        """Training-time loss and gradients.

        Inputs:
        - features: (N, D) image features.
        - captions: (N, T) ground-truth word ids in [0, V); captions[:, 0] is <START>.

        Returns (loss, grads) with grads[k] the gradient of params[k].
        """
        self._check_features(features)
        captions = np.asarray(captions)
        V = len(self.word_to_idx)
        if captions.ndim != 2 or captions.shape[0] != features.shape[0] or captions.shape[1] < 2:
            raise ValueError(f"captions must have shape (N={features.shape[0]}, T>=2), "
                             f"got {captions.shape}")
        if not np.issubdtype(captions.dtype, np.integer) or captions.min() < 0 or \
                captions.max() >= V:
            raise ValueError(f"captions must hold integer word ids in [0, {V}), got dtype "
                             f"{captions.dtype} with values in [{captions.min()}, "
                             f"{captions.max()}]")

        # The RNN reads captions_in (all but the last word) and should predict captions_out
        # (all but the first): word t+1 after reading word t. Padding (<NULL>) words do
        # not count.
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self._null

        W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
        W_embed = self.params["W_embed"]
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]

        loss, grads = 0.0, {}
        # TODO: the forward pass - (1) affine projection of the features to the initial
        # hidden state h0 (N, H); (2) word embedding of captions_in (N, T, W); (3) the RNN or
        # LSTM over the embedded words (N, T, H); (4) temporal affine to vocabulary scores
        # (N, T, V); (5) temporal softmax loss against captions_out with `mask`. Then the
        # backward pass through the same layers, filling grads with one entry per parameter.
        # *****START OF YOUR CODE*****
        h0, cache_proj = affine_forward(features, W_proj, b_proj)
        x, cache_embed = word_embedding_forward(captions_in, W_embed)
        seq_forward = rnn_forward if self.cell_type == "rnn" else lstm_forward
        seq_backward = rnn_backward if self.cell_type == "rnn" else lstm_backward
        h, cache_seq = seq_forward(x, h0, Wx, Wh, b)
        scores, cache_vocab = temporal_affine_forward(h, W_vocab, b_vocab)
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, cache_vocab)
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = seq_backward(dh, cache_seq)
        grads["W_embed"] = word_embedding_backward(dx, cache_embed)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, cache_proj)
        # *****END OF YOUR CODE*****
        return loss, grads

    def sample(self, features, max_length=30):
        """Greedy test-time captions.

        The initial hidden state is the projected features, the first input word is
        <START>; at every step the highest-scoring word is emitted and fed back in. Words
        after an emitted <END> are set to <NULL>.

        Inputs: features (N, D); max_length: number of words T to generate (>= 1).
        Returns captions: (N, max_length) int array of word ids (the first column is the
        first generated word, not <START>).
        """
        self._check_features(features)
        if self._start is None:
            raise ValueError("sample() needs a <START> token in word_to_idx")
        if int(max_length) != max_length or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        N = features.shape[0]
        captions = self._null * np.ones((N, max_length), dtype=np.int32)

        W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
        W_embed = self.params["W_embed"]
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]

        # TODO: greedy sampling, one timestep at a time for the whole minibatch: embed the
        # previous word, make one RNN/LSTM step (the LSTM's first cell state is zero), score
        # the vocabulary from the new hidden state and take the argmax as the next word.
        # *****START OF YOUR CODE*****
        H = W_proj.shape[1]
        h = features @ W_proj + b_proj
        c = np.zeros_like(h)
        word = np.full(N, self._start)
        finished = np.zeros(N, dtype=bool)
        for t in range(max_length):
            a = W_embed[word] @ Wx + h @ Wh + b
            if self.cell_type == "rnn":
                h = np.tanh(a)
            else:
                i, f, o = (sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
                c = f * c + i * np.tanh(a[:, 3 * H:])
                h = o * np.tanh(c)
            word = np.argmax(h @ W_vocab + b_vocab, axis=1)
            captions[:, t] = np.where(finished, self._null, word)
            if self._end is not None:
                finished |= word == self._end
                if finished.all():
                    break
        # *****END OF YOUR CODE*****
        return captions
