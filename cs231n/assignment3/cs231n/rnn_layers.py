"""Layers for recurrent networks (vanilla RNN, LSTM) and their helpers, in numpy.

Every layer has a forward function that returns (output, cache) and a backward function
that takes the upstream gradient and the cache and returns gradients with the shapes of the
inputs. N: minibatch size, T: sequence length, D: input size, H: hidden size, V: vocabulary.
LSTM weights use the course's layout: Wx (D, 4H), Wh (H, 4H), b (4H,), with the four gate
blocks in the order input, forget, output, block (i, f, o, g).
"""
import numpy as np


def _check_2d(name, a, rows=None, cols=None):
    a = np.asarray(a)
    if a.ndim != 2 or (rows is not None and a.shape[0] != rows) or \
            (cols is not None and a.shape[1] != cols):
        want = f"({rows if rows is not None else '*'}, {cols if cols is not None else '*'})"
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")


def _check_step(x, prev_h, Wx, Wh, b, gates):
    """Shapes of one recurrent step: x (N, D), prev_h (N, H), Wx (D, gH), Wh (H, gH), b (gH,)."""
    if np.ndim(x) != 2 or np.ndim(prev_h) != 2:
        raise ValueError(f"x and prev_h must be 2-D (N, D) and (N, H), got {np.shape(x)} "
                         f"and {np.shape(prev_h)}")
    (N, D), H = x.shape, prev_h.shape[1]
    _check_2d("prev_h", prev_h, N, H)
    _check_2d("Wx", Wx, D, gates * H)
    _check_2d("Wh", Wh, H, gates * H)
    if np.shape(b) != (gates * H,):
        raise ValueError(f"b must have shape ({gates * H},), got {np.shape(b)}")


def _check_sequence(x, h0, Wx, Wh, b, gates):
    if np.ndim(x) != 3:
        raise ValueError(f"x must have shape (N, T, D), got {np.shape(x)}")
    if np.shape(x)[1] < 1:
        raise ValueError(f"x must hold at least one timestep, got shape {np.shape(x)}")
    _check_step(x[:, 0], h0, Wx, Wh, b, gates)


def affine_forward(x, w, b):
    """Fully connected layer. x: (N, d_1, ..., d_k), w: (D, M) with D = d_1 * ... * d_k,
    b: (M,). Returns out: (N, M) and cache (x, w, b)."""
    if np.prod(np.shape(x)[1:], dtype=int) != np.shape(w)[0] or np.shape(b) != np.shape(w)[1:]:
        raise ValueError(f"affine_forward: x {np.shape(x)}, w {np.shape(w)} and b "
                         f"{np.shape(b)} do not fit")
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """dout: (N, M) -> dx (shape of x), dw: (D, M), db: (M,)."""
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One timestep of a vanilla RNN with tanh: next_h = tanh(x Wx + prev_h Wh + b).

    Inputs: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns next_h (N, H) and a cache for rnn_step_backward.
    """
    _check_step(x, prev_h, Wx, Wh, b, 1)
    next_h, cache = None, None
    # TODO: compute the next hidden state from the input and the previous hidden state,
    # and keep in `cache` what the backward pass needs (the tanh output gives its own
    # derivative: d tanh(a) / da = 1 - tanh(a)^2).
    # *****START OF YOUR CODE*****
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    # *****END OF YOUR CODE*****
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """Backward pass of one RNN timestep.

    dnext_h: (N, H) gradient of the loss w.r.t. next_h.
    Returns dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    dx, dprev_h, dWx, dWh, db = None, None, None, None, None
    # TODO: backpropagate through the tanh and the two matrix products.
    # *****START OF YOUR CODE*****
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1.0 - next_h * next_h)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    # *****END OF YOUR CODE*****
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """A vanilla RNN over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns h (N, T, H), the hidden states of all timesteps, and a cache.
    """
    _check_sequence(x, h0, Wx, Wh, b, 1)
    h, cache = None, None
    # TODO: run rnn_step_forward over the T timesteps, starting from h0, and store every
    # hidden state in h. (The input projection x Wx does not depend on the recurrence:
    # it can be computed for all timesteps at once.)
    # *****START OF YOUR CODE*****
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.empty((N, T, H), dtype=np.result_type(x, h0, Wx))
    xw = x @ Wx + b                       # (N, T, H): the non-recurrent part, in one product
    prev = h0
    for t in range(T):
        prev = np.tanh(xw[:, t] + prev @ Wh)
        h[:, t] = prev
    cache = (x, h0, Wx, Wh, h)
    # *****END OF YOUR CODE*****
    return h, cache


