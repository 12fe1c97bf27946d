"""An image-captioning network in PyTorch: image features -> initial hidden state ->
RNN/LSTM -> word scores. Forward only: autograd computes the gradients of `params`."""
import numpy as np
import torch

from ..rnn_layers_pytorch import *  # noqa: F401,F403  (the course's import)
from ..rnn_layers_pytorch import (affine_forward, lstm_forward, lstm_step_forward, rnn_forward,
                                  rnn_step_forward, temporal_affine_forward,
                                  temporal_softmax_loss, word_embedding_forward)


class CaptioningRNN:
    """Produces captions from image features with a recurrent network.

    The network receives feature vectors of size D, has a vocabulary of size V, works on
    sequences of length T, has hidden size H, uses word vectors of size W and operates on
    minibatches of size N. No regularization. The parameters are plain tensors in
    `self.params`; a solver turns on their requires_grad and steps an optimizer over them.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=torch.float32):
        """
        Inputs:
        - word_to_idx: dict of the V words -> integer ids in [0, V); must hold <NULL>, and
          <START> for sampling (usually <END> too).
        - input_dim: dimension D of the image feature vectors.
        - wordvec_dim: dimension W of the word vectors.
        - hidden_dim: dimension H of the hidden state.
        - cell_type: 'rnn' or 'lstm'.
        - dtype: torch dtype of the parameters (float64 for numeric gradient checks).
        """
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError(f'Invalid cell_type "{cell_type}" (use "rnn" or "lstm")')
        for name, value in (("input_dim", input_dim), ("wordvec_dim", wordvec_dim),
                            ("hidden_dim", hidden_dim)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        # As in the course: only <NULL> is required (the course's own check builds a
        # word_to_idx without <START> and with the ids {0, 2, 3}); sample() needs <START>.
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
        self.input_dim = input_dim

        # Word vectors (drawn with torch's generator, in the course's order, so that
        # torch.manual_seed makes the initialization repeatable)
        self.params["W_embed"] = torch.randn(vocab_size, wordvec_dim) / 100

        # Projection from image features to the initial hidden state
        self.params["W_proj"] = torch.randn(input_dim, hidden_dim) / np.sqrt(input_dim)
        self.params["b_proj"] = torch.zeros(hidden_dim)

        # Recurrent parameters (4 gate blocks for the LSTM)
        dim_mul = {"lstm": 4, "rnn": 1}[cell_type]
        self.params["Wx"] = torch.randn(wordvec_dim, dim_mul * hidden_dim) / np.sqrt(wordvec_dim)
        self.params["Wh"] = torch.randn(hidden_dim, dim_mul * hidden_dim) / np.sqrt(hidden_dim)
        self.params["b"] = torch.zeros(dim_mul * hidden_dim)

        # Output projection from hidden states to vocabulary scores
        self.params["W_vocab"] = torch.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim)
        self.params["b_vocab"] = torch.zeros(vocab_size)

        for k, v in self.params.items():
            self.params[k] = v.to(self.dtype)

    def _check_features(self, features):
        if features.dim() != 2 or features.shape[1] != self.input_dim:
            raise ValueError(f"features must have shape (N, {self.input_dim}) to match "
                             f"input_dim, got {tuple(features.shape)}")

    def loss(self, features, captions):
        """Training-time loss (autograd gives the gradients).

        Inputs:
        - features: (N, D) tensor of image features.
        - captions: (N, T + 1) integer tensor of word ids in [0, V); captions[:, 0] is <START>.

        Returns the scalar loss: a 0-dim tensor, summed over the timesteps and averaged over
        the N captions, with <NULL> targets left out.
        """
        self._check_features(features)
        V = len(self.word_to_idx)
        if captions.dim() != 2 or captions.shape[0] != features.shape[0] or captions.shape[1] < 2:
            raise ValueError(f"captions must have shape (N={features.shape[0]}, T+1>=2), got "
                             f"{tuple(captions.shape)}")
        if captions.dtype.is_floating_point or int(captions.min()) < 0 or \
                int(captions.max()) >= V:
            raise ValueError(f"captions must hold integer word ids in [0, {V}), got dtype "
                             f"{captions.dtype} with values in [{int(captions.min())}, "
                             f"{int(captions.max())}]")

        # The network reads captions_in (all but the last word) and should predict
        # captions_out (all but the first): word t+1 after reading word t. Positions whose
        # target is <NULL> (padding) do not count.
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self._null

        W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
        W_embed = self.params["W_embed"]
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]

        loss = 0.0
        # TODO: the forward pass, with the layers of rnn_layers_pytorch: (1) an affine
        # projection of the features to the initial hidden state h0 (N, H); (2) the word
        # embedding of captions_in (N, T, W); (3) the RNN or the LSTM (self.cell_type) over
        # the embedded words (N, T, H); (4) a temporal affine map to vocabulary scores
        # (N, T, V); (5) the temporal softmax loss against captions_out, with `mask`.
        # No backward pass to write: autograd does it.
        # *****START OF YOUR CODE*****
        h0 = affine_forward(features, W_proj, b_proj)
        x = word_embedding_forward(captions_in, W_embed)
        sequence = rnn_forward if self.cell_type == "rnn" else lstm_forward
        h = sequence(x, h0, Wx, Wh, b)
        scores = temporal_affine_forward(h, W_vocab, b_vocab)
        loss = temporal_softmax_loss(scores, captions_out, mask)
        # *****END OF YOUR CODE*****
        return loss

    def sample(self, features, max_length=30):
        """Greedy test-time captions.

        The initial hidden state is the projected features (the LSTM's initial cell state is
        zero) and the first input word is <START>; at every step the highest-scoring word is
        emitted and fed back in. Words after an emitted <END> are <NULL>.

        Inputs: features (N, D) tensor; max_length: number of words to generate (>= 1).
        Returns captions: (N, max_length) long tensor of word ids; the first column is the
        first generated word, not <START>.
        """
        self._check_features(features)
        if self._start is None:
            raise ValueError("sample() needs a <START> token in word_to_idx")
        if int(max_length) != max_length or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        N = features.shape[0]
        captions = self._null * torch.ones((N, max_length), dtype=torch.long)

        W_proj, b_proj = self.params["W_proj"], self.params["b_proj"]
        W_embed = self.params["W_embed"]
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        W_vocab, b_vocab = self.params["W_vocab"], self.params["b_vocab"]

        # TODO: greedy sampling, one timestep at a time for the whole minibatch: embed the
        # previous word, make one RNN/LSTM step with rnn_step_forward or lstm_step_forward
        # (rnn_forward cannot be used: each input is the previous output), score the
        # vocabulary from the new hidden state and write the argmax word into `captions`.
        # *****START OF YOUR CODE*****
        with torch.no_grad():                 # sampling never needs gradients
            features = features.to(W_proj.dtype)
            h = affine_forward(features, W_proj, b_proj)
            c = torch.zeros_like(h)
            word = torch.full((N,), self._start, dtype=torch.long)
            finished = torch.zeros(N, dtype=torch.bool)
            for t in range(max_length):
                x = word_embedding_forward(word[:, None], W_embed)[:, 0]
                if self.cell_type == "rnn":
                    h = rnn_step_forward(x, h, Wx, Wh, b)
                else:
                    h, c = lstm_step_forward(x, h, c, Wx, Wh, b)
                word = affine_forward(h, W_vocab, b_vocab).argmax(dim=1).cpu()
                captions[:, t] = torch.where(finished, torch.full_like(word, self._null), word)
                if self._end is not None:
                    finished |= word == self._end
                    if bool(finished.all()):
                        break
        # *****END OF YOUR CODE*****
        return captions
