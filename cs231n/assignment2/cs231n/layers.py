"""Layers of a modular neural network: each has a forward and a backward function.

A forward function takes inputs (and parameters) and returns `out, cache`; the matching
backward function takes the upstream gradient `dout` and that `cache` and returns the
gradients with respect to each input of the forward function, in the same order.
"""
from builtins import range

import numpy as np


# ----------------------------------------------------------------------------------------
# Input checks (given code: they stay in the student release)
# ----------------------------------------------------------------------------------------

def _check_ndim(name, arr, ndim):
    if np.ndim(arr) != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {np.shape(arr)}")


def _check_labels(x, y):
    y = np.asarray(y)
    if x.ndim != 2:
        raise ValueError(f"scores x must have shape (N, C), got {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels y must have shape ({x.shape[0]},) to match x {x.shape}, "
                         f"got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
        raise ValueError(f"labels must lie in [0, {x.shape[1]}), got range "
                         f"[{y.min()}, {y.max()}]")
    return y


def _check_mode(param, name):
    mode = param.get("mode", "train")
    if mode not in ("train", "test"):
        raise ValueError(f"{name}['mode'] must be 'train' or 'test', got {mode!r}")
    return mode


def _check_norm_params(x_features, gamma, beta, name):
    if np.shape(gamma) != (x_features,) or np.shape(beta) != (x_features,):
        raise ValueError(f"{name}: gamma and beta must have shape ({x_features},), got "
                         f"{np.shape(gamma)} and {np.shape(beta)}")


def _conv_out_size(x_shape, w_shape, stride, pad):
    """Output (H', W') of a convolution; ValueError when the shapes do not fit."""
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise ValueError(f"conv: x must be (N, C, H, W) and w (F, C, HH, WW), got {x_shape} "
                         f"and {w_shape}")
    N, C, H, W = x_shape
    F, Cw, HH, WW = w_shape
    if Cw != C:
        raise ValueError(f"conv: filters have {Cw} channels but the input has {C} "
                         f"(x {x_shape}, w {w_shape})")
    if stride < 1 or pad < 0:
        raise ValueError(f"conv: need stride >= 1 and pad >= 0, got stride={stride}, pad={pad}")
    if H + 2 * pad < HH or W + 2 * pad < WW:
        raise ValueError(f"conv: filter {HH}x{WW} larger than the padded input "
                         f"{H + 2 * pad}x{W + 2 * pad}")
    if (H + 2 * pad - HH) % stride or (W + 2 * pad - WW) % stride:
        raise ValueError(f"conv: filter {HH}x{WW} with stride {stride} and pad {pad} does not "
                         f"tile the input {H}x{W}")
    return 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride


def _pool_out_size(x_shape, pool_param):
    if len(x_shape) != 4:
        raise ValueError(f"max pool: x must be (N, C, H, W), got {x_shape}")
    N, C, H, W = x_shape
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    s = pool_param["stride"]
    if ph < 1 or pw < 1 or s < 1 or ph > H or pw > W:
        raise ValueError(f"max pool: pool {ph}x{pw} stride {s} does not fit input {H}x{W}")
    if (H - ph) % s or (W - pw) % s:
        raise ValueError(f"max pool: pool {ph}x{pw} with stride {s} does not tile the input "
                         f"{H}x{W}")
    return 1 + (H - ph) // s, 1 + (W - pw) // s


# ----------------------------------------------------------------------------------------
# Affine and ReLU
# ----------------------------------------------------------------------------------------

def affine_forward(x, w, b):
    """Affine (fully connected) layer: out = x.reshape(N, D) @ w + b.

    Inputs:
    - x: (N, d_1, ..., d_k) minibatch; each example is flattened to D = d_1 * ... * d_k
    - w: (D, M) weights
    - b: (M,) biases

    Returns out: (N, M), cache = (x, w, b).
    """
    x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
    if w.ndim != 2 or x.ndim < 1 or int(np.prod(x.shape[1:])) != w.shape[0] or b.shape != (w.shape[1],):
        raise ValueError(f"affine_forward: x {x.shape} flattens to D={int(np.prod(x.shape[1:]))} "
                         f"per example; need w (D, M) and b (M,), got w {w.shape}, b {b.shape}")
    out = None
    # TODO: Implement the affine forward pass. Flatten every example of x into a row of
    # length D (x.reshape(N, -1)), multiply by w and add b. Store the result in out.
    # *****START OF YOUR CODE*****
    out = x.reshape(x.shape[0], -1) @ w + b
    # *****END OF YOUR CODE*****
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of the affine layer.

    Inputs: dout: (N, M) upstream gradient; cache = (x, w, b) from affine_forward.
    Returns dx: (N, d_1, ..., d_k), dw: (D, M), db: (M,).
    """
    x, w, b = cache
    dx, dw, db = None, None, None
    # TODO: Implement the affine backward pass. dx has x's original shape (reshape back);
    # dw is the flattened x transposed times dout; db sums dout over the batch.
    # *****START OF YOUR CODE*****
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0)
    # *****END OF YOUR CODE*****
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit: out = max(0, x), elementwise. Returns out, cache = x."""
    out = None
    # TODO: Implement the ReLU forward pass.
    # *****START OF YOUR CODE*****
    out = np.maximum(x, 0)
    # *****END OF YOUR CODE*****
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Backward pass of ReLU: the gradient flows only where the input was positive."""
    dx, x = None, cache
    # TODO: Implement the ReLU backward pass (mask dout by x > 0).
    # *****START OF YOUR CODE*****
    dx = dout * (x > 0)
    # *****END OF YOUR CODE*****
    return dx


# ----------------------------------------------------------------------------------------
# Batch normalization and layer normalization
# ----------------------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization over the batch axis.

    In training mode the minibatch mean and (biased) variance normalize x, and exponentially
    decaying running averages are kept:
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    In test mode the running averages normalize x instead.

    Inputs:
    - x: (N, D) data; gamma: (D,) scale; beta: (D,) shift
    - bn_param: dict with 'mode' ('train' or 'test'), optional 'eps' (1e-5), 'momentum' (0.9),
      'running_mean' (D,), 'running_var' (D,) (created as zeros on first use; updated in place
      in the dict)

    Returns out: (N, D), cache for the backward pass.
    """
    _check_ndim("batchnorm_forward: x", x, 2)
    mode = _check_mode(bn_param, "bn_param")
    N, D = x.shape
    _check_norm_params(D, gamma, beta, "batchnorm_forward")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        # TODO: Training-time forward pass. Compute the minibatch mean and variance, normalize
        # x with them (add eps to the variance), scale by gamma and shift by beta. Update
        # running_mean and running_var with the momentum rule in the docstring. Keep in cache
        # whatever the backward pass needs.
        # *****START OF YOUR CODE*****
        mu = x.mean(axis=0)
        xc = x - mu
        var = np.mean(xc * xc, axis=0)
        std = np.sqrt(var + eps)
        xhat = xc / std
        out = gamma * xhat + beta
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
        cache = {"xhat": xhat, "std": std, "gamma": gamma}
        # *****END OF YOUR CODE*****
    else:
        # TODO: Test-time forward pass: normalize with the running mean and variance, then
        # scale and shift.
        # *****START OF YOUR CODE*****
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        # *****END OF YOUR CODE*****

    # Store the updated running means back into bn_param
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of batch normalization, through the computational graph step by step.

    Inputs: dout: (N, D); cache from batchnorm_forward (training mode).
    Returns dx: (N, D), dgamma: (D,), dbeta: (D,).
    """
    if cache is None:
        raise ValueError("batchnorm_backward needs the cache of a training-mode forward pass")
    dx, dgamma, dbeta = None, None, None
    # TODO: Backpropagate through the graph of the forward pass node by node:
    # out = gamma * xhat + beta, xhat = xc / std, std = sqrt(var + eps), var = mean(xc^2),
    # xc = x - mu, mu = mean(x). Sum the contributions that reach x along each path.
    # *****START OF YOUR CODE*****
    xhat, std, gamma = cache["xhat"], cache["std"], cache["gamma"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    xc = xhat * std
    # xhat = xc * (1 / std)
    dxc = dxhat / std
    dinvstd = np.sum(dxhat * xc, axis=0)
    dstd = -dinvstd / std ** 2
    dvar = dstd / (2 * std)
    # var = mean(xc ** 2)
    dxc += 2 * xc * dvar / N
    # xc = x - mu
    dmu = -dxc.sum(axis=0)
    dx = dxc + dmu / N
    # *****END OF YOUR CODE*****
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of batch normalization in one simplified closed form.

    With xhat the normalized input and std = sqrt(var + eps), over the batch axis:
        dx = gamma / std * (dout - mean(dout) - xhat * mean(dout * xhat))
    Same inputs and outputs as batchnorm_backward.
    """
    if cache is None:
        raise ValueError("batchnorm_backward_alt needs the cache of a training-mode forward pass")
    dx, dgamma, dbeta = None, None, None
    # TODO: Implement the closed form of the batchnorm backward pass derived on paper: it
    # should fit in a few vectorized lines and be faster than batchnorm_backward.
    # *****START OF YOUR CODE*****
    xhat, std, gamma = cache["xhat"], cache["std"], cache["gamma"]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    g = dout * gamma
    dx = (g - g.mean(axis=0) - xhat * np.mean(g * xhat, axis=0)) / std
    # *****END OF YOUR CODE*****
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization: each example is normalized over its own D features.

    Training and test time behave the same; no running averages are kept.

    Inputs: x: (N, D); gamma: (D,); beta: (D,); ln_param: dict with optional 'eps' (1e-5).
    Returns out: (N, D), cache.
    """
    _check_ndim("layernorm_forward: x", x, 2)
    _check_norm_params(x.shape[1], gamma, beta, "layernorm_forward")
    out, cache = None, None
    eps = ln_param.get("eps", 1e-5)
    # TODO: Implement the layer norm forward pass. It is batch norm applied to the transposed
    # problem: statistics are taken over axis 1 (the features of one example) instead of
    # axis 0, and gamma / beta still scale and shift each feature.
    # *****START OF YOUR CODE*****
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    xhat = xc / std
    out = gamma * xhat + beta
    cache = {"xhat": xhat, "std": std, "gamma": gamma}
    # *****END OF YOUR CODE*****
    return out, cache


def layernorm_backward(dout, cache):
    """Backward pass of layer normalization. Returns dx: (N, D), dgamma: (D,), dbeta: (D,)."""
    dx, dgamma, dbeta = None, None, None
    # TODO: Implement the layer norm backward pass (the batch norm closed form along axis 1).
    # *****START OF YOUR CODE*****
    xhat, std, gamma = cache["xhat"], cache["std"], cache["gamma"]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    g = dout * gamma
    dx = (g - g.mean(axis=1, keepdims=True)
          - xhat * np.mean(g * xhat, axis=1, keepdims=True)) / std
    # *****END OF YOUR CODE*****
    return dx, dgamma, dbeta


# ----------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------

def dropout_forward(x, dropout_param):
    """Inverted dropout.

    Inputs:
    - x: input of any shape
    - dropout_param: dict with
      - 'p': probability of KEEPING each neuron (0 < p <= 1)
      - 'mode': 'train' (drop and rescale by 1 / p) or 'test' (identity)
      - 'seed' (optional): makes the mask deterministic, for gradient checking

    Returns out (same shape as x), cache = (dropout_param, mask).
    """
    p = dropout_param.get("p")
    if p is None or not (0 < p <= 1):
        raise ValueError(f"dropout_param['p'] is the keep probability and must be in (0, 1], "
                         f"got {p!r}")
    mode = _check_mode(dropout_param, "dropout_param")
    # As in the course: a given seed reseeds numpy's global generator (deterministic masks for
    # gradient checks; the course notebooks' later draws depend on it).
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    rng = np.random
    mask, out = None, None
    if mode == "train":
        # TODO: Training-time inverted dropout: keep each unit with probability p and divide
        # the kept ones by p, so the expected activation matches test time. Draw uniform
        # numbers with rng.rand and store the (scaled) mask in mask.
        # *****START OF YOUR CODE*****
        mask = (rng.rand(*x.shape) < p) / p
        out = (x * mask).astype(x.dtype, copy=False)
        # *****END OF YOUR CODE*****
    else:
        # TODO: Test-time dropout is the identity.
        # *****START OF YOUR CODE*****
        out = x
        # *****END OF YOUR CODE*****
    cache = (dropout_param, mask)
    return out, cache


def dropout_backward(dout, cache):
    """Backward pass of inverted dropout: the same mask multiplies the gradient."""
    dropout_param, mask = cache
    mode = dropout_param["mode"]
    dx = None
    if mode == "train":
        # TODO: Implement the training-time backward pass.
        # *****START OF YOUR CODE*****
        dx = dout * mask
        # *****END OF YOUR CODE*****
    else:
        dx = dout
    return dx


# ----------------------------------------------------------------------------------------
# Convolution and max pooling (naive versions; fast_layers.py has the fast ones)
# ----------------------------------------------------------------------------------------

def conv_forward_naive(x, w, b, conv_param):
    """Naive convolution (cross-correlation, as in every deep learning library).

    Inputs:
    - x: (N, C, H, W) input; w: (F, C, HH, WW) filters; b: (F,) biases
    - conv_param: dict with 'stride' and 'pad' (zero padding on every side)

    Returns out: (N, F, H', W') with H' = 1 + (H + 2 * pad - HH) / stride (same for W'),
    cache = (x, w, b, conv_param).
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    Ho, Wo = _conv_out_size(np.shape(x), np.shape(w), stride, pad)
    if np.shape(b) != (w.shape[0],):
        raise ValueError(f"conv: b must have shape ({w.shape[0]},), got {np.shape(b)}")
    out = None
    # TODO: Implement the convolution forward pass. Pad x with np.pad (zeros, only on H and
    # W), then loop over the output positions; at each one, take the receptive field of every
    # image and contract it with every filter. Don't modify x.
    # *****START OF YOUR CODE*****
    N = x.shape[0]
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((N, F, Ho, Wo), dtype=np.result_type(x, w))
    for i in range(Ho):
        for j in range(Wo):
            field = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(field, w, axes=([1, 2, 3], [1, 2, 3]))
    out += b[None, :, None, None]
    # *****END OF YOUR CODE*****
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Backward pass of the naive convolution.

    Inputs: dout: (N, F, H', W'); cache = (x, w, b, conv_param).
    Returns dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,).
    """
    dx, dw, db = None, None, None
    # TODO: Implement the convolution backward pass: loop over the output positions as in the
    # forward pass; each receptive field adds dout-weighted filters to dx (padded, then
    # cropped) and dout-weighted inputs to dw. db sums dout over N, H' and W'.
    # *****START OF YOUR CODE*****
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp, dtype=np.result_type(x, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for i in range(Ho):
        for j in range(Wo):
            hs, ws = i * stride, j * stride
            d = dout[:, :, i, j]  # (N, F)
            dxp[:, :, hs:hs + HH, ws:ws + WW] += np.tensordot(d, w, axes=(1, 0))
            dw += np.tensordot(d, xp[:, :, hs:hs + HH, ws:ws + WW], axes=(0, 0))
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    db = dout.sum(axis=(0, 2, 3))
    # *****END OF YOUR CODE*****
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Naive max pooling.

    Inputs: x: (N, C, H, W); pool_param: dict with 'pool_height', 'pool_width', 'stride'.
    Returns out: (N, C, H', W') with H' = 1 + (H - pool_height) / stride (same for W'),
    cache = (x, pool_param).
    """
    Ho, Wo = _pool_out_size(np.shape(x), pool_param)
    out = None
    # TODO: Implement the max pooling forward pass: loop over output positions, take the max
    # of each pooling window over its spatial axes (vectorized over N and C).
    # *****START OF YOUR CODE*****
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C = x.shape[:2]
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    # *****END OF YOUR CODE*****
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Backward pass of max pooling: each window's gradient goes to its (first) maximum.

    Inputs: dout: (N, C, H', W'); cache = (x, pool_param). Returns dx: (N, C, H, W).
    """
    dx = None
    # TODO: Implement the max pooling backward pass: route each dout entry to the position of
    # the maximum of its window (np.argmax over the flattened window, then np.unravel_index).
    # *****START OF YOUR CODE*****
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(Ho):
        for j in range(Wo):
            window = x[:, :, i * s:i * s + ph, j * s:j * s + pw].reshape(N, C, -1)
            a, bb = np.unravel_index(window.argmax(axis=2), (ph, pw))
            # windows overlap when stride < pool size: accumulate
            np.add.at(dx, (n_idx, c_idx, i * s + a, j * s + bb), dout[:, :, i, j])
    # *****END OF YOUR CODE*****
    return dx


# ----------------------------------------------------------------------------------------
# Spatial batch normalization and group normalization
# ----------------------------------------------------------------------------------------

def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization for conv activations: statistics per channel over N, H and W.

    Inputs: x: (N, C, H, W); gamma, beta: (C,); bn_param as in batchnorm_forward.
    Returns out: (N, C, H, W), cache.
    """
    _check_ndim("spatial_batchnorm_forward: x", x, 4)
    _check_norm_params(x.shape[1], gamma, beta, "spatial_batchnorm_forward")
    out, cache = None, None
    # TODO: Reuse batchnorm_forward: move the channel axis last and flatten the rest so that
    # each channel is one feature column of an (N*H*W, C) matrix, then undo the reshape.
    # *****START OF YOUR CODE*****
    N, C, H, W = x.shape
    x2 = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out2, cache = batchnorm_forward(x2, gamma, beta, bn_param)
    out = out2.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    # *****END OF YOUR CODE*****
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial batch norm. Returns dx: (N, C, H, W), dgamma, dbeta: (C,)."""
    dx, dgamma, dbeta = None, None, None
    # TODO: Reshape dout as in the forward pass and reuse the batchnorm backward pass.
    # *****START OF YOUR CODE*****
    N, C, H, W = dout.shape
    d2 = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx2, dgamma, dbeta = batchnorm_backward_alt(d2, cache)
    dx = dx2.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    # *****END OF YOUR CODE*****
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Group normalization: each example's C channels are split into G groups of C // G, and
    each group is normalized over its channels and all spatial positions.

    Inputs: x: (N, C, H, W); gamma, beta: (1, C, 1, 1); G: number of groups (divides C);
    gn_param: dict with optional 'eps' (1e-5).
    Returns out: (N, C, H, W), cache.
    """
    _check_ndim("spatial_groupnorm_forward: x", x, 4)
    N, C, H, W = x.shape
    if not isinstance(G, (int, np.integer)) or G < 1 or C % G:
        raise ValueError(f"spatial_groupnorm_forward: G={G!r} must be a positive integer "
                         f"dividing C={C}")
    if np.shape(gamma) != (1, C, 1, 1) or np.shape(beta) != (1, C, 1, 1):
        raise ValueError(f"spatial_groupnorm_forward: gamma and beta must have shape "
                         f"(1, {C}, 1, 1), got {np.shape(gamma)} and {np.shape(beta)}")
    out, cache = None, None
    eps = gn_param.get("eps", 1e-5)
    # TODO: Implement group norm: reshape x to (N, G, C // G * H * W), normalize each row as
    # layer norm does, reshape back and apply the per-channel gamma and beta.
    # *****START OF YOUR CODE*****
    xg = x.reshape(N, G, -1)
    mu = xg.mean(axis=2, keepdims=True)
    xc = xg - mu
    std = np.sqrt(np.mean(xc * xc, axis=2, keepdims=True) + eps)
    xhat = (xc / std).reshape(N, C, H, W)
    out = gamma * xhat + beta
    cache = {"xhat": xhat, "std": std, "gamma": gamma, "G": G}
    # *****END OF YOUR CODE*****
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    """Backward pass of group norm. Returns dx: (N, C, H, W), dgamma, dbeta: (1, C, 1, 1)."""
    dx, dgamma, dbeta = None, None, None
    # TODO: Implement the group norm backward pass: dgamma and dbeta sum over N, H, W; for dx,
    # apply the layer norm closed form to each group of (gamma * dout).
    # *****START OF YOUR CODE*****
    xhat, std, gamma, G = cache["xhat"], cache["std"], cache["gamma"], cache["G"]
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = np.sum(dout * xhat, axis=(0, 2, 3), keepdims=True)
    g = (dout * gamma).reshape(N, G, -1)
    xh = xhat.reshape(N, G, -1)
    dx = (g - g.mean(axis=2, keepdims=True) - xh * np.mean(g * xh, axis=2, keepdims=True)) / std
    dx = dx.reshape(N, C, H, W)
    # *****END OF YOUR CODE*****
    return dx, dgamma, dbeta


# ----------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------

def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, averaged over the batch.

    Inputs: x: (N, C) scores; y: (N,) labels in [0, C).
    Returns loss (scalar), dx: (N, C).
    """
    y = _check_labels(np.asarray(x), y)
    loss, dx = None, None
    # TODO: Implement the SVM loss and its gradient, fully vectorized.
    # *****START OF YOUR CODE*****
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0
    loss = margins.sum() / N
    pos = (margins > 0).astype(x.dtype)
    pos[rows, y] = -pos.sum(axis=1)
    dx = pos / N
    # *****END OF YOUR CODE*****
    return loss, dx


def softmax_loss(x, y):
    """Softmax (cross-entropy) loss averaged over the batch.

    Inputs: x: (N, C) scores; y: (N,) labels in [0, C).
    Returns loss (scalar), dx: (N, C).
    """
    y = _check_labels(np.asarray(x), y)
    loss, dx = None, None
    # TODO: Implement the softmax loss and its gradient, fully vectorized. Subtract each row's
    # maximum before exponentiating so large scores do not overflow.
    # *****START OF YOUR CODE*****
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].sum() / N
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    dx /= N
    # *****END OF YOUR CODE*****
    return loss, dx
