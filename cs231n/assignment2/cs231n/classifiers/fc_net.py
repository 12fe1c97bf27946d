"""Fully-connected networks built from the modular layers."""
from builtins import object, range

import numpy as np

# The course's fc_net.py star-imports the layers: its notebooks take relu_forward, svm_loss,
# batchnorm_forward, layernorm_forward, ... from `from cs231n.classifiers.fc_net import *`.
from ..layers import *  # noqa: F401,F403
from ..layer_utils import *  # noqa: F401,F403
from ..layer_utils import (affine_backward, affine_forward, affine_norm_relu_backward,
                           affine_norm_relu_forward, affine_relu_backward, affine_relu_forward,
                           dropout_backward, dropout_forward, softmax_loss)


def _check_batch(X, input_dim, name):
    X = np.asarray(X)
    if X.ndim < 2 or int(np.prod(X.shape[1:])) != input_dim:
        raise ValueError(f"{name}: each example must have {input_dim} values, got X of shape "
                         f"{X.shape}")


class TwoLayerNet(object):
    """Two-layer fully-connected net: affine - relu - affine - softmax.

    Input dimension D, hidden dimension H, C classes. Parameters in self.params:
    W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        """
        - input_dim, hidden_dim, num_classes: sizes D, H, C
        - weight_scale: standard deviation of the Gaussian the weights are drawn from
        - reg: L2 regularization strength
        """
        self.params = {}
        self.reg = reg
        self.input_dim = input_dim
        # TODO: Initialize W1, W2 from a Gaussian centered at 0 with standard deviation
        # weight_scale and b1, b2 with zeros.
        # *****START OF YOUR CODE*****
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b2"] = np.zeros(num_classes)
        # *****END OF YOUR CODE*****

    def loss(self, X, y=None):
        """Loss and gradients on a minibatch.

        Inputs: X: (N, d_1, ..., d_k); y: (N,) labels, or None.
        Returns: if y is None, scores (N, C); otherwise (loss, grads) with grads a dict of
        the same keys as self.params. The loss includes 0.5 * reg * sum(W**2) per weight.
        """
        _check_batch(X, self.input_dim, "TwoLayerNet.loss")
        scores = None
        # TODO: Forward pass: compute the class scores into scores.
        # *****START OF YOUR CODE*****
        h, cache1 = affine_relu_forward(X, self.params["W1"], self.params["b1"])
        scores, cache2 = affine_forward(h, self.params["W2"], self.params["b2"])
        # *****END OF YOUR CODE*****
        if y is None:
            return scores

        loss, grads = 0, {}
        # TODO: Backward pass: data loss with softmax_loss, L2 regularization with the factor
        # 0.5 (so its gradient is reg * W), and the gradient of every parameter in grads.
        # *****START OF YOUR CODE*****
        W1, W2 = self.params["W1"], self.params["W2"]
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dh, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dh, cache1)
        grads["W1"] += self.reg * W1
        grads["W2"] += self.reg * W2
        # *****END OF YOUR CODE*****
        return loss, grads


class FullyConnectedNet(object):
    """Fully-connected net with any number of hidden layers:

        {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax

    Parameters in self.params: W1, b1, ..., WL, bL, and gamma1, beta1, ..., gamma(L-1),
    beta(L-1) when normalization is used.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        """
        - hidden_dims: list of hidden layer sizes
        - input_dim, num_classes: input size and number of classes
        - dropout: keep probability of dropout (1 = no dropout)
        - normalization: None, "batchnorm" or "layernorm"
        - reg: L2 regularization strength
        - weight_scale: standard deviation of the weight initialization
        - dtype: numpy dtype of every parameter (float64 for gradient checks)
        - seed: if given, dropout masks are deterministic (for gradient checks)
        """
        if normalization not in (None, "batchnorm", "layernorm"):
            raise ValueError(f"normalization must be None, 'batchnorm' or 'layernorm', got "
                             f"{normalization!r}")
        if not (0 < dropout <= 1):
            raise ValueError(f"dropout is the keep probability and must be in (0, 1], got "
                             f"{dropout!r}")
        if any(int(h) < 1 for h in hidden_dims):
            raise ValueError(f"hidden_dims must be positive, got {list(hidden_dims)}")
        self.normalization = normalization
        self.use_dropout = dropout != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.input_dim = input_dim
        self.params = {}

        # TODO: Initialize the parameters: weights Wi from a Gaussian of standard deviation
        # weight_scale, biases bi with zeros, and (with normalization) scales gammai with
        # ones and shifts betai with zeros, for every hidden layer i (not the output layer).
        # *****START OF YOUR CODE*****
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])
            if normalization is not None and i < self.num_layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(dims[i + 1])
                self.params[f"beta{i + 1}"] = np.zeros(dims[i + 1])
        # *****END OF YOUR CODE*****

        # Dropout uses the same dropout_param in every layer; seeded for gradient checks.
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout}
            if seed is not None:
                self.dropout_param["seed"] = seed

        # One bn_param per normalized layer: it holds that layer's running averages.
        self.bn_params = []
        if self.normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for i in range(self.num_layers - 1)]
        if self.normalization == "layernorm":
            self.bn_params = [{} for i in range(self.num_layers - 1)]

        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """Loss and gradients on a minibatch; same contract as TwoLayerNet.loss."""
        _check_batch(X, self.input_dim, "FullyConnectedNet.loss")
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"

        # batchnorm and dropout behave differently in training and testing
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode
        scores = None
        # TODO: Forward pass: run the {affine - [norm] - relu - [dropout]} blocks, then the last
        # affine layer, storing the scores in scores and every layer's cache for the backward
        # pass. Pass self.dropout_param to every dropout layer and self.bn_params[i] to the
        # i-th normalization layer.
        # *****START OF YOUR CODE*****
        caches = []
        h = X
        for i in range(1, self.num_layers):
            W, b = self.params[f"W{i}"], self.params[f"b{i}"]
            if self.normalization is None:
                h, cache = affine_relu_forward(h, W, b)
            else:
                h, cache = affine_norm_relu_forward(h, W, b, self.params[f"gamma{i}"],
                                                    self.params[f"beta{i}"],
                                                    self.bn_params[i - 1], self.normalization)
            drop_cache = None
            if self.use_dropout:
                h, drop_cache = dropout_forward(h, self.dropout_param)
            caches.append((cache, drop_cache))
        L = self.num_layers
        scores, last_cache = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])
        # *****END OF YOUR CODE*****
        if mode == "test":
            return scores

        loss, grads = 0.0, {}
        # TODO: Backward pass: softmax data loss plus 0.5 * reg * sum(W**2) for every weight
        # matrix (not biases, gammas or betas), and every gradient into grads.
        # *****START OF YOUR CODE*****
        loss, dscores = softmax_loss(scores, y)
        for i in range(1, L + 1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            cache, drop_cache = caches[i - 1]
            if self.use_dropout:
                dh = dropout_backward(dh, drop_cache)
            if self.normalization is None:
                dh, grads[f"W{i}"], grads[f"b{i}"] = affine_relu_backward(dh, cache)
            else:
                (dh, grads[f"W{i}"], grads[f"b{i}"], grads[f"gamma{i}"],
                 grads[f"beta{i}"]) = affine_norm_relu_backward(dh, cache)
        for i in range(1, L + 1):
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * self.params[f"W{i}"]
        # *****END OF YOUR CODE*****
        return loss, grads
