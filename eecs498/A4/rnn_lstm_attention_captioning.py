"""
Image captioning with a vanilla RNN, an LSTM and an attention LSTM, in PyTorch.

Shapes: N minibatch, T timesteps, D input size, H hidden size, W word-vector size,
V vocabulary size. LSTM weights use the layout Wx (D, 4H), Wh (H, 4H), b (4H,) with the
gate blocks in the order input, forget, output, block (i, f, o, g).
"""
import math

import torch
import torch.nn as nn
from torch.nn.parameter import Parameter

from a4_helper import *  # noqa: F401,F403  (the course's helpers: load_COCO, decode_captions, ...)


def hello():
    """Check that this module imports."""
    print("Hello from rnn_lstm_attention_captioning.py!")


class FeatureExtractor(object):
    """Image features from MobileNet v2 (ImageNet weights when the torch hub cache has them).

    pooling=False: the last convolutional activation map, (N, 1280, 4, 4) for 112x112
    images; pooling=True: its spatial average, (N, 1280).

    Without the ImageNet weights the backbone is the project's stand-in
    (`dl4cv.standins.mobilenet`, shared with A5): MobileNet v2 trained on CIFAR-10 when that
    is cached, else a seeded random init with BatchNorm statistics calibrated on CIFAR-10
    images; one line says which. self.weights_source names it.
    """

    def __init__(self, pooling=False, verbose=False, device="cpu", dtype=torch.float32):
        from torchvision import transforms

        from dl4cv.standins.mobilenet import mobilenet_v2_features
        self.preprocess = transforms.Normalize(mean=[0.485, 0.456, 0.406],
                                               std=[0.229, 0.224, 0.225])
        self.device, self.dtype = device, dtype
        features, self.weights_source, _ = mobilenet_v2_features("cached", once=True)
        self.pretrained = self.weights_source == "imagenet"
        layers = [features]                     # MobileNet v2 without its classifier
        if pooling:
            layers.append(nn.AdaptiveAvgPool2d(1))
        self.mobilenet = nn.Sequential(*layers).to(device=device, dtype=dtype).eval()
        for p in self.mobilenet.parameters():
            p.requires_grad_(False)
        self.pooling = pooling
        if verbose:
            print(self.mobilenet)

    def extract_mobilenet_feature(self, img, verbose=False):
        """img: (N, 3, H, W) uint8 (or float in [0, 255]) images, 112x112 in the course.
        Returns (N, 1280) when pooling else (N, 1280, H/32, W/32) features."""
        if img.dim() != 4 or img.shape[1] != 3:
            raise ValueError(f"images must have shape (N, 3, H, W), got {tuple(img.shape)}")
        if img.shape[2] < 32 or img.shape[3] < 32:
            raise ValueError(f"images must be at least 32x32 for MobileNet, got "
                             f"{tuple(img.shape[2:])}")
        x = self.preprocess(img.to(device=self.device, dtype=self.dtype).div(255.0))
        feats = []
        with torch.no_grad():
            for chunk in x.split(500):
                feats.append(self.mobilenet(chunk))
        feat = torch.cat(feats)
        if self.pooling:
            feat = feat.flatten(1)
        if verbose:
            print("Output feature shape: ", feat.shape)
        return feat


def _check_step_shapes(x, prev_h, Wx, Wh, b, gates):
    if x.dim() != 2 or prev_h.dim() != 2 or x.shape[0] != prev_h.shape[0]:
        raise ValueError(f"x and prev_h must be (N, D) and (N, H), got {tuple(x.shape)} and "
                         f"{tuple(prev_h.shape)}")
    D, H = x.shape[1], prev_h.shape[1]
    if tuple(Wx.shape) != (D, gates * H) or tuple(Wh.shape) != (H, gates * H) or \
            tuple(b.shape) != (gates * H,):
        raise ValueError(f"weights must be Wx ({D}, {gates * H}), Wh ({H}, {gates * H}), b "
                         f"({gates * H},); got {tuple(Wx.shape)}, {tuple(Wh.shape)}, "
                         f"{tuple(b.shape)}")