def rnn_backward(dh, cache):
    """Backward pass of rnn_forward.

    dh: (N, T, H) upstream gradients of every hidden state (from the losses at each
    timestep; the gradient flowing between timesteps is computed here).
    Returns dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    dx, dh0, dWx, dWh, db = None, None, None, None, None
    # TODO: walk backwards in time; at each step add the gradient arriving from step t+1
    # to dh[:, t] and backpropagate through that step (rnn_step_backward does one step).
    # *****START OF YOUR CODE*****
    x, h0, Wx, Wh, h = cache
    N, T, H = dh.shape
    da = np.empty_like(dh)                # gradient w.r.t. each step's pre-activation
    carry = np.zeros((N, H), dtype=dh.dtype)
    for t in range(T - 1, -1, -1):
        da[:, t] = (dh[:, t] + carry) * (1.0 - h[:, t] * h[:, t])
        carry = da[:, t] @ Wh.T
    dh0 = carry
    prev_h = np.concatenate([h0[:, None], h[:, :-1]], axis=1)     # (N, T, H)
    da2 = da.reshape(N * T, H)
    dx = (da2 @ Wx.T).reshape(N, T, -1)
    dWx = x.reshape(N * T, -1).T @ da2
    dWh = prev_h.reshape(N * T, H).T @ da2
    db = da2.sum(axis=0)
    # *****END OF YOUR CODE*****
    return dx, dh0, dWx, dWh, db


def word_embedding_forward(x, W):
    """Look up word vectors. x: (N, T) integer ids in [0, V); W: (V, D).
    Returns out: (N, T, D) and a cache."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"word ids must be integers, got dtype {x.dtype}")
    V = np.shape(W)[0]
    if x.size and (x.min() < 0 or x.max() >= V):
        raise ValueError(f"word ids must lie in [0, {V}), got values in "
                         f"[{x.min()}, {x.max()}]")
    out, cache = None, None
    # TODO: index the rows of W with the ids in x (one line with integer array indexing).
    # *****START OF YOUR CODE*****
    out = W[x]
    cache = (x, W.shape)
    # *****END OF YOUR CODE*****
    return out, cache


def word_embedding_backward(dout, cache):
    """dout: (N, T, D) -> dW: (V, D). Rows of repeated ids accumulate (np.add.at)."""
    dW = None
    # TODO: scatter-add dout into the rows of dW named by the ids (np.add.at).
    # *****START OF YOUR CODE*****
    x, w_shape = cache
    dW = np.zeros(w_shape, dtype=dout.dtype)
    np.add.at(dW, x.ravel(), dout.reshape(-1, w_shape[1]))
    # *****END OF YOUR CODE*****
    return dW


def sigmoid(x):
    """Numerically stable logistic function (no overflow for large |x|)."""
    pos = x >= 0
    neg = ~pos
    z = np.zeros_like(x)
    z[pos] = np.exp(-x[pos])
    z[neg] = np.exp(x[neg])
    top = np.ones_like(x)
    top[neg] = z[neg]
    return top / (1 + z)


