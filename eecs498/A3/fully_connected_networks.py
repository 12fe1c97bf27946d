"""
EECS 498-007 / 598-005 (Fall 2020) A3, part 1: fully connected networks built from modular
layers, update rules (SGD with momentum, RMSProp, Adam) and dropout, in PyTorch.

Every layer is a class with two static methods: `forward(inputs...)` returns (out, cache) and
`backward(dout, cache)` returns the gradients with respect to the inputs. Models keep their
parameters in a dict `self.params` and compute (loss, grads) in `loss(X, y)`, so that
`eecs598.Solver` can train them with any update rule below.

Do not call `.to()` / `.cuda()` in the blocks you implement: every tensor you create should
follow the device and dtype of the inputs.
"""
import random  # noqa: F401  (the course's template imports it)

import torch

from a3_helper import svm_loss, softmax_loss  # noqa: F401  (svm_loss: for your experiments)
from eecs598 import Solver


def hello_fully_connected_networks():
    """A sample function to check that the environment imports this file."""
    print('Hello from fully_connected_networks.py!')


class Linear(object):

    @staticmethod
    def forward(x, w, b):
        """
        Forward pass of a linear (fully connected) layer. Each of the N inputs x[i], of shape
        (d_1, ..., d_k), is read as one vector of D = d_1 * ... * d_k numbers and mapped to M
        outputs.

        Inputs:
        - x: (N, d_1, ..., d_k) input minibatch
        - w: (D, M) weights
        - b: (M,) biases

        Returns a tuple of:
        - out: (N, M) output, x_flat @ w + b
        - cache: (x, w, b)
        """
        out = None
        # TODO: the linear forward pass; flatten each input into a row first. Store it in out.
        # *****START OF YOUR CODE*****
        out = x.reshape(x.shape[0], -1).mm(w) + b
        # *****END OF YOUR CODE*****
        cache = (x, w, b)
        return out, cache

    @staticmethod
    def backward(dout, cache):
        """
        Backward pass of a linear layer.

        Inputs:
        - dout: (N, M) upstream derivative
        - cache: the tuple (x, w, b) of forward:
          - x: (N, d_1, ..., d_k) input
          - w: (D, M) weights
          - b: (M,) biases

        Returns a tuple of:
        - dx: (N, d_1, ..., d_k) gradient with respect to x
        - dw: (D, M) gradient with respect to w
        - db: (M,) gradient with respect to b
        """
        x, w, b = cache
        dx, dw, db = None, None, None
        # TODO: the linear backward pass; dx must have the shape of x.
        # *****START OF YOUR CODE*****
        x_flat = x.reshape(x.shape[0], -1)
        dx = dout.mm(w.t()).reshape(x.shape)
        dw = x_flat.t().mm(dout)
        db = dout.sum(dim=0)
        # *****END OF YOUR CODE*****
        return dx, dw, db


class ReLU(object):

    @staticmethod
    def forward(x):
        """
        Forward pass of a layer of rectified linear units, max(0, x) elementwise.

        Input:
        - x: a tensor of any shape

        Returns a tuple of:
        - out: a tensor of the shape of x
        - cache: x
        """
        out = None
        # TODO: the ReLU forward pass. Do not modify x in place (the cache keeps it).
        # *****START OF YOUR CODE*****
        out = x.clamp(min=0)
        # *****END OF YOUR CODE*****
        cache = x
        return out, cache

    @staticmethod
    def backward(dout, cache):
        """
        Backward pass of a layer of rectified linear units.

        Inputs:
        - dout: upstream derivative, of any shape
        - cache: the input x of forward, of the shape of dout

        Returns:
        - dx: gradient with respect to x
        """
        dx, x = None, cache
        # TODO: the ReLU backward pass. Do not modify dout or x in place.
        # *****START OF YOUR CODE*****
        # the gradient flows only where the input was positive
        dx = dout * (x > 0).to(dout.dtype)
        # *****END OF YOUR CODE*****
        return dx


# Given (do not change): a linear layer followed by a ReLU.
class Linear_ReLU(object):

    @staticmethod
    def forward(x, w, b):
        """
        A linear layer followed by a ReLU.

        Inputs:
        - x: (N, d_1, ..., d_k) input to the linear layer
        - w: (D, M), b: (M,) its weights and biases

        Returns a tuple of:
        - out: (N, M) output of the ReLU
        - cache: what backward needs
        """
        a, fc_cache = Linear.forward(x, w, b)
        out, relu_cache = ReLU.forward(a)
        cache = (fc_cache, relu_cache)
        return out, cache

    @staticmethod
    def backward(dout, cache):
        """
        Backward pass of the linear-ReLU layer: (N, M) dout -> (dx, dw, db) as in Linear.
        """
        fc_cache, relu_cache = cache
        da = ReLU.backward(dout, relu_cache)
        dx, dw, db = Linear.backward(da, fc_cache)
        return dx, dw, db


