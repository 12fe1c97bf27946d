"""Layers for recurrent networks (vanilla RNN, LSTM) and their helpers, in PyTorch.

Forward passes only: every function takes and returns torch tensors, and autograd computes
the backward pass. N: minibatch size, T: sequence length, D: input size, H: hidden size,
V: vocabulary size. LSTM weights use the course's layout: Wx (D, 4H), Wh (H, 4H), b (4H,),
with the four gate blocks in the order input, forget, output, block (i, f, o, g).
"""
import torch


def _check_step(x, prev_h, Wx, Wh, b, gates):
    """Shapes of one recurrent step: x (N, D), prev_h (N, H), Wx (D, gH), Wh (H, gH), b (gH,)."""
    if x.dim() != 2 or prev_h.dim() != 2 or x.shape[0] != prev_h.shape[0]:
        raise ValueError(f"x and prev_h must be (N, D) and (N, H) with the same N, got "
                         f"{tuple(x.shape)} and {tuple(prev_h.shape)}")
    (_, D), H = x.shape, prev_h.shape[1]
    for name, w, want in (("Wx", Wx, (D, gates * H)), ("Wh", Wh, (H, gates * H)),
                          ("b", b, (gates * H,))):
        if tuple(w.shape) != want:
            raise ValueError(f"{name} must have shape {want}, got {tuple(w.shape)}")


def _check_sequence(x, h0, Wx, Wh, b, gates):
    """Shapes of a whole sequence: x (N, T, D) with T >= 1, then those of one step."""
    if x.dim() != 3 or x.shape[1] < 1:
        raise ValueError(f"x must have shape (N, T, D) with T >= 1, got {tuple(x.shape)}")
    _check_step(x[:, 0], h0, Wx, Wh, b, gates)


def affine_forward(x, w, b):
    """Fully connected layer. x: (N, d_1, ..., d_k), w: (D, M) with D = d_1 * ... * d_k,
    b: (M,). Returns out: (N, M)."""
    return x.reshape(x.shape[0], -1) @ w + b


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One timestep of a vanilla RNN with a tanh nonlinearity.

    Inputs: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns next_h (N, H) (no cache: autograd does the backward pass).
    """
    _check_step(x, prev_h, Wx, Wh, b, 1)
    next_h = None
    # TODO: the next hidden state from this step's input and the previous hidden state,
    # with torch operations only (so that autograd can differentiate it).
    # *****START OF YOUR CODE*****
    next_h = torch.tanh(x @ Wx + prev_h @ Wh + b)
    # *****END OF YOUR CODE*****
    return next_h


def rnn_forward(x, h0, Wx, Wh, b):
    """A vanilla RNN over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns h (N, T, H), the hidden states of all T timesteps.
    """
    _check_sequence(x, h0, Wx, Wh, b, 1)
    h = None
    # TODO: run rnn_step_forward over the T timesteps starting from h0 (a Python loop is
    # fine) and gather the hidden states into h, e.g. collect the steps in a list and
    # torch.stack them along dimension 1.
    # *****START OF YOUR CODE*****
    states = []
    prev_h = h0
    for t in range(x.shape[1]):
        prev_h = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        states.append(prev_h)
    h = torch.stack(states, dim=1)
    # *****END OF YOUR CODE*****
    return h


def word_embedding_forward(x, W):
    """Look up word vectors.

    Inputs: x (N, T) integer word ids, each in [0, V); W (V, D) one vector per word.
    Returns out (N, T, D).
    """
    if x.dtype.is_floating_point or x.dtype == torch.bool:
        raise ValueError(f"word ids must be an integer tensor, got dtype {x.dtype}")
    V = W.shape[0]
    if x.numel() and (int(x.min()) < 0 or int(x.max()) >= V):
        raise ValueError(f"word ids must lie in [0, {V}), got values in "
                         f"[{int(x.min())}, {int(x.max())}]")
    out = None
    # TODO: select the rows of W named by the ids in x (one line of integer indexing).
    # *****START OF YOUR CODE*****
    out = W[x]
    # *****END OF YOUR CODE*****
    return out


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM timestep.

    Inputs: x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    The activation a = x Wx + prev_h Wh + b splits into four H-blocks i, f, o, g:
    input, forget and output gates (sigmoid) and the block input (tanh). Then
    next_c = f * prev_c + i * g and next_h = o * tanh(next_c).
    Returns next_h (N, H), next_c (N, H).
    """
    _check_step(x, prev_h, Wx, Wh, b, 4)
    if prev_c.shape != prev_h.shape:
        raise ValueError(f"prev_c must have the shape of prev_h {tuple(prev_h.shape)}, got "
                         f"{tuple(prev_c.shape)}")
    next_h, next_c = None, None
    # TODO: the activation vector, the four gates (torch.sigmoid is numerically stable),
    # then the next cell state and the next hidden state.
    # *****START OF YOUR CODE*****
    a = x @ Wx + prev_h @ Wh + b
    a_i, a_f, a_o, a_g = a.chunk(4, dim=1)
    next_c = torch.sigmoid(a_f) * prev_c + torch.sigmoid(a_i) * torch.tanh(a_g)
    next_h = torch.sigmoid(a_o) * torch.tanh(next_c)
    # *****END OF YOUR CODE*****
    return next_h, next_c


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a whole sequence.

    The initial cell state is zero; the cell states stay inside (only h is returned).
    Inputs: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns h (N, T, H), the hidden states of all T timesteps.
    """
    _check_sequence(x, h0, Wx, Wh, b, 4)
    h = None
    # TODO: run lstm_step_forward over the T timesteps from h0 and a zero cell state, and
    # gather the hidden states into h (as in rnn_forward).
    # *****START OF YOUR CODE*****
    states = []
    prev_h, prev_c = h0, torch.zeros_like(h0)
    for t in range(x.shape[1]):
        prev_h, prev_c = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        states.append(prev_h)
    h = torch.stack(states, dim=1)
    # *****END OF YOUR CODE*****
    return h


def temporal_affine_forward(x, w, b):
    """The same affine map at every timestep: x (N, T, D), w (D, M), b (M,) -> out (N, T, M)."""
    N, T, D = x.shape
    M = b.shape[0]
    return (x.reshape(N * T, D) @ w).reshape(N, T, M) + b


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax loss at every timestep, summed over the timesteps and averaged over the batch.

    Inputs: x (N, T, V) scores; y (N, T) target ids in [0, V); mask (N, T) boolean, True
    where the timestep counts (False at the <NULL> padding of shorter captions).
    `verbose` is accepted for the course's signature and unused.
    Returns the scalar loss (a 0-dim tensor).
    """
    N, T, V = x.shape
    if tuple(y.shape) != (N, T) or tuple(mask.shape) != (N, T):
        raise ValueError(f"targets y and mask must have shape {(N, T)}, got "
                         f"{tuple(y.shape)} and {tuple(mask.shape)}")
    per_step = torch.nn.functional.cross_entropy(x.reshape(N * T, V), y.reshape(N * T).long(),
                                                 reduction="none")
    return (per_step * mask.reshape(N * T).to(per_step.dtype)).sum() / N
