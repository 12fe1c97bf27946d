"""
EECS 498-007 / 598-005 (Fall 2020) A3, part 2: convolutional networks and batch normalization
in PyTorch, with hand-written forward and backward passes.

Layers are classes with two static methods, as in fully_connected_networks.py:
`forward(...)` -> (out, cache) and `backward(dout, cache)` -> gradients of its inputs.
Images are (N, C, H, W) tensors; convolution weights are (F, C, HH, WW).

Conventions: the networks' losses add reg * sum(W * W) over their weight tensors, without a
factor 1/2 (biases and batchnorm scales and shifts are not regularized). Do not call `.to()` /
`.cuda()` in the blocks you implement: create every tensor with the device and dtype of the
inputs (or of the `device` / `dtype` arguments).
"""
import random  # noqa: F401  (the course's template imports it)

import torch

from a3_helper import svm_loss, softmax_loss  # noqa: F401
from eecs598 import Solver
from fully_connected_networks import *  # noqa: F401,F403  (Linear, ReLU, Linear_ReLU, adam, ...)


def hello_convolutional_networks():
    """A sample function to check that the environment imports this file."""
    print('Hello from convolutional_networks.py!')


class Conv(object):

    @staticmethod
    def forward(x, w, b, conv_param):
        """
        A naive forward pass of a convolutional layer: each of the N inputs (C channels of
        H x W) is correlated with each of F filters, each spanning all C channels over an
        HH x WW window, plus the filter's bias.

        Inputs:
        - x: (N, C, H, W) input data
        - w: (F, C, HH, WW) filter weights
        - b: (F,) biases
        - conv_param: dict with
          - 'stride': step, in pixels, between neighbouring windows (both directions)
          - 'pad': number of zeros added on every side of the height and width axes of x
            (do not modify x itself)

        Returns a tuple of:
        - out: (N, F, H', W') with H' = 1 + (H + 2 * pad - HH) // stride and
          W' = 1 + (W + 2 * pad - WW) // stride
        - cache: (x, w, b, conv_param)
        """
        out = None
        # TODO: the convolution forward pass. Efficiency does not matter much here: loops are
        # fine. torch.nn.functional.pad may help with the padding.
        # *****START OF YOUR CODE*****
        stride, pad = conv_param['stride'], conv_param['pad']
        N, C, H, W = x.shape
        F, _, HH, WW = w.shape
        H_out = 1 + (H + 2 * pad - HH) // stride
        W_out = 1 + (W + 2 * pad - WW) // stride
        xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        out = x.new_zeros(N, F, H_out, W_out)
        # One output position at a time: its window of every input against every filter.
        for i in range(H_out):
            for j in range(W_out):
                window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                out[:, :, i, j] = torch.einsum('nchw,fchw->nf', window, w) + b
        # *****END OF YOUR CODE*****
        cache = (x, w, b, conv_param)
        return out, cache

    @staticmethod
    def backward(dout, cache):
        """
        A naive backward pass of a convolutional layer.

        Inputs:
        - dout: (N, F, H', W') upstream derivatives
        - cache: (x, w, b, conv_param) as returned by Conv.forward

        Returns a tuple of:
        - dx: (N, C, H, W) gradient with respect to x
        - dw: (F, C, HH, WW) gradient with respect to w
        - db: (F,) gradient with respect to b
        """
        dx, dw, db = None, None, None
        # TODO: the convolution backward pass. Efficiency does not matter much here.
        # *****START OF YOUR CODE*****
        x, w, b, conv_param = cache
        stride, pad = conv_param['stride'], conv_param['pad']
        N, C, H, W = x.shape
        F, _, HH, WW = w.shape
        _, _, H_out, W_out = dout.shape
        xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        dxp = torch.zeros_like(xp)
        dw = torch.zeros_like(w)
        for i in range(H_out):
            for j in range(W_out):
                rows = slice(i * stride, i * stride + HH)
                cols = slice(j * stride, j * stride + WW)
                d = dout[:, :, i, j]                                   # (N, F)
                dw += torch.einsum('nf,nchw->fchw', d, xp[:, :, rows, cols])
                dxp[:, :, rows, cols] += torch.einsum('nf,fchw->nchw', d, w)
        db = dout.sum(dim=(0, 2, 3))
        dx = dxp[:, :, pad:pad + H, pad:pad + W]
        # *****END OF YOUR CODE*****
        return dx, dw, db