class TwoLayerNet(object):
    """
    A two-layer fully connected network, linear - ReLU - linear - softmax, built from the
    layers above, for inputs of dimension D, H hidden units and C classes. The class only
    computes loss and gradients; a separate Solver runs the optimization.

    The learnable parameters live in the dict self.params (name -> tensor):
    W1: (D, H), b1: (H,), W2: (H, C), b2: (C,).
    """

    def __init__(self, input_dim=3*32*32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=torch.float32, device='cpu'):
        """
        Inputs:
        - input_dim: D, the size of an input
        - hidden_dim: H, the size of the hidden layer
        - num_classes: C, the number of classes
        - weight_scale: standard deviation of the random initial weights
        - reg: strength of the L2 regularization
        - dtype: torch dtype of the parameters; float32 is faster, float64 is needed for
          numeric gradient checks
        - device: device of the parameters, 'cpu' or 'cuda'
        """
        self.params = {}
        self.reg = reg

        # TODO: weights drawn from a Gaussian with mean 0 and standard deviation
        # weight_scale, biases zero, stored in self.params under 'W1', 'b1' (first layer)
        # and 'W2', 'b2' (second layer), with the given dtype and device.
        # *****START OF YOUR CODE*****
        self.params['W1'] = weight_scale * torch.randn(input_dim, hidden_dim,
                                                       dtype=dtype, device=device)
        self.params['b1'] = torch.zeros(hidden_dim, dtype=dtype, device=device)
        self.params['W2'] = weight_scale * torch.randn(hidden_dim, num_classes,
                                                       dtype=dtype, device=device)
        self.params['b2'] = torch.zeros(num_classes, dtype=dtype, device=device)
        # *****END OF YOUR CODE*****

    def save(self, path):
        checkpoint = {
            'reg': self.reg,
            'params': self.params,
        }
        torch.save(checkpoint, path)
        print("Saved in {}".format(path))

    def load(self, path, dtype, device):
        checkpoint = torch.load(path, map_location='cpu')
        self.params = checkpoint['params']
        self.reg = checkpoint['reg']
        for p in self.params:
            self.params[p] = self.params[p].type(dtype).to(device)
        print("load checkpoint file: {}".format(path))

    def loss(self, X, y=None):
        """
        Loss and gradients for a minibatch.

        Inputs:
        - X: (N, d_1, ..., d_k) input data
        - y: (N,) int64 labels, y[i] the label of X[i]; optional

        Returns:
        - without y (test time): scores, (N, C), scores[i, c] the score of class c for X[i]
        - with y (training), a tuple of:
          - loss: scalar, the softmax loss averaged over the batch plus
            reg * (sum(W1 ** 2) + sum(W2 ** 2)) (no factor 1/2; biases not regularized)
          - grads: dict with the keys of self.params, grads[k] the gradient of the loss
            with respect to self.params[k]
        """
        scores = None
        # TODO: the forward pass of the two-layer net, with the layers above; the class
        # scores go in scores.
        # *****START OF YOUR CODE*****
        W1, b1 = self.params['W1'], self.params['b1']
        W2, b2 = self.params['W2'], self.params['b2']
        hidden, hidden_cache = Linear_ReLU.forward(X, W1, b1)
        scores, scores_cache = Linear.forward(hidden, W2, b2)
        # *****END OF YOUR CODE*****

        # Without labels we are at test time: the scores are all we need.
        if y is None:
            return scores

        loss, grads = 0, {}
        # TODO: the backward pass. The loss is the softmax loss (softmax_loss of a3_helper)
        # plus the L2 regularization of W1 and W2 written in the docstring, WITHOUT a factor
        # 0.5 (so that your numbers match the course's). grads[k] must hold the gradient for
        # self.params[k].
        # *****START OF YOUR CODE*****
        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + self.reg * ((W1 * W1).sum() + (W2 * W2).sum())
        dhidden, dW2, db2 = Linear.backward(dscores, scores_cache)
        _, dW1, db1 = Linear_ReLU.backward(dhidden, hidden_cache)
        grads['W1'] = dW1 + 2 * self.reg * W1
        grads['b1'] = db1
        grads['W2'] = dW2 + 2 * self.reg * W2
        grads['b2'] = db2
        # *****END OF YOUR CODE*****

        return loss, grads


