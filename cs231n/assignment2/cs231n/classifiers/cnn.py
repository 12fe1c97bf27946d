"""A three-layer convolutional network built from the modular layers."""
from builtins import object

import numpy as np

# As in the course's cnn.py: `from cs231n.classifiers.cnn import *` also brings in the layers.
from ..layers import *  # noqa: F401,F403
from ..fast_layers import *  # noqa: F401,F403
from ..layer_utils import *  # noqa: F401,F403
from ..layer_utils import (affine_backward, affine_forward, affine_relu_backward,
                           affine_relu_forward, conv_relu_pool_backward, conv_relu_pool_forward,
                           softmax_loss)


class ThreeLayerConvNet(object):
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    Works on minibatches of shape (N, C, H, W). The convolution keeps the spatial size
    (stride 1, padding (filter_size - 1) // 2) and the pool halves it. Parameters:
    W1 (F, C, fs, fs), b1 (F,), W2 (F * H/2 * W/2, hidden), b2 (hidden,), W3 (hidden, classes),
    b3 (classes,).
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        """
        - input_dim: (C, H, W) of one example
        - num_filters, filter_size: number and (odd) size of the convolution's filters
        - hidden_dim: units of the hidden affine layer; num_classes: scores to produce
        - weight_scale: standard deviation of the weight initialization
        - reg: L2 regularization strength; dtype: numpy dtype of the parameters
        """
        C, H, W = input_dim
        if filter_size % 2 == 0:
            raise ValueError(f"filter_size must be odd to keep the spatial size, got {filter_size}")
        if H % 2 or W % 2:
            raise ValueError(f"input height and width must be even for the 2x2 pool, got {H}x{W}")
        self.params = {}
        self.reg = reg
        self.dtype = dtype
        self.input_dim = tuple(input_dim)
        # TODO: Initialize the weights (Gaussian, standard deviation weight_scale) and biases
        # (zeros) of the three layers, with the shapes in the class docstring.
        # *****START OF YOUR CODE*****
        self.params["W1"] = weight_scale * np.random.randn(num_filters, C, filter_size, filter_size)
        self.params["b1"] = np.zeros(num_filters)
        self.params["W2"] = weight_scale * np.random.randn(num_filters * (H // 2) * (W // 2),
                                                           hidden_dim)
        self.params["b2"] = np.zeros(hidden_dim)
        self.params["W3"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b3"] = np.zeros(num_classes)
        # *****END OF YOUR CODE*****
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """Loss and gradients for the three-layer convnet; same contract as TwoLayerNet.loss."""
        if np.ndim(X) != 4 or tuple(X.shape[1:]) != self.input_dim:
            raise ValueError(f"ThreeLayerConvNet.loss: X must be (N, {', '.join(map(str, self.input_dim))}), "
                             f"got {np.shape(X)}")
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]

        # pass conv_param and pool_param to the forward pass of the convolution / pool
        filter_size = W1.shape[2]
        conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

        scores = None
        # TODO: Forward pass of the three-layer convnet; store the class scores in scores.
        # The fast sandwich layers of layer_utils.py do most of the work.
        # *****START OF YOUR CODE*****
        X = X.astype(self.dtype)
        h1, cache1 = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        h2, cache2 = affine_relu_forward(h1, W2, b2)
        scores, cache3 = affine_forward(h2, W3, b3)
        # *****END OF YOUR CODE*****
        if y is None:
            return scores

        loss, grads = 0, {}
        # TODO: Backward pass: softmax data loss plus 0.5 * reg * sum(W**2) for each weight,
        # and all gradients in grads.
        # *****START OF YOUR CODE*****
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * sum(np.sum(w * w) for w in (W1, W2, W3))
        dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
        dh1, grads["W2"], grads["b2"] = affine_relu_backward(dh2, cache2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dh1, cache1)
        for k in ("W1", "W2", "W3"):
            grads[k] = grads[k] + self.reg * self.params[k]
        # *****END OF YOUR CODE*****
        return loss, grads