class MaxPool(object):

    @staticmethod
    def forward(x, pool_param):
        """
        A naive forward pass of a max-pooling layer (no padding).

        Inputs:
        - x: (N, C, H, W) input data
        - pool_param: dict with
          - 'pool_height', 'pool_width': size of each pooling window
          - 'stride': step between neighbouring windows

        Returns a tuple of:
        - out: (N, C, H', W') with H' = 1 + (H - pool_height) // stride and
          W' = 1 + (W - pool_width) // stride
        - cache: (x, pool_param)
        """
        out = None
        # TODO: the max-pooling forward pass. Efficiency does not matter much here.
        # *****START OF YOUR CODE*****
        ph, pw = pool_param['pool_height'], pool_param['pool_width']
        stride = pool_param['stride']
        N, C, H, W = x.shape
        H_out = 1 + (H - ph) // stride
        W_out = 1 + (W - pw) // stride
        out = x.new_zeros(N, C, H_out, W_out)
        for i in range(H_out):
            for j in range(W_out):
                window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
                out[:, :, i, j] = window.amax(dim=(2, 3))
        # *****END OF YOUR CODE*****
        cache = (x, pool_param)
        return out, cache

    @staticmethod
    def backward(dout, cache):
        """
        A naive backward pass of a max-pooling layer.

        Inputs:
        - dout: (N, C, H', W') upstream derivatives
        - cache: (x, pool_param) as returned by MaxPool.forward

        Returns:
        - dx: (N, C, H, W) gradient with respect to x
        """
        dx = None
        # TODO: the max-pooling backward pass: each window's upstream derivative goes to the
        # position of its maximum. Efficiency does not matter much here.
        # *****START OF YOUR CODE*****
        x, pool_param = cache
        ph, pw = pool_param['pool_height'], pool_param['pool_width']
        stride = pool_param['stride']
        N, C, _, _ = x.shape
        _, _, H_out, W_out = dout.shape
        dx = torch.zeros_like(x)
        for i in range(H_out):
            for j in range(W_out):
                rows = slice(i * stride, i * stride + ph)
                cols = slice(j * stride, j * stride + pw)
                flat = x[:, :, rows, cols].reshape(N, C, -1)
                # one position per window (the first maximum), as torch's max pooling does
                onehot = torch.zeros_like(flat).scatter_(2, flat.argmax(dim=2, keepdim=True), 1.0)
                dx[:, :, rows, cols] += (onehot * dout[:, :, i, j, None]).reshape(N, C, ph, pw)
        # *****END OF YOUR CODE*****
        return dx