class FullyConnectedNet(object):
    """
    A fully connected network with any number of hidden layers, ReLU nonlinearities and a
    softmax loss. With L layers the architecture is

        {linear - relu - [dropout]} x (L - 1) - linear - softmax

    where dropout is optional. As in TwoLayerNet, the parameters live in self.params
    (W1, b1, ..., WL, bL; Wi: (dim_{i-1}, dim_i), bi: (dim_i,)) and a Solver trains them.
    """

    def __init__(self, hidden_dims, input_dim=3*32*32, num_classes=10,
                 dropout=0.0, reg=0.0, weight_scale=1e-2, seed=None,
                 dtype=torch.float, device='cpu'):
        """
        Inputs:
        - hidden_dims: list of integers, the sizes of the hidden layers
        - input_dim: the size of an input
        - num_classes: the number of classes
        - dropout: the probability of DROPPING a hidden unit, between 0 and 1; 0 means no
          dropout layers at all
        - reg: strength of the L2 regularization
        - weight_scale: standard deviation of the random initial weights
        - seed: if not None, the dropout layers use this seed, which makes them
          deterministic (needed for gradient checks)
        - dtype: torch dtype of the parameters; float64 for numeric gradient checks
        - device: device of the parameters, 'cpu' or 'cuda'
        """
        self.use_dropout = dropout != 0
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}

        # TODO: initialize the parameters in self.params: 'W1', 'b1' for the first layer,
        # 'W2', 'b2' for the second, and so on up to layer self.num_layers. Weights from a
        # Gaussian with mean 0 and standard deviation weight_scale, biases zero.
        # *****START OF YOUR CODE*****
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(1, self.num_layers + 1):
            self.params['W%d' % i] = weight_scale * torch.randn(dims[i - 1], dims[i],
                                                                dtype=dtype, device=device)
            self.params['b%d' % i] = torch.zeros(dims[i], dtype=dtype, device=device)
        # *****END OF YOUR CODE*****

        # Every dropout layer gets the same dict dropout_param, which tells it the drop
        # probability and the mode (train / test); loss() sets the mode.
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {'mode': 'train', 'p': dropout}
            if seed is not None:
                self.dropout_param['seed'] = seed

    def save(self, path):
        checkpoint = {
            'reg': self.reg,
            'dtype': self.dtype,
            'params': self.params,
            'num_layers': self.num_layers,
            'use_dropout': self.use_dropout,
            'dropout_param': self.dropout_param,
        }
        torch.save(checkpoint, path)
        print("Saved in {}".format(path))

    def load(self, path, dtype, device):
        checkpoint = torch.load(path, map_location='cpu')
        self.params = checkpoint['params']
        self.dtype = dtype
        self.reg = checkpoint['reg']
        self.num_layers = checkpoint['num_layers']
        self.use_dropout = checkpoint['use_dropout']
        self.dropout_param = checkpoint['dropout_param']
        for p in self.params:
            self.params[p] = self.params[p].type(dtype).to(device)
        print("load checkpoint file: {}".format(path))

    def loss(self, X, y=None):
        """
        Loss and gradients of the network; inputs and outputs as in TwoLayerNet.loss, with
        the regularization 0.5 * reg * sum_i sum(Wi ** 2) (with the factor 0.5 here).
        """
        X = X.to(self.dtype)
        mode = 'test' if y is None else 'train'

        # dropout behaves differently at training and at test time
        if self.use_dropout:
            self.dropout_param['mode'] = mode
        scores = None
        # TODO: the forward pass; the class scores go in scores. With dropout, give
        # self.dropout_param to every Dropout.forward.
        # *****START OF YOUR CODE*****
        L = self.num_layers
        caches = []
        h = X
        for i in range(1, L):
            h, cache = Linear_ReLU.forward(h, self.params['W%d' % i], self.params['b%d' % i])
            drop_cache = None
            if self.use_dropout:
                h, drop_cache = Dropout.forward(h, self.dropout_param)
            caches.append((cache, drop_cache))
        scores, last_cache = Linear.forward(h, self.params['W%d' % L], self.params['b%d' % L])
        # *****END OF YOUR CODE*****

        # At test time the scores are all we need.
        if mode == 'test':
            return scores

        loss, grads = 0.0, {}
        # TODO: the backward pass. The loss is the softmax loss plus the L2 regularization
        # of all weight matrices, WITH the factor 0.5 this time (so that your numbers match
        # the course's). grads[k] must hold the gradient for self.params[k].
        # *****START OF YOUR CODE*****
        loss, dscores = softmax_loss(scores, y)
        for i in range(1, L + 1):
            W = self.params['W%d' % i]
            loss = loss + 0.5 * self.reg * (W * W).sum()
        dh, grads['W%d' % L], grads['b%d' % L] = Linear.backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            cache, drop_cache = caches[i - 1]
            if self.use_dropout:
                dh = Dropout.backward(dh, drop_cache)
            dh, grads['W%d' % i], grads['b%d' % i] = Linear_ReLU.backward(dh, cache)
        for i in range(1, L + 1):
            grads['W%d' % i] = grads['W%d' % i] + self.reg * self.params['W%d' % i]
        # *****END OF YOUR CODE*****

        return loss, grads