def _sigmoid_fast(a):
    # 0.5 * (1 + tanh(a / 2)) is the logistic function, without overflow and without masks.
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM timestep.

    Inputs: x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Gates from a = x Wx + prev_h Wh + b split in four H-blocks: i = sigmoid(a_i),
    f = sigmoid(a_f), o = sigmoid(a_o), g = tanh(a_g); next_c = f * prev_c + i * g,
    next_h = o * tanh(next_c).
    Returns next_h (N, H), next_c (N, H), cache.
    """
    _check_step(x, prev_h, Wx, Wh, b, 4)
    if np.shape(prev_c) != np.shape(prev_h):
        raise ValueError(f"prev_c must have the shape of prev_h {np.shape(prev_h)}, "
                         f"got {np.shape(prev_c)}")
    next_h, next_c, cache = None, None, None
    # TODO: compute the activation vector, the four gates, the next cell and hidden states,
    # and keep what the backward pass needs in `cache`.
    # *****START OF YOUR CODE*****
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    gates = np.empty_like(a)
    gates[:, :3 * H] = _sigmoid_fast(a[:, :3 * H])
    gates[:, 3 * H:] = np.tanh(a[:, 3 * H:])
    i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, gates, tanh_c)
    # *****END OF YOUR CODE*****
    return next_h, next_c, cache


def _lstm_gate_grads(dnext_h, dnext_c, prev_c, gates, tanh_c):
    """Gradient w.r.t. the activation vector a (N, 4H) and w.r.t. prev_c (an optional helper
    shared by lstm_step_backward and lstm_backward)."""
    da, dprev_c = None, None
    # TODO (optional): from the upstream gradients of next_h and next_c, the gradient of the
    # four gate activations (through sigmoid' = s (1 - s) and tanh' = 1 - t^2) and of prev_c.
    # *****START OF YOUR CODE*****
    H = prev_c.shape[1]
    i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c * tanh_c)
    da = np.empty_like(gates)
    da[:, :H] = dc * g * i * (1.0 - i)
    da[:, H:2 * H] = dc * prev_c * f * (1.0 - f)
    da[:, 2 * H:3 * H] = dnext_h * tanh_c * o * (1.0 - o)
    da[:, 3 * H:] = dc * i * (1.0 - g * g)
    dprev_c = dc * f
    # *****END OF YOUR CODE*****
    return da, dprev_c


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of one LSTM timestep.

    dnext_h, dnext_c: (N, H). Returns dx (N, D), dprev_h (N, H), dprev_c (N, H),
    dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    dx, dprev_h, dprev_c, dWx, dWh, db = None, None, None, None, None, None
    # TODO: backpropagate through next_h = o * tanh(next_c) and next_c = f * prev_c + i * g
    # to the gates, through the gate nonlinearities to a, then through the matrix products.
    # *****START OF YOUR CODE*****
    x, prev_h, prev_c, Wx, Wh, gates, tanh_c = cache
    da, dprev_c = _lstm_gate_grads(dnext_h, dnext_c, prev_c, gates, tanh_c)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    # *****END OF YOUR CODE*****
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a whole sequence; the initial cell state is zero and is not returned.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns h (N, T, H) and a cache.
    """
    _check_sequence(x, h0, Wx, Wh, b, 4)
    h, cache = None, None
    # TODO: run the LSTM step over the T timesteps from h0 and c0 = 0, storing the hidden
    # states in h. The input projection x Wx + b can be done for all timesteps at once.
    # *****START OF YOUR CODE*****
    N, T, _ = x.shape
    H = h0.shape[1]
    dtype = np.result_type(x, h0, Wx)
    xw = x @ Wx + b                                   # (N, T, 4H)
    h = np.empty((N, T, H), dtype=dtype)
    cs = np.empty((N, T + 1, H), dtype=dtype)         # cs[:, t] is the cell state before step t
    tanh_cs = np.empty((N, T, H), dtype=dtype)
    gates_all = np.empty((N, T, 4 * H), dtype=dtype)
    cs[:, 0] = 0.0
    prev_h = h0
    for t in range(T):
        a = xw[:, t] + prev_h @ Wh
        gates = gates_all[:, t]
        gates[:, :3 * H] = _sigmoid_fast(a[:, :3 * H])
        gates[:, 3 * H:] = np.tanh(a[:, 3 * H:])
        cs[:, t + 1] = gates[:, H:2 * H] * cs[:, t] + gates[:, :H] * gates[:, 3 * H:]
        tanh_cs[:, t] = np.tanh(cs[:, t + 1])
        prev_h = gates[:, 2 * H:3 * H] * tanh_cs[:, t]
        h[:, t] = prev_h
    cache = (x, h0, Wx, Wh, h, cs, tanh_cs, gates_all)
    # *****END OF YOUR CODE*****
    return h, cache