class ThreeLayerConvNet(object):
    """
    A three-layer convolutional network:

        conv - relu - 2x2 max pool - linear - relu - linear - softmax

    on minibatches of shape (N, C, H, W). The convolution keeps the spatial size (stride 1,
    padding (filter_size - 1) // 2); the pooling halves it.
    """

    def __init__(self, input_dims=(3, 32, 32), num_filters=32, filter_size=7,
                 hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0,
                 dtype=torch.float, device='cpu'):
        """
        Initialize a new network.

        Inputs:
        - input_dims: (C, H, W), the size of one input
        - num_filters: number of filters of the convolutional layer
        - filter_size: width and height of the filters
        - hidden_dim: number of units of the hidden linear layer
        - num_classes: number of scores of the output layer
        - weight_scale: standard deviation of the random initial weights
        - reg: L2 regularization strength
        - dtype: torch dtype of every parameter and computation (float64 for gradient checks)
        - device: 'cpu' or 'cuda'
        """
        self.params = {}
        self.reg = reg
        self.dtype = dtype

        # TODO: initialize the parameters in self.params: weights from a Gaussian with mean 0
        # and standard deviation weight_scale, biases zero. Keys: 'W1', 'b1' for the
        # convolution (W1: (num_filters, C, filter_size, filter_size)), 'W2', 'b2' for the
        # hidden linear layer and 'W3', 'b3' for the output layer. The convolution keeps the
        # input's height and width (see the start of loss()).
        # *****START OF YOUR CODE*****
        C, H, W = input_dims
        pooled_dim = num_filters * (H // 2) * (W // 2)
        shapes = {'W1': (num_filters, C, filter_size, filter_size), 'b1': (num_filters,),
                  'W2': (pooled_dim, hidden_dim), 'b2': (hidden_dim,),
                  'W3': (hidden_dim, num_classes), 'b3': (num_classes,)}
        for name, shape in shapes.items():
            if name.startswith('W'):
                self.params[name] = weight_scale * torch.randn(shape, dtype=dtype, device=device)
            else:
                self.params[name] = torch.zeros(shape, dtype=dtype, device=device)
        # *****END OF YOUR CODE*****

    def save(self, path):
        checkpoint = {'reg': self.reg, 'dtype': self.dtype, 'params': self.params}
        torch.save(checkpoint, path)
        print("Saved in {}".format(path))

    def load(self, path):
        checkpoint = torch.load(path, map_location='cpu')
        self.params = checkpoint['params']
        self.dtype = checkpoint['dtype']
        self.reg = checkpoint['reg']
        print("load checkpoint file: {}".format(path))

    def loss(self, X, y=None):
        """
        Loss and gradients of the network (the same interface as TwoLayerNet).

        Inputs:
        - X: (N, C, H, W) input data
        - y: (N,) int64 labels; optional

        Returns:
        - without y: (N, num_classes) scores
        - with y: (loss, grads), grads keyed like self.params
        """
        X = X.to(self.dtype)
        W1, b1 = self.params['W1'], self.params['b1']
        W2, b2 = self.params['W2'], self.params['b2']
        W3, b3 = self.params['W3'], self.params['b3']

        # Stride 1 and this padding keep the input's height and width.
        filter_size = W1.shape[2]
        conv_param = {'stride': 1, 'pad': (filter_size - 1) // 2}
        pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}

        scores = None
        # TODO: the forward pass, storing the class scores in `scores`. The fast and sandwich
        # layers at the end of this file (Conv_ReLU_Pool, ...) and those of
        # fully_connected_networks.py (Linear_ReLU, Linear) make this short.
        # *****START OF YOUR CODE*****
        h1, cache1 = Conv_ReLU_Pool.forward(X, W1, b1, conv_param, pool_param)
        h2, cache2 = Linear_ReLU.forward(h1, W2, b2)
        scores, cache3 = Linear.forward(h2, W3, b3)
        # *****END OF YOUR CODE*****

        if y is None:
            return scores

        loss, grads = 0.0, {}
        # TODO: the backward pass: softmax data loss plus reg * (sum of the squared entries of
        # W1, W2 and W3), without a factor 1/2; grads[k] is the gradient for self.params[k].
        # *****START OF YOUR CODE*****
        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + self.reg * sum((self.params[k] ** 2).sum() for k in ('W1', 'W2', 'W3'))
        dh2, grads['W3'], grads['b3'] = Linear.backward(dscores, cache3)
        dh1, grads['W2'], grads['b2'] = Linear_ReLU.backward(dh2, cache2)
        _, grads['W1'], grads['b1'] = Conv_ReLU_Pool.backward(dh1, cache1)
        for k in ('W1', 'W2', 'W3'):
            grads[k] = grads[k] + 2 * self.reg * self.params[k]
        # *****END OF YOUR CODE*****

        return loss, grads


class DeepConvNet(object):
    """
    A VGG-style convolutional network with any number of convolutional layers:

        {conv - [batchnorm?] - relu - [pool?]} x (L - 1) - linear

    Each {...} "macro layer" is a 3x3 convolution with padding 1 (the size is kept), an
    optional spatial batch normalization, a ReLU and an optional 2x2 max pooling of stride 2
    (the size is halved). A linear layer maps the last feature map to the class scores.
    Inputs are minibatches of shape (N, C, H, W).
    """

    def __init__(self, input_dims=(3, 32, 32),
                 num_filters=[8, 8, 8, 8, 8],
                 max_pools=[0, 1, 2, 3, 4],
                 batchnorm=False,
                 num_classes=10, weight_scale=1e-3, reg=0.0,
                 weight_initializer=None,
                 dtype=torch.float, device='cpu'):
        """
        Initialize a new network.

        Inputs:
        - input_dims: (C, H, W), the size of one input
        - num_filters: list of length L - 1, the number of filters of each macro layer
        - max_pools: indices (from 0) of the macro layers that end with a max pooling
        - batchnorm: whether each macro layer has a spatial batch normalization
        - num_classes: number of scores of the final linear layer
        - weight_scale: standard deviation of the random initial weights, or the string
          'kaiming' for Kaiming initialization (kaiming_initializer below)
        - reg: L2 regularization strength, applied to the convolution and linear weights only
          (not to biases, nor to the batchnorm scales and shifts)
        - weight_initializer: unused (kept from the course's signature)
        - dtype: torch dtype of every parameter and computation (float64 for gradient checks)
        - device: 'cpu' or 'cuda'
        """
        self.params = {}
        self.num_layers = len(num_filters) + 1
        self.max_pools = max_pools
        self.batchnorm = batchnorm
        self.reg = reg
        self.dtype = dtype

        device = torch.device(device)
        if device.type == 'cuda' and device.index is None:
            device = torch.device('cuda', torch.cuda.current_device())

        # TODO: initialize the parameters in self.params. Macro layer i (from 1) has
        # 'Wi': (num_filters[i-1], channels in, 3, 3) and 'bi'; with batchnorm also 'gammai'
        # (ones) and 'betai' (zeros). The final linear layer has 'WL': (D, num_classes) and
        # 'bL', with L = self.num_layers and D the size of the last feature map. Weights follow
        # weight_scale (a standard deviation, or 'kaiming'); biases are zero.
        # *****START OF YOUR CODE*****
        C, H, W = input_dims
        kaiming = isinstance(weight_scale, str) and weight_scale == 'kaiming'
        channels_in = C
        for i, F in enumerate(num_filters, start=1):
            if kaiming:
                w = kaiming_initializer(channels_in, F, K=3, relu=True, device=device, dtype=dtype)
            else:
                w = weight_scale * torch.randn(F, channels_in, 3, 3, dtype=dtype, device=device)
            self.params[f'W{i}'] = w
            self.params[f'b{i}'] = torch.zeros(F, dtype=dtype, device=device)
            if batchnorm:
                self.params[f'gamma{i}'] = torch.ones(F, dtype=dtype, device=device)
                self.params[f'beta{i}'] = torch.zeros(F, dtype=dtype, device=device)
            if i - 1 in max_pools:
                H, W = H // 2, W // 2
            channels_in = F
        L = self.num_layers
        D = channels_in * H * W
        if kaiming:
            # the scores are not followed by a ReLU
            self.params[f'W{L}'] = kaiming_initializer(D, num_classes, relu=False,
                                                       device=device, dtype=dtype)
        else:
            self.params[f'W{L}'] = weight_scale * torch.randn(D, num_classes, dtype=dtype, device=device)
        self.params[f'b{L}'] = torch.zeros(num_classes, dtype=dtype, device=device)
        # *****END OF YOUR CODE*****

        # Each batch normalization layer keeps its running mean and variance in its own
        # bn_param dict: pass self.bn_params[0] to the first, self.bn_params[1] to the second...
        self.bn_params = []
        if self.batchnorm:
            self.bn_params = [{'mode': 'train'} for _ in range(len(num_filters))]

        # The parameters must be complete and on the requested device, in the requested dtype.
        per_layer = 4 if self.batchnorm else 2
        expected = per_layer * len(num_filters) + 2
        assert len(self.params) == expected, \
            'self.params has %d elements; expected %d' % (len(self.params), expected)
        for k, param in self.params.items():
            assert param.device == device, \
                'param "%s" is on %r; should be on %r' % (k, param.device, device)
            assert param.dtype == dtype, \
                'param "%s" has dtype %r; should be %r' % (k, param.dtype, dtype)

    def save(self, path):
        checkpoint = {
            'reg': self.reg,
            'dtype': self.dtype,
            'params': self.params,
            'num_layers': self.num_layers,
            'max_pools': self.max_pools,
            'batchnorm': self.batchnorm,
            'bn_params': self.bn_params,
        }
        torch.save(checkpoint, path)
        print("Saved in {}".format(path))

    def load(self, path, dtype, device):
        checkpoint = torch.load(path, map_location='cpu')
        self.params = {k: v.to(dtype=dtype, device=device) for k, v in checkpoint['params'].items()}
        self.dtype = dtype
        self.reg = checkpoint['reg']
        self.num_layers = checkpoint['num_layers']
        self.max_pools = checkpoint['max_pools']
        self.batchnorm = checkpoint['batchnorm']
        self.bn_params = checkpoint['bn_params']
        for bn_param in self.bn_params:
            for key in ('running_mean', 'running_var'):
                if key in bn_param:
                    bn_param[key] = bn_param[key].to(dtype=dtype, device=device)
        print("load checkpoint file: {}".format(path))

    def loss(self, X, y=None):
        """
        Loss and gradients of the network (the same interface as ThreeLayerConvNet).
        Without y the batch normalization layers run in test mode, with y in train mode.
        """
        X = X.to(self.dtype)
        mode = 'test' if y is None else 'train'
        if self.batchnorm:
            for bn_param in self.bn_params:
                bn_param['mode'] = mode

        # 3x3 filters with stride 1 and padding 1 keep the size; pooling halves it.
        filter_size = 3
        conv_param = {'stride': 1, 'pad': (filter_size - 1) // 2}
        pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}

        scores = None
        # TODO: the forward pass, storing the class scores in `scores`. Use the fast layers or
        # the sandwich layers at the end of this file (Conv_ReLU, Conv_ReLU_Pool,
        # Conv_BatchNorm_ReLU, Conv_BatchNorm_ReLU_Pool) and Linear.
        # *****START OF YOUR CODE*****
        caches = []
        out = X
        for i in range(1, self.num_layers):
            w, b = self.params[f'W{i}'], self.params[f'b{i}']
            pooled = (i - 1) in self.max_pools
            if self.batchnorm:
                gamma, beta = self.params[f'gamma{i}'], self.params[f'beta{i}']
                bn_param = self.bn_params[i - 1]
                if pooled:
                    out, cache = Conv_BatchNorm_ReLU_Pool.forward(out, w, b, gamma, beta,
                                                                  conv_param, bn_param, pool_param)
                else:
                    out, cache = Conv_BatchNorm_ReLU.forward(out, w, b, gamma, beta,
                                                             conv_param, bn_param)
            elif pooled:
                out, cache = Conv_ReLU_Pool.forward(out, w, b, conv_param, pool_param)
            else:
                out, cache = Conv_ReLU.forward(out, w, b, conv_param)
            caches.append(cache)
        L = self.num_layers
        scores, last_cache = Linear.forward(out, self.params[f'W{L}'], self.params[f'b{L}'])
        # *****END OF YOUR CODE*****

        if y is None:
            return scores

        loss, grads = 0, {}
        # TODO: the backward pass: softmax data loss plus reg * (sum of the squared entries of
        # every convolution and linear weight), without a factor 1/2; grads[k] is the gradient
        # for self.params[k].
        # *****START OF YOUR CODE*****
        data_loss, dscores = softmax_loss(scores, y)
        L = self.num_layers
        weights = [f'W{i}' for i in range(1, L + 1)]
        loss = data_loss + self.reg * sum((self.params[k] ** 2).sum() for k in weights)
        dout, grads[f'W{L}'], grads[f'b{L}'] = Linear.backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            cache = caches[i - 1]
            pooled = (i - 1) in self.max_pools
            if self.batchnorm:
                layer = Conv_BatchNorm_ReLU_Pool if pooled else Conv_BatchNorm_ReLU
                dout, grads[f'W{i}'], grads[f'b{i}'], grads[f'gamma{i}'], grads[f'beta{i}'] = \
                    layer.backward(dout, cache)
            else:
                layer = Conv_ReLU_Pool if pooled else Conv_ReLU
                dout, grads[f'W{i}'], grads[f'b{i}'] = layer.backward(dout, cache)
        for k in weights:
            grads[k] = grads[k] + 2 * self.reg * self.params[k]
        # *****END OF YOUR CODE*****

        return loss, grads


def find_overfit_parameters():
    """(weight_scale, learning_rate) with which the notebook's DeepConvNet (filters
    [8, 16, 32, 64], a pooling after each, reg 1e-5, Adam, batches of 10) reaches 100%
    training accuracy on 50 images within 30 epochs."""
    weight_scale = 2e-3   # Experiment with this!
    learning_rate = 1e-5  # Experiment with this!
    # TODO: change weight_scale and learning_rate so that the model above reaches 100% training
    # accuracy within 30 epochs.
    # *****START OF YOUR CODE*****
    weight_scale = 1e-1
    learning_rate = 2e-3
    # *****END OF YOUR CODE*****
    return weight_scale, learning_rate


def create_convolutional_solver_instance(data_dict, dtype, device):
    """
    A Solver, ready to train, for the best DeepConvNet you can train on CIFAR-10 in 60
    seconds (the notebook calls solver.train(time_limit=60)). Build the model with the given
    `dtype` and `device`, and give the Solver the same `device`.

    Inputs:
    - data_dict: dict with X_train (N, 3, 32, 32), y_train, X_val, y_val
    - dtype: torch dtype for the model
    - device: device for the model and the Solver

    Returns:
    - solver: a Solver instance
    """
    model = None
    solver = None
    # TODO: train the best DeepConvNet that you can on CIFAR-10 within 60 seconds.
    # *****START OF YOUR CODE*****
    input_dims = tuple(data_dict['X_train'].shape[1:])
    model = DeepConvNet(input_dims=input_dims, num_classes=10,
                        num_filters=[16, 32, 64],
                        max_pools=[0, 1, 2],
                        weight_scale='kaiming',
                        reg=1e-4,
                        dtype=dtype, device=device)
    solver = Solver(model, data_dict,
                    num_epochs=10, batch_size=64,
                    update_rule=adam,
                    optim_config={'learning_rate': 2e-3},
                    lr_decay=0.9,
                    print_every=50, device=device)
    # *****END OF YOUR CODE*****
    return solver


def kaiming_initializer(Din, Dout, K=None, relu=True, device='cpu',
                        dtype=torch.float32):
    """
    Kaiming initialization of the weights of a linear or convolutional layer: Gaussian
    numbers with mean 0 and standard deviation sqrt(gain / fan_in).

    Inputs:
    - Din, Dout: number of input and output dimensions (channels, for a convolution)
    - K: None for a linear layer (Din inputs, Dout outputs); an integer for a convolution
      with Din input channels, Dout output channels and K x K filters
    - relu: True for a gain of 2, which accounts for a ReLU (Kaiming initialization);
      False for a gain of 1 (Xavier initialization)
    - device, dtype: device and dtype of the result

    Returns:
    - weight: (Din, Dout) for a linear layer, (Dout, Din, K, K) for a convolution
    """
    gain = 2. if relu else 1.
    weight = None
    if K is None:
        # TODO: Kaiming initialization of a linear layer: standard deviation
        # sqrt(gain / fan_in) with fan_in = Din; shape (Din, Dout), the given dtype and device.
        # *****START OF YOUR CODE*****
        fan_in = Din
        weight = (gain / fan_in) ** 0.5 * torch.randn(Din, Dout, dtype=dtype, device=device)
        # *****END OF YOUR CODE*****
    else:
        # TODO: Kaiming initialization of a convolution: standard deviation
        # sqrt(gain / fan_in) with fan_in = Din * K * K; shape (Dout, Din, K, K), the given
        # dtype and device.
        # *****START OF YOUR CODE*****
        fan_in = Din * K * K
        weight = (gain / fan_in) ** 0.5 * torch.randn(Dout, Din, K, K, dtype=dtype, device=device)
        # *****END OF YOUR CODE*****
    return weight


class BatchNorm(object):

    @staticmethod
    def forward(x, gamma, beta, bn_param):
        """
        Forward pass of batch normalization.

        In train mode each feature is normalized with the minibatch mean and the biased
        (divided by N) minibatch variance, then scaled by gamma and shifted by beta; the layer
        also keeps exponentially decaying running averages of these statistics,

            running_mean = momentum * running_mean + (1 - momentum) * sample_mean
            running_var = momentum * running_var + (1 - momentum) * sample_var

        which normalize the data in test mode (as torch.nn.BatchNorm does, instead of the
        paper's estimate over the whole training set).

        Inputs:
        - x: (N, D) data
        - gamma: (D,) scale
        - beta: (D,) shift
        - bn_param: dict with
          - 'mode': 'train' or 'test' (required)
          - 'eps': added to the variance for numeric stability (default 1e-5)
          - 'momentum': of the running averages (default 0.9)
          - 'running_mean', 'running_var': (D,) running averages (start at zeros)

        Returns a tuple of:
        - out: (N, D)
        - cache: what the backward pass needs
        """
        mode = bn_param['mode']
        eps = bn_param.get('eps', 1e-5)
        momentum = bn_param.get('momentum', 0.9)

        N, D = x.shape
        running_mean = bn_param.get('running_mean', torch.zeros(D, dtype=x.dtype, device=x.device))
        running_var = bn_param.get('running_var', torch.zeros(D, dtype=x.dtype, device=x.device))

        out, cache = None, None
        if mode == 'train':
            # TODO: the training-time forward pass: normalize x with the minibatch mean and
            # (biased) variance, scale and shift with gamma and beta (result in out), update
            # running_mean and running_var as above, and keep in cache what the backward pass
            # needs. The paper (https://arxiv.org/abs/1502.03167) may help.
            # *****START OF YOUR CODE*****
            mean = x.mean(dim=0)
            var = x.var(dim=0, unbiased=False)
            std = torch.sqrt(var + eps)
            x_hat = (x - mean) / std
            out = gamma * x_hat + beta
            running_mean = momentum * running_mean + (1 - momentum) * mean
            running_var = momentum * running_var + (1 - momentum) * var
            cache = {'mode': 'train', 'x': x, 'x_hat': x_hat, 'mean': mean, 'var': var,
                     'std': std, 'gamma': gamma, 'eps': eps}
            # *****END OF YOUR CODE*****
        elif mode == 'test':
            # TODO: the test-time forward pass: normalize x with the running mean and
            # variance, then scale and shift with gamma and beta; result in out.
            # *****START OF YOUR CODE*****
            std = torch.sqrt(running_var + eps)
            x_hat = (x - running_mean) / std
            out = gamma * x_hat + beta
            cache = {'mode': 'test', 'x_hat': x_hat, 'std': std, 'gamma': gamma}
            # *****END OF YOUR CODE*****
        else:
            raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

        # Keep the (updated) running averages in bn_param for the next call.
        bn_param['running_mean'] = running_mean.detach()
        bn_param['running_var'] = running_var.detach()

        return out, cache

    @staticmethod
    def backward(dout, cache):
        """
        Backward pass of batch normalization, through the computation graph of the forward
        pass, one intermediate node at a time.

        Inputs:
        - dout: (N, D) upstream derivatives
        - cache: from BatchNorm.forward

        Returns a tuple of:
        - dx: (N, D) gradient with respect to x
        - dgamma: (D,) gradient with respect to gamma
        - dbeta: (D,) gradient with respect to beta
        """
        dx, dgamma, dbeta = None, None, None
        # TODO: the backward pass of batch normalization (train and test mode) through the
        # intermediate nodes of the forward pass; results in dx, dgamma and dbeta.
        # *****START OF YOUR CODE*****
        x_hat, std, gamma = cache['x_hat'], cache['std'], cache['gamma']
        dbeta = dout.sum(dim=0)
        dgamma = (dout * x_hat).sum(dim=0)
        dx_hat = dout * gamma
        if cache['mode'] == 'test':
            # the running statistics are constants
            dx = dx_hat / std
        else:
            x, mean, var, eps = cache['x'], cache['mean'], cache['var'], cache['eps']
            N = x.shape[0]
            centered = x - mean
            # x_hat = centered * inv_std, inv_std = (var + eps) ** -1/2, var = mean(centered^2)
            inv_std = 1.0 / std
            d_inv_std = (dx_hat * centered).sum(dim=0)
            d_var = d_inv_std * (-0.5) * (var + eps) ** -1.5
            d_centered = dx_hat * inv_std + d_var * 2.0 * centered / N
            d_mean = -d_centered.sum(dim=0)
            dx = d_centered + d_mean / N
        # *****END OF YOUR CODE*****

        return dx, dgamma, dbeta

    @staticmethod
    def backward_alt(dout, cache):
        """
        Backward pass of batch normalization from the derivative simplified on paper; it takes
        the same cache as BatchNorm.backward (and may use only part of it).

        Inputs / outputs: as BatchNorm.backward.
        """
        dx, dgamma, dbeta = None, None, None
        # TODO: the simplified backward pass: once you have the gradient with respect to the
        # normalized inputs, the gradient with respect to x fits in a single statement.
        # *****START OF YOUR CODE*****
        x_hat, std, gamma = cache['x_hat'], cache['std'], cache['gamma']
        dbeta = dout.sum(dim=0)
        dgamma = (dout * x_hat).sum(dim=0)
        dx_hat = dout * gamma
        if cache['mode'] == 'test':
            dx = dx_hat / std
        else:
            dx = (dx_hat - dx_hat.mean(dim=0) - x_hat * (dx_hat * x_hat).mean(dim=0)) / std
        # *****END OF YOUR CODE*****

        return dx, dgamma, dbeta


class SpatialBatchNorm(object):

    @staticmethod
    def forward(x, gamma, beta, bn_param):
        """
        Forward pass of spatial batch normalization: batch normalization of each channel over
        the batch and both spatial axes.

        Inputs:
        - x: (N, C, H, W) data
        - gamma: (C,) scale
        - beta: (C,) shift
        - bn_param: as for BatchNorm.forward; momentum 0 forgets the old running averages at
          every step, momentum 1 never updates them (the default 0.9 works well); running_mean
          and running_var are (C,)

        Returns a tuple of:
        - out: (N, C, H, W)
        - cache: what the backward pass needs
        """
        out, cache = None, None
        # TODO: the forward pass of spatial batch normalization. A short way: rearrange x so
        # that BatchNorm.forward sees one row per (n, h, w) position and one column per channel.
        # *****START OF YOUR CODE*****
        N, C, H, W = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(-1, C)
        out_rows, cache = BatchNorm.forward(rows, gamma, beta, bn_param)
        out = out_rows.reshape(N, H, W, C).permute(0, 3, 1, 2)
        # *****END OF YOUR CODE*****

        return out, cache

    @staticmethod
    def backward(dout, cache):
        """
        Backward pass of spatial batch normalization.

        Inputs:
        - dout: (N, C, H, W) upstream derivatives
        - cache: from SpatialBatchNorm.forward

        Returns a tuple of:
        - dx: (N, C, H, W) gradient with respect to x
        - dgamma: (C,) gradient with respect to gamma
        - dbeta: (C,) gradient with respect to beta
        """
        dx, dgamma, dbeta = None, None, None
        # TODO: the backward pass of spatial batch normalization (again via BatchNorm).
        # *****START OF YOUR CODE*****
        N, C, H, W = dout.shape
        drows = dout.permute(0, 2, 3, 1).reshape(-1, C)
        dx_rows, dgamma, dbeta = BatchNorm.backward(drows, cache)
        dx = dx_rows.reshape(N, H, W, C).permute(0, 3, 1, 2)
        # *****END OF YOUR CODE*****

        return dx, dgamma, dbeta


################################################################################
# Given code (do not change): fast layers built on PyTorch's own convolution and pooling
# (differentiated by autograd), and "sandwich" layers that chain common patterns.
################################################################################

def _leaf(t):
    """A detached copy of t that records a graph from here on (for the fast layers)."""
    return t.detach().requires_grad_(True)


class FastConv(object):

    @staticmethod
    def forward(x, w, b, conv_param):
        """Convolution by torch.nn.functional.conv2d; the same interface as Conv."""
        stride, pad = conv_param['stride'], conv_param['pad']
        if not torch.is_grad_enabled():   # evaluation only (e.g. Solver.check_accuracy)
            out = torch.nn.functional.conv2d(x, w, b, stride=stride, padding=pad)
            return out, None
        tx, tw, tb = _leaf(x), _leaf(w), _leaf(b)
        out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
        cache = (tx, tw, tb, out)
        return out.detach(), cache

    @staticmethod
    def backward(dout, cache):
        if cache is None:
            raise RuntimeError('FastConv.backward: the forward pass ran with gradients disabled')
        tx, tw, tb, out = cache
        dx, dw, db = torch.autograd.grad(out, (tx, tw, tb), dout)
        return dx, dw, db


class FastMaxPool(object):

    @staticmethod
    def forward(x, pool_param):
        """Max pooling by torch.nn.functional.max_pool2d; the same interface as MaxPool."""
        kernel = (pool_param['pool_height'], pool_param['pool_width'])
        stride = pool_param['stride']
        if not torch.is_grad_enabled():
            return torch.nn.functional.max_pool2d(x, kernel, stride=stride), None
        tx = _leaf(x)
        out = torch.nn.functional.max_pool2d(tx, kernel, stride=stride)
        return out.detach(), (tx, out)

    @staticmethod
    def backward(dout, cache):
        if cache is None:
            raise RuntimeError('FastMaxPool.backward: the forward pass ran with gradients disabled')
        tx, out = cache
        dx, = torch.autograd.grad(out, (tx,), dout)
        return dx


class Conv_ReLU(object):

    @staticmethod
    def forward(x, w, b, conv_param):
        """
        Convolution followed by a ReLU.

        Inputs:
        - x: input of the convolution
        - w, b, conv_param: weights and parameters of the convolution

        Returns a tuple of:
        - out: output of the ReLU
        - cache: for the backward pass
        """
        a, conv_cache = FastConv.forward(x, w, b, conv_param)
        out, relu_cache = ReLU.forward(a)
        return out, (conv_cache, relu_cache)

    @staticmethod
    def backward(dout, cache):
        """Backward pass of conv-relu: returns (dx, dw, db)."""
        conv_cache, relu_cache = cache
        da = ReLU.backward(dout, relu_cache)
        return FastConv.backward(da, conv_cache)


class Conv_ReLU_Pool(object):

    @staticmethod
    def forward(x, w, b, conv_param, pool_param):
        """
        Convolution, ReLU, then max pooling.

        Inputs:
        - x: input of the convolution
        - w, b, conv_param: weights and parameters of the convolution
        - pool_param: parameters of the pooling

        Returns a tuple of:
        - out: output of the pooling
        - cache: for the backward pass
        """
        a, conv_cache = FastConv.forward(x, w, b, conv_param)
        s, relu_cache = ReLU.forward(a)
        out, pool_cache = FastMaxPool.forward(s, pool_param)
        return out, (conv_cache, relu_cache, pool_cache)

    @staticmethod
    def backward(dout, cache):
        """Backward pass of conv-relu-pool: returns (dx, dw, db)."""
        conv_cache, relu_cache, pool_cache = cache
        ds = FastMaxPool.backward(dout, pool_cache)
        da = ReLU.backward(ds, relu_cache)
        return FastConv.backward(da, conv_cache)


class Linear_BatchNorm_ReLU(object):

    @staticmethod
    def forward(x, w, b, gamma, beta, bn_param):
        """
        Linear layer, batch normalization, then ReLU.

        Inputs:
        - x: (N, D1) input of the linear layer
        - w, b: (D1, D2) and (D2,) weight and bias of the linear layer
        - gamma, beta: (D2,) scale and shift of the batch normalization
        - bn_param: dict of the batch normalization (see BatchNorm.forward)

        Returns a tuple of:
        - out: (N, D2) output of the ReLU
        - cache: for the backward pass
        """
        a, fc_cache = Linear.forward(x, w, b)
        a_bn, bn_cache = BatchNorm.forward(a, gamma, beta, bn_param)
        out, relu_cache = ReLU.forward(a_bn)
        return out, (fc_cache, bn_cache, relu_cache)

    @staticmethod
    def backward(dout, cache):
        """Backward pass: returns (dx, dw, db, dgamma, dbeta)."""
        fc_cache, bn_cache, relu_cache = cache
        da_bn = ReLU.backward(dout, relu_cache)
        da, dgamma, dbeta = BatchNorm.backward(da_bn, bn_cache)
        dx, dw, db = Linear.backward(da, fc_cache)
        return dx, dw, db, dgamma, dbeta


class Conv_BatchNorm_ReLU(object):

    @staticmethod
    def forward(x, w, b, gamma, beta, conv_param, bn_param):
        """Convolution, spatial batch normalization, then ReLU; returns (out, cache)."""
        a, conv_cache = FastConv.forward(x, w, b, conv_param)
        an, bn_cache = SpatialBatchNorm.forward(a, gamma, beta, bn_param)
        out, relu_cache = ReLU.forward(an)
        return out, (conv_cache, bn_cache, relu_cache)

    @staticmethod
    def backward(dout, cache):
        """Backward pass: returns (dx, dw, db, dgamma, dbeta)."""
        conv_cache, bn_cache, relu_cache = cache
        dan = ReLU.backward(dout, relu_cache)
        da, dgamma, dbeta = SpatialBatchNorm.backward(dan, bn_cache)
        dx, dw, db = FastConv.backward(da, conv_cache)
        return dx, dw, db, dgamma, dbeta


class Conv_BatchNorm_ReLU_Pool(object):

    @staticmethod
    def forward(x, w, b, gamma, beta, conv_param, bn_param, pool_param):
        """Convolution, spatial batch normalization, ReLU, then max pooling; returns
        (out, cache)."""
        a, conv_cache = FastConv.forward(x, w, b, conv_param)
        an, bn_cache = SpatialBatchNorm.forward(a, gamma, beta, bn_param)
        s, relu_cache = ReLU.forward(an)
        out, pool_cache = FastMaxPool.forward(s, pool_param)
        return out, (conv_cache, bn_cache, relu_cache, pool_cache)

    @staticmethod
    def backward(dout, cache):
        """Backward pass: returns (dx, dw, db, dgamma, dbeta)."""
        conv_cache, bn_cache, relu_cache, pool_cache = cache
        ds = FastMaxPool.backward(dout, pool_cache)
        dan = ReLU.backward(ds, relu_cache)
        da, dgamma, dbeta = SpatialBatchNorm.backward(dan, bn_cache)
        dx, dw, db = FastConv.backward(da, conv_cache)
        return dx, dw, db, dgamma, dbeta