def create_solver_instance(data_dict, dtype, device):
    """
    A Solver that trains a TwoLayerNet (200 hidden units) on data_dict to at least 50% (the
    course's target, on the full CIFAR-10 training set) validation accuracy.

    Inputs:
    - data_dict: dict with X_train, y_train, X_val, y_val
    - dtype: torch dtype of the model
    - device: device to train on; pass it on to the Solver

    Returns: the Solver, not yet trained.
    """
    model = TwoLayerNet(hidden_dim=200, dtype=dtype, device=device)
    solver = None
    # TODO: build a Solver around model and data_dict (choose the update rule, learning rate,
    # its decay, batch size and number of epochs); give it the device.
    # *****START OF YOUR CODE*****
    solver = Solver(model, data_dict,
                    update_rule=sgd,
                    optim_config={'learning_rate': 3e-1},
                    lr_decay=0.95,
                    num_epochs=20, batch_size=100,
                    print_every=100, print_acc_every=1,
                    verbose=True, device=device)
    # *****END OF YOUR CODE*****
    return solver


def get_three_layer_network_params():
    """
    (weight_scale, learning_rate) with which a three-layer net (hidden layers [100, 100])
    trained by SGD reaches 100% training accuracy on 50 images within 20 epochs.
    """
    # TODO: change weight_scale and learning_rate (the starting values fail).
    weight_scale = 1e-2   # Experiment with this!
    learning_rate = 1e-4  # Experiment with this!
    # *****START OF YOUR CODE*****
    weight_scale = 1e-1
    learning_rate = 1e-1
    # *****END OF YOUR CODE*****
    return weight_scale, learning_rate


def get_five_layer_network_params():
    """
    (weight_scale, learning_rate) with which a five-layer net (hidden layers
    [100, 100, 100, 100]) trained by SGD reaches 100% training accuracy on 50 images within
    20 epochs.
    """
    # TODO: change weight_scale and learning_rate (the starting values fail).
    learning_rate = 2e-3  # Experiment with this!
    weight_scale = 1e-5   # Experiment with this!
    # *****START OF YOUR CODE*****
    learning_rate = 2e-1
    weight_scale = 1e-1
    # *****END OF YOUR CODE*****
    return weight_scale, learning_rate


# Given: vanilla SGD (in place).
def sgd(w, dw, config=None):
    """
    Vanilla stochastic gradient descent: w -= learning_rate * dw.

    config format:
    - learning_rate: scalar learning rate (default 1e-2)
    """
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-2)

    w -= config['learning_rate'] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """
    Stochastic gradient descent with momentum.

    Inputs:
    - w: parameters, any shape; dw: their gradient, same shape
    - config: dict with
      - learning_rate: scalar learning rate (default 1e-2)
      - momentum: scalar in [0, 1) (default 0.9); momentum = 0 gives sgd
      - velocity: a tensor shaped like w, the running velocity (default zeros)

    Returns (next_w, config), config['velocity'] updated.
    """
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('momentum', 0.9)
    v = config.get('velocity', torch.zeros_like(w))

    next_w = None
    # TODO: the momentum update: update the velocity v (decayed by the momentum, then a step
    # down the gradient), then move w by it; store the new w in next_w.
    # *****START OF YOUR CODE*****
    v = config['momentum'] * v - config['learning_rate'] * dw
    next_w = w + v
    # *****END OF YOUR CODE*****
    config['velocity'] = v

    return next_w, config