def lstm_backward(dh, cache):
    """Backward pass of lstm_forward.

    dh: (N, T, H) upstream gradients of the hidden states.
    Returns dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    dx, dh0, dWx, dWh, db = None, None, None, None, None
    # TODO: walk backwards in time carrying the gradients of h and c between steps; the
    # weight gradients can be summed over time with one matrix product each at the end.
    # *****START OF YOUR CODE*****
    x, h0, Wx, Wh, h, cs, tanh_cs, gates_all = cache
    N, T, H = dh.shape
    da_all = np.empty_like(gates_all)
    dnext_h = np.zeros((N, H), dtype=dh.dtype)
    dnext_c = np.zeros((N, H), dtype=dh.dtype)
    WhT = np.ascontiguousarray(Wh.T)
    for t in range(T - 1, -1, -1):
        da, dnext_c = _lstm_gate_grads(dh[:, t] + dnext_h, dnext_c, cs[:, t],
                                       gates_all[:, t], tanh_cs[:, t])
        da_all[:, t] = da
        dnext_h = da @ WhT
    dh0 = dnext_h
    da2 = da_all.reshape(N * T, 4 * H)
    dx = (da2 @ Wx.T).reshape(N, T, -1)
    dWx = x.reshape(N * T, -1).T @ da2
    prev_h = np.concatenate([h0[:, None], h[:, :-1]], axis=1).reshape(N * T, H)
    dWh = prev_h.T @ da2
    db = da2.sum(axis=0)
    # *****END OF YOUR CODE*****
    return dx, dh0, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    """An affine layer applied at every timestep. x: (N, T, D), w: (D, M), b: (M,).
    Returns out: (N, T, M) and a cache."""
    if np.ndim(x) != 3 or np.shape(w)[0] != np.shape(x)[2] or np.shape(b) != np.shape(w)[1:]:
        raise ValueError(f"temporal_affine_forward: x {np.shape(x)}, w {np.shape(w)} and b "
                         f"{np.shape(b)} do not fit (want (N, T, D), (D, M), (M,))")
    out, cache = None, None
    # TODO: one matrix product over all N * T rows.
    # *****START OF YOUR CODE*****
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w + b).reshape(N, T, -1)
    cache = (x, w, b, out)
    # *****END OF YOUR CODE*****
    return out, cache


def temporal_affine_backward(dout, cache):
    """dout: (N, T, M) -> dx (N, T, D), dw (D, M), db (M,)."""
    dx, dw, db = None, None, None
    # TODO: the affine backward pass on the (N * T, D) view of x.
    # *****START OF YOUR CODE*****
    x, w, b, out = cache
    N, T, D = x.shape
    M = w.shape[1]
    d2 = dout.reshape(N * T, M)
    dx = (d2 @ w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T @ d2
    db = d2.sum(axis=0)
    # *****END OF YOUR CODE*****
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax loss at every timestep, summed over time and averaged over the minibatch.

    Inputs: x (N, T, V) scores, y (N, T) target ids in [0, V), mask (N, T) booleans:
    only the scores where mask is true count (the rest are padding <NULL> words).
    Returns loss (float) and dx (N, T, V).
    """
    if np.ndim(x) != 3 or np.shape(y) != np.shape(x)[:2] or np.shape(mask) != np.shape(y):
        raise ValueError(f"temporal_softmax_loss: want x (N, T, V), y and mask (N, T); got "
                         f"x {np.shape(x)}, y {np.shape(y)}, mask {np.shape(mask)}")
    V = x.shape[2]
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= V):
        raise ValueError(f"targets must lie in [0, {V}), got values in [{y.min()}, {y.max()}]")
    loss, dx = None, None
    # TODO: softmax over the vocabulary (subtract the row max first for stability), the
    # masked negative log-likelihood of the targets, and its gradient.
    # *****START OF YOUR CODE*****
    N, T, V = x.shape
    flat = x.reshape(N * T, V)
    yf = y.reshape(N * T)
    mf = np.asarray(mask).reshape(N * T).astype(x.dtype)
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    rows = np.arange(N * T)
    loss = -np.sum(mf * log_p[rows, yf]) / N
    dflat = np.exp(log_p)
    dflat[rows, yf] -= 1
    dflat *= mf[:, None] / N
    if verbose:
        print("dx_flat: ", dflat.shape)
    dx = dflat.reshape(N, T, V)
    # *****END OF YOUR CODE*****
    return loss, dx