##############################################################################
# Recurrent Neural Network                                                   #
##############################################################################
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One timestep of a tanh RNN.

    Inputs: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns next_h (N, H) and a cache for rnn_step_backward.
    """
    _check_step_shapes(x, prev_h, Wx, Wh, b, 1)
    next_h, cache = None, None
    # TODO: next_h = tanh(x Wx + prev_h Wh + b); keep what the backward pass needs in cache.
    # *****START OF YOUR CODE*****
    next_h = torch.tanh(torch.addmm(b, x, Wx) + prev_h.mm(Wh))
    cache = (x, prev_h, Wx, Wh, next_h)
    # *****END OF YOUR CODE*****
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """Backward pass of one RNN timestep.
    dnext_h: (N, H). Returns dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,)."""
    dx, dprev_h, dWx, dWh, db = None, None, None, None, None
    # TODO: backpropagate through tanh (derivative 1 - tanh^2) and the matrix products.
    # *****START OF YOUR CODE*****
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h * next_h)
    dx = da.mm(Wx.t())
    dprev_h = da.mm(Wh.t())
    dWx = x.t().mm(da)
    dWh = prev_h.t().mm(da)
    db = da.sum(dim=0)
    # *****END OF YOUR CODE*****
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """A tanh RNN over a sequence. x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns h (N, T, H), all hidden states, and a cache."""
    if x.dim() != 3:
        raise ValueError(f"x must have shape (N, T, D), got {tuple(x.shape)}")
    _check_step_shapes(x[:, 0], h0, Wx, Wh, b, 1)
    h, cache = None, None
    # TODO: loop rnn_step_forward over the T timesteps starting at h0.
    # *****START OF YOUR CODE*****
    N, T, _ = x.shape
    hs, cache = [], []
    prev = h0
    for t in range(T):
        prev, c = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        hs.append(prev)
        cache.append(c)
    h = torch.stack(hs, dim=1)
    # *****END OF YOUR CODE*****
    return h, cache


def rnn_backward(dh, cache):
    """Backward pass of rnn_forward. dh: (N, T, H) upstream gradients of all hidden states.
    Returns dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,)."""
    dx, dh0, dWx, dWh, db = None, None, None, None, None
    # TODO: walk backwards in time, adding the gradient from step t+1 to dh[:, t].
    # *****START OF YOUR CODE*****
    N, T, H = dh.shape
    dxs = [None] * T
    dprev = torch.zeros_like(dh[:, 0])
    dWx = dWh = db = 0
    for t in range(T - 1, -1, -1):
        dxs[t], dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    dx = torch.stack(dxs, dim=1)
    dh0 = dprev
    # *****END OF YOUR CODE*****
    return dx, dh0, dWx, dWh, db


class RNN(nn.Module):
    """A single-layer vanilla RNN (input_size D, hidden_size H)."""

    def __init__(self, input_size, hidden_size, device="cpu", dtype=torch.float32):
        super().__init__()
        self.Wx = Parameter(torch.randn(input_size, hidden_size, device=device, dtype=dtype)
                            .div(math.sqrt(input_size)))
        self.Wh = Parameter(torch.randn(hidden_size, hidden_size, device=device, dtype=dtype)
                            .div(math.sqrt(hidden_size)))
        self.b = Parameter(torch.zeros(hidden_size, device=device, dtype=dtype))

    def forward(self, x, h0):
        """x (N, T, D), h0 (N, H) -> hn (N, T, H)."""
        hn, _ = rnn_forward(x, h0, self.Wx, self.Wh, self.b)
        return hn

    def step_forward(self, x, prev_h):
        """x (N, D), prev_h (N, H) -> next_h (N, H)."""
        next_h, _ = rnn_step_forward(x, prev_h, self.Wx, self.Wh, self.b)
        return next_h


class WordEmbedding(nn.Module):
    """A simplified torch.nn.Embedding: x (N, T) word ids in [0, V) -> (N, T, W) vectors."""

    def __init__(self, vocab_size, embed_size, device="cpu", dtype=torch.float32):
        super().__init__()
        self.W_embed = Parameter(torch.randn(vocab_size, embed_size, device=device, dtype=dtype)
                                 .div(math.sqrt(vocab_size)))

    def forward(self, x):
        V = self.W_embed.shape[0]
        if x.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise ValueError(f"word ids must be an integer tensor, got {x.dtype}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= V):
            raise ValueError(f"word ids must lie in [0, {V}), got values in "
                             f"[{int(x.min())}, {int(x.max())}]")
        out = None
        # TODO: index the rows of self.W_embed with x (one line).
        # *****START OF YOUR CODE*****
        out = self.W_embed[x.long()]
        # *****END OF YOUR CODE*****
        return out


def temporal_softmax_loss(x, y, ignore_index=None):
    """Cross-entropy at every timestep, summed over time and averaged over the minibatch.

    Inputs: x (N, T, V) scores; y (N, T) target ids in [0, V); ignore_index: targets equal
    to it (the <NULL> padding) do not count.
    Returns the scalar loss.
    """
    if x.dim() != 3 or tuple(y.shape) != tuple(x.shape[:2]):
        raise ValueError(f"want x (N, T, V) and y (N, T), got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    V = x.shape[2]
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= V):
        raise ValueError(f"targets must lie in [0, {V}), got values in "
                         f"[{int(y.min())}, {int(y.max())}]")
    loss = None
    # TODO: one call to torch.nn.functional.cross_entropy with reduction='sum' on the
    # (N * T, V) view, divided by N.
    # *****START OF YOUR CODE*****
    loss = nn.functional.cross_entropy(
        x.reshape(-1, V), y.reshape(-1).long(),
        ignore_index=-100 if ignore_index is None else ignore_index,
        reduction="sum") / x.shape[0]
    # *****END OF YOUR CODE*****
    return loss


class CaptioningRNN(nn.Module):
    """Captions images: MobileNet features -> h0 (or an attention map A) -> RNN/LSTM/attention
    LSTM -> vocabulary scores. No regularization.

    max_caption_length (our addition, default None = no limit): forward() refuses captions
    with more than this many words after <START>.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", device="cpu", ignore_index=None, dtype=torch.float32,
                 max_caption_length=None):
        """
        Inputs:
        - word_to_idx: dict of the V words -> ids, with <NULL> (sample() also needs <START>;
          the course's small checks pass a vocabulary without it).
        - input_dim: dimension D of the image features (1280 for MobileNet v2).
        - wordvec_dim: W; hidden_dim: H.
        - cell_type: 'rnn', 'lstm' or 'attention'.
        - ignore_index: the target id the loss ignores (pass the <NULL> id).
        """
        super().__init__()
        if cell_type not in {"rnn", "lstm", "attention"}:
            raise ValueError('Invalid cell_type "%s" (use "rnn", "lstm" or "attention")'
                             % cell_type)
        if input_dim != 1280:
            raise ValueError(f"input_dim must be 1280, the MobileNet v2 feature size, got "
                             f"{input_dim}")
        if "<NULL>" not in word_to_idx:
            raise ValueError("word_to_idx has no <NULL> token")
        self.cell_type = cell_type
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        vocab_size = len(word_to_idx)
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)
        self.ignore_index = ignore_index
        self.max_caption_length = max_caption_length
        self.input_dim, self.hidden_dim = input_dim, hidden_dim

        # TODO: create the layers: a FeatureExtractor (pooled features for rnn/lstm, the
        # 4x4 activation map for attention), a linear projection of the features to H, a
        # WordEmbedding, the RNN / LSTM / AttentionLSTM and a linear output layer H -> V.
        # *****START OF YOUR CODE*****
        self.feature_extractor = FeatureExtractor(pooling=cell_type != "attention",
                                                  device=device, dtype=dtype)
        self.feature_projection = nn.Linear(input_dim, hidden_dim).to(device=device, dtype=dtype)
        self.word_embedding = WordEmbedding(vocab_size, wordvec_dim, device=device, dtype=dtype)
        cell = {"rnn": RNN, "lstm": LSTM, "attention": AttentionLSTM}[cell_type]
        self.rnn = cell(wordvec_dim, hidden_dim, device=device, dtype=dtype)
        self.output_projection = nn.Linear(hidden_dim, vocab_size).to(device=device, dtype=dtype)
        # *****END OF YOUR CODE*****

    def _check_captions(self, captions, n_images):
        V = len(self.word_to_idx)
        if captions.dim() != 2 or captions.shape[0] != n_images or captions.shape[1] < 2:
            raise ValueError(f"captions must have shape (N={n_images}, T+1>=2), got "
                             f"{tuple(captions.shape)}")
        if captions.is_floating_point() or int(captions.min()) < 0 or int(captions.max()) >= V:
            raise ValueError(f"captions must hold integer word ids in [0, {V}), got "
                             f"{captions.dtype} values in [{captions.min().item()}, "
                             f"{captions.max().item()}]")
        if self.max_caption_length is not None and captions.shape[1] - 1 > self.max_caption_length:
            raise ValueError(f"captions have {captions.shape[1] - 1} words after <START>, more "
                             f"than max_caption_length={self.max_caption_length}")

    def _initial_state(self, images):
        """-> h0 (N, H) for rnn/lstm, or the projected activation map A (N, H, 4, 4)
        (an optional helper shared by forward and sample)."""
        init = None
        # TODO (optional): MobileNet features of the images, projected to the hidden size
        # (for attention, project the channel dimension of the (N, 1280, 4, 4) map).
        # *****START OF YOUR CODE*****
        features = self.feature_extractor.extract_mobilenet_feature(images)
        if self.cell_type == "attention":
            init = self.feature_projection(features.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        else:
            init = self.feature_projection(features)
        # *****END OF YOUR CODE*****
        return init

    def forward(self, images, captions):
        """Training loss. images (N, 3, 112, 112) uint8; captions (N, T + 1) word ids whose
        first column is <START>. Returns the scalar loss (backward by autograd)."""
        self._check_captions(captions, images.shape[0])
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        loss = 0.0
        # TODO: (1) project the image features to h0 (or A for attention); (2) embed
        # captions_in; (3) run the RNN / LSTM / attention LSTM; (4) score the vocabulary at
        # every step; (5) temporal_softmax_loss against captions_out with self.ignore_index.
        # *****START OF YOUR CODE*****
        init = self._initial_state(images)
        x = self.word_embedding(captions_in)
        h = self.rnn(x, init)
        scores = self.output_projection(h)
        loss = temporal_softmax_loss(scores, captions_out, ignore_index=self.ignore_index)
        # *****END OF YOUR CODE*****
        return loss

    def sample(self, images, max_length=15):
        """Greedy captions. images (N, 3, 112, 112). Returns captions (N, max_length) long
        (first column: the first generated word), plus for attention the attention weights
        (N, max_length, 4, 4). Words after an emitted <END> are <NULL>."""
        if int(max_length) != max_length or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        if self._start is None:
            raise ValueError("sample() needs a <START> token in word_to_idx")
        N = images.shape[0]
        captions = self._null * images.new(N, max_length).fill_(1).long()
        if self.cell_type == "attention":
            attn_weights_all = images.new(N, max_length, 4, 4).fill_(0).float()
        # TODO: start from h0 (rnn/lstm, LSTM cell state zero) or from A (attention: h0 = c0 =
        # A.mean over space) and the <START> word; at each step embed the previous word, take
        # one step_forward (attention: first attend over A with the previous hidden state),
        # score the vocabulary and keep the argmax.
        # *****START OF YOUR CODE*****
        with torch.no_grad():
            init = self._initial_state(images)
            if self.cell_type == "attention":
                A = init
                h = A.mean(dim=(2, 3))
                c = h
                attn_weights_all = attn_weights_all.to(device=A.device)
            else:
                h = init
                c = torch.zeros_like(h)
            word = torch.full((N,), self._start, dtype=torch.long, device=h.device)
            finished = torch.zeros(N, dtype=torch.bool, device=h.device)
            captions = captions.to(h.device)
            for t in range(max_length):
                x = self.word_embedding(word)
                if self.cell_type == "rnn":
                    h = self.rnn.step_forward(x, h)
                elif self.cell_type == "lstm":
                    h, c = self.rnn.step_forward(x, h, c)
                else:
                    attn, weights = dot_product_attention(h, A)
                    h, c = self.rnn.step_forward(x, h, c, attn)
                    attn_weights_all[:, t] = weights.float()
                word = self.output_projection(h).argmax(dim=1)
                captions[:, t] = torch.where(finished, torch.full_like(word, self._null), word)
                if self._end is not None:
                    finished |= word == self._end
        # *****END OF YOUR CODE*****
        if self.cell_type == "attention":
            return captions, attn_weights_all.cpu()
        return captions


##############################################################################
# LSTM                                                                       #
##############################################################################
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b, attn=None, Wattn=None):
    """One LSTM timestep.

    Inputs: x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,);
    attn (N, H) and Wattn (H, 4H) only for the attention LSTM (added to the activations).
    Returns next_h (N, H), next_c (N, H).
    """
    _check_step_shapes(x, prev_h, Wx, Wh, b, 4)
    if tuple(prev_c.shape) != tuple(prev_h.shape):
        raise ValueError(f"prev_c must have the shape of prev_h {tuple(prev_h.shape)}, got "
                         f"{tuple(prev_c.shape)}")
    if (attn is None) != (Wattn is None):
        raise ValueError("pass both attn and Wattn, or neither")
    if attn is not None and (tuple(attn.shape) != tuple(prev_h.shape) or
                             tuple(Wattn.shape) != tuple(Wh.shape)):
        raise ValueError(f"attn must be {tuple(prev_h.shape)} and Wattn {tuple(Wh.shape)}, "
                         f"got {tuple(attn.shape)} and {tuple(Wattn.shape)}")
    next_h, next_c = None, None
    # TODO: a = x Wx + prev_h Wh (+ attn Wattn) + b; i, f, o = sigmoid, g = tanh of its four
    # H-blocks; next_c = f * prev_c + i * g; next_h = o * tanh(next_c).
    # *****START OF YOUR CODE*****
    H = prev_h.shape[1]
    a = torch.addmm(b, x, Wx) + prev_h.mm(Wh)
    if attn is not None:
        a = a + attn.mm(Wattn)
    i, f, o = torch.sigmoid(a[:, :3 * H]).split(H, dim=1)
    g = torch.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * torch.tanh(next_c)
    # *****END OF YOUR CODE*****
    return next_h, next_c


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a sequence (initial cell state zero). x (N, T, D), h0 (N, H),
    Wx (D, 4H), Wh (H, 4H), b (4H,). Returns h (N, T, H)."""
    if x.dim() != 3:
        raise ValueError(f"x must have shape (N, T, D), got {tuple(x.shape)}")
    h = None
    c0 = torch.zeros_like(h0)
    # TODO: loop lstm_step_forward over the T timesteps.
    # *****START OF YOUR CODE*****
    hs = []
    prev_h, prev_c = h0, c0
    for t in range(x.shape[1]):
        prev_h, prev_c = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        hs.append(prev_h)
    h = torch.stack(hs, dim=1)
    # *****END OF YOUR CODE*****
    return h


class LSTM(nn.Module):
    """A single-layer LSTM (input_size D, hidden_size H)."""

    def __init__(self, input_size, hidden_size, device="cpu", dtype=torch.float32):
        super().__init__()
        self.Wx = Parameter(torch.randn(input_size, hidden_size * 4, device=device, dtype=dtype)
                            .div(math.sqrt(input_size)))
        self.Wh = Parameter(torch.randn(hidden_size, hidden_size * 4, device=device, dtype=dtype)
                            .div(math.sqrt(hidden_size)))
        self.b = Parameter(torch.zeros(hidden_size * 4, device=device, dtype=dtype))

    def forward(self, x, h0):
        """x (N, T, D), h0 (N, H) -> hn (N, T, H)."""
        return lstm_forward(x, h0, self.Wx, self.Wh, self.b)

    def step_forward(self, x, prev_h, prev_c):
        """x (N, D), prev_h, prev_c (N, H) -> next_h, next_c (N, H)."""
        return lstm_step_forward(x, prev_h, prev_c, self.Wx, self.Wh, self.b)


##############################################################################
# Attention LSTM                                                             #
##############################################################################
def scaled_dot_product_attention(query, keys, values):
    """Attention of one query per example over L keys.

    Inputs: query (N, H), keys (N, L, H), values (N, L, Hv).
    Returns out (N, Hv) = sum_l w_l values_l with w = softmax(keys . query / sqrt(H)), and
    the weights w (N, L).
    """
    if query.dim() != 2 or keys.dim() != 3 or keys.shape[0] != query.shape[0] or \
            keys.shape[2] != query.shape[1] or values.shape[:2] != keys.shape[:2]:
        raise ValueError(f"want query (N, H), keys (N, L, H), values (N, L, Hv); got "
                         f"{tuple(query.shape)}, {tuple(keys.shape)}, {tuple(values.shape)}")
    out, weights = None, None
    # TODO: scores (N, L) by a batched product, scaled by 1/sqrt(H); softmax over L; the
    # weighted sum of the values.
    # *****START OF YOUR CODE*****
    scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2) / math.sqrt(query.shape[1])
    weights = torch.softmax(scores, dim=1)
    out = torch.bmm(weights.unsqueeze(1), values).squeeze(1)
    # *****END OF YOUR CODE*****
    return out, weights


def dot_product_attention(prev_h, A):
    """The captioner's (scaled) dot-product attention over the 4x4 activation map.

    Inputs: prev_h (N, H), the previous hidden state; A (N, H, 4, 4), the projected CNN
    activation map. Returns attn (N, H), the attended feature, and attn_weights (N, 4, 4).
    """
    if A.dim() != 4 or prev_h.dim() != 2 or A.shape[:2] != prev_h.shape:
        raise ValueError(f"want prev_h (N, H) and A (N, H, h, w) with the same N and H, got "
                         f"{tuple(prev_h.shape)} and {tuple(A.shape)}")
    N, H, D_a, _ = A.shape
    attn, attn_weights = None, None
    # TODO: treat the D_a * D_a positions of A as keys and values, prev_h as the query.
    # *****START OF YOUR CODE*****
    locations = A.flatten(2).transpose(1, 2)          # (N, 16, H)
    attn, weights = scaled_dot_product_attention(prev_h, locations, locations)
    attn_weights = weights.reshape(N, D_a, -1)
    # *****END OF YOUR CODE*****
    return attn, attn_weights


def attention_forward(x, A, Wx, Wh, Wattn, b):
    """An attention LSTM over a sequence. h0 = c0 = A averaged over space; at every step the
    previous hidden state attends over A and the result enters the LSTM through Wattn.

    Inputs: x (N, T, D), A (N, H, 4, 4), Wx (D, 4H), Wh (H, 4H), Wattn (H, 4H), b (4H,).
    Returns h (N, T, H).
    """
    if x.dim() != 3 or A.dim() != 4 or A.shape[0] != x.shape[0]:
        raise ValueError(f"want x (N, T, D) and A (N, H, 4, 4), got {tuple(x.shape)} and "
                         f"{tuple(A.shape)}")
    if A.shape[1] != Wh.shape[0]:
        raise ValueError(f"A has {A.shape[1]} channels but the hidden size is {Wh.shape[0]}: "
                         "project the features to the hidden size first")
    h = None
    h0 = A.mean(dim=(2, 3))
    c0 = h0
    # TODO: at each step: attention with the previous hidden state, then lstm_step_forward
    # with attn and Wattn.
    # *****START OF YOUR CODE*****
    hs = []
    prev_h, prev_c = h0, c0
    for t in range(x.shape[1]):
        attn, _ = dot_product_attention(prev_h, A)
        prev_h, prev_c = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b, attn, Wattn)
        hs.append(prev_h)
    h = torch.stack(hs, dim=1)
    # *****END OF YOUR CODE*****
    return h


class AttentionLSTM(nn.Module):
    """A single-layer attention LSTM (input_size D, hidden_size H)."""

    def __init__(self, input_size, hidden_size, device="cpu", dtype=torch.float32):
        super().__init__()
        self.Wx = Parameter(torch.randn(input_size, hidden_size * 4, device=device, dtype=dtype)
                            .div(math.sqrt(input_size)))
        self.Wh = Parameter(torch.randn(hidden_size, hidden_size * 4, device=device, dtype=dtype)
                            .div(math.sqrt(hidden_size)))
        self.Wattn = Parameter(torch.randn(hidden_size, hidden_size * 4, device=device,
                                           dtype=dtype).div(math.sqrt(hidden_size)))
        self.b = Parameter(torch.zeros(hidden_size * 4, device=device, dtype=dtype))

    def forward(self, x, A):
        """x (N, T, D), A (N, H, 4, 4) -> hn (N, T, H)."""
        return attention_forward(x, A, self.Wx, self.Wh, self.Wattn, self.b)

    def step_forward(self, x, prev_h, prev_c, attn):
        """x (N, D), prev_h, prev_c, attn (N, H) -> next_h, next_c (N, H)."""
        return lstm_step_forward(x, prev_h, prev_c, self.Wx, self.Wh, self.b,
                                 attn=attn, Wattn=self.Wattn)