def rmsprop(w, dw, config=None):
    """
    RMSProp: per-parameter learning rates from a moving average of the squared gradients.

    Inputs:
    - w: parameters, any shape; dw: their gradient, same shape
    - config: dict with
      - learning_rate: scalar learning rate (default 1e-2)
      - decay_rate: scalar in [0, 1), the decay of the squared-gradient cache (default 0.99)
      - epsilon: small scalar that keeps the division finite (default 1e-8)
      - cache: tensor shaped like w, the moving average of dw ** 2 (default zeros)

    Returns (next_w, config), config['cache'] updated.
    """
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-2)
    config.setdefault('decay_rate', 0.99)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('cache', torch.zeros_like(w))

    next_w = None
    # TODO: the RMSProp update; store the new w in next_w and the new cache in
    # config['cache'].
    # *****START OF YOUR CODE*****
    decay = config['decay_rate']
    cache = decay * config['cache'] + (1 - decay) * dw * dw
    next_w = w - config['learning_rate'] * dw / (cache.sqrt() + config['epsilon'])
    config['cache'] = cache
    # *****END OF YOUR CODE*****

    return next_w, config


def adam(w, dw, config=None):
    """
    Adam: moving averages of the gradient and of its square, with bias correction.

    Inputs:
    - w: parameters, any shape; dw: their gradient, same shape
    - config: dict with
      - learning_rate: scalar learning rate (default 1e-3)
      - beta1: decay of the moving average of the gradient (default 0.9)
      - beta2: decay of the moving average of the squared gradient (default 0.999)
      - epsilon: small scalar that keeps the division finite (default 1e-8)
      - m: tensor shaped like w, moving average of the gradient (default zeros)
      - v: tensor shaped like w, moving average of the squared gradient (default zeros)
      - t: the iteration number (default 0)

    Returns (next_w, config), with m, v and t updated.
    """
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('m', torch.zeros_like(w))
    config.setdefault('v', torch.zeros_like(w))
    config.setdefault('t', 0)

    next_w = None
    # TODO: the Adam update; store the new w in next_w and the new m, v and t in config.
    # To match the course's numbers, increase t BEFORE you use it anywhere.
    # *****START OF YOUR CODE*****
    beta1, beta2 = config['beta1'], config['beta2']
    t = config['t'] + 1
    m = beta1 * config['m'] + (1 - beta1) * dw
    v = beta2 * config['v'] + (1 - beta2) * dw * dw
    # bias correction: early averages are pulled towards their zero start
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - config['learning_rate'] * m_hat / (v_hat.sqrt() + config['epsilon'])
    config['m'], config['v'], config['t'] = m, v, t
    # *****END OF YOUR CODE*****

    return next_w, config


class Dropout(object):

    @staticmethod
    def forward(x, dropout_param):
        """
        Forward pass of (inverted) dropout.

        Inputs:
        - x: input, a tensor of any shape
        - dropout_param: dict with
          - p: the probability of DROPPING each unit (some texts use p for keeping it)
          - mode: 'train' drops units; 'test' returns the input unchanged
          - seed: optional seed of the random number generator, which makes the pass
            deterministic (for gradient checks; not for real training)

        Returns a tuple of:
        - out: a tensor of the shape of x
        - cache: (dropout_param, mask); mask is the tensor that multiplied x in training,
          None in test mode

        Implement INVERTED dropout: scale the kept units at training time so that the
        test-time pass needs no change (cs231n.github.io/neural-networks-2/#reg).
        """
        p, mode = dropout_param['p'], dropout_param['mode']
        if 'seed' in dropout_param:
            torch.manual_seed(dropout_param['seed'])

        mask = None
        out = None

        if mode == 'train':
            # TODO: the training-time forward pass of inverted dropout; keep the mask in
            # mask.
            # *****START OF YOUR CODE*****
            keep = torch.rand_like(x) >= p
            mask = keep.to(x.dtype) / (1 - p)
            out = x * mask
            # *****END OF YOUR CODE*****
        elif mode == 'test':
            # TODO: the test-time forward pass of inverted dropout.
            # *****START OF YOUR CODE*****
            out = x
            # *****END OF YOUR CODE*****

        cache = (dropout_param, mask)
        return out, cache

    @staticmethod
    def backward(dout, cache):
        """
        Backward pass of (inverted) dropout.

        Inputs:
        - dout: upstream derivative, of any shape
        - cache: (dropout_param, mask) from Dropout.forward

        Returns:
        - dx: gradient with respect to x, of the shape of dout
        """
        dropout_param, mask = cache
        mode = dropout_param['mode']

        dx = None
        if mode == 'train':
            # TODO: the training-time backward pass of inverted dropout.
            # *****START OF YOUR CODE*****
            dx = dout * mask
            # *****END OF YOUR CODE*****
        elif mode == 'test':
            dx = dout
        return dx
