"""
EECS 498-007 / 598-005 (Fall 2020) A2, part 2: a two-layer fully connected network in PyTorch.

Architecture: input -> fully connected (W1, b1) -> ReLU -> fully connected (W2, b2) -> scores,
trained with the softmax loss, averaged over the batch, plus L2 regularization of the two
weight matrices, reg * (sum(W1 * W1) + sum(W2 * W2)), without a factor 1/2 (the biases are not
regularized). The parameters live in a dict {'W1': (D, H), 'b1': (H,), 'W2': (H, C),
'b2': (C,)}. Do not call `.to()` / `.cuda()` in the blocks you implement: every tensor you
create should follow the device and dtype of the inputs.
"""
import itertools  # noqa: F401  (the course's template imports it, for the search grid)
import random
import statistics  # noqa: F401  (the course's template imports it)

import torch

from linear_classifier import sample_batch


def hello_two_layer_net():
    """A sample function to check that the environment imports this file."""
    print('Hello from two_layer_net.py!')


# Given template (do not change it): a thin object around the functions below.
class TwoLayerNet(object):
    def __init__(self, input_size, hidden_size, output_size,
                 dtype=torch.float32, device='cuda', std=1e-4):
        """
        Small random weights (std * N(0, 1)) and zero biases, in self.params:
        W1: (D, H), b1: (H,), W2: (H, C), b2: (C,).

        Inputs:
        - input_size: D, the dimension of the inputs.
        - hidden_size: H, the number of hidden units.
        - output_size: C, the number of classes.
        - dtype: dtype of the parameters.
        - device: device of the parameters.
        - std: scale of the initial weights.
        """
        # seeded here, so that the same sizes always start from the same weights
        random.seed(0)
        torch.manual_seed(0)

        self.params = {}
        self.params['W1'] = std * torch.randn(input_size, hidden_size, dtype=dtype, device=device)
        self.params['b1'] = torch.zeros(hidden_size, dtype=dtype, device=device)
        self.params['W2'] = std * torch.randn(hidden_size, output_size, dtype=dtype, device=device)
        self.params['b2'] = torch.zeros(output_size, dtype=dtype, device=device)

    def loss(self, X, y=None, reg=0.0):
        return nn_forward_backward(self.params, X, y, reg)

    def train(self, X, y, X_val, y_val,
              learning_rate=1e-3, learning_rate_decay=0.95,
              reg=5e-6, num_iters=100,
              batch_size=200, verbose=False):
        return nn_train(self.params, nn_forward_backward, nn_predict,
                        X, y, X_val, y_val,
                        learning_rate, learning_rate_decay,
                        reg, num_iters, batch_size, verbose)

    def predict(self, X):
        return nn_predict(self.params, nn_forward_backward, X)

    def save(self, path):
        torch.save(self.params, path)
        print("Saved in {}".format(path))

    def load(self, path):
        checkpoint = torch.load(path, map_location='cpu')
        self.params = checkpoint
        print("load checkpoint file: {}".format(path))


def nn_forward_pass(params, X):
    """
    The forward pass of the network: fully connected -> ReLU (hidden) -> fully connected
    (scores). For practice, write the ReLU yourself: torch.relu and torch.nn are not allowed
    here (A3 uses them).

    Inputs:
    - params: dict of tensors W1: (D, H), b1: (H,), W2: (H, C), b2: (C,).
    - X: (N, D) input data, one sample per row.

    Returns a tuple of:
    - scores: (N, C) class scores of the samples.
    - hidden: (N, H) hidden representation, after the ReLU.
    """
    W1, b1 = params['W1'], params['b1']
    W2, b2 = params['W2'], params['b2']
    N, D = X.shape

    hidden = None
    scores = None
    # TODO: compute the hidden layer (affine map, then the ReLU) and the (N, C) scores.
    # *****START OF YOUR CODE*****
    pre = X.mm(W1) + b1
    hidden = pre.clamp(min=0)
    scores = hidden.mm(W2) + b2
    # *****END OF YOUR CODE*****
    return scores, hidden


def nn_forward_backward(params, X, y=None, reg=0.0):
    """
    Loss and gradients of the two-layer network: the softmax loss averaged over the batch
    plus reg * (sum(W1 * W1) + sum(W2 * W2)) (no factor 1/2, biases not regularized).

    Inputs (params and X as in nn_forward_pass):
    - params: dict of tensors W1: (D, H), b1: (H,), W2: (H, C), b2: (C,).
    - X: (N, D) input data.
    - y: (N,) int64 labels, 0 <= y[i] < C; optional.
    - reg: (float) regularization strength.

    Returns:
    - without y: the (N, C) scores.
    - with y, a tuple of:
      - loss: scalar tensor, data loss plus regularization loss.
      - grads: dict with the keys of params; grads[k] is the gradient of the loss with
        respect to params[k], of the same shape.
    """
    W1, b1 = params['W1'], params['b1']
    W2, b2 = params['W2'], params['b2']
    N, D = X.shape

    scores, h1 = nn_forward_pass(params, X)
    # Without labels, we are done.
    if y is None:
        return scores

    loss = None
    # TODO: the loss from the scores: softmax loss averaged over the N samples plus the L2
    # regularization of W1 and W2 described above. Keep the exponentials from overflowing
    # (shift each row of scores by its maximum first).
    # *****START OF YOUR CODE*****
    shifted = scores - scores.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    data_loss = -log_probs[torch.arange(N, device=X.device), y].mean()
    loss = data_loss + reg * ((W1 * W1).sum() + (W2 * W2).sum())
    # *****END OF YOUR CODE*****

    grads = {}
    # TODO: the backward pass: the gradients of the loss with respect to W1, b1, W2 and b2,
    # in grads['W1'], grads['b1'], grads['W2'], grads['b2'] (same shapes as the parameters).
    # *****START OF YOUR CODE*****
    dscores = log_probs.exp()                       # softmax probabilities, (N, C)
    dscores[torch.arange(N, device=X.device), y] -= 1
    dscores /= N
    grads['W2'] = h1.t().mm(dscores) + 2 * reg * W2
    grads['b2'] = dscores.sum(dim=0)
    dhidden = dscores.mm(W2.t()) * (h1 > 0)         # the ReLU passes gradient where it was on
    grads['W1'] = X.t().mm(dhidden) + 2 * reg * W1
    grads['b1'] = dhidden.sum(dim=0)
    # *****END OF YOUR CODE*****
    return loss, grads


def nn_train(params, loss_func, pred_func, X, y, X_val, y_val,
             learning_rate=1e-3, learning_rate_decay=0.95,
             reg=5e-6, num_iters=100,
             batch_size=200, verbose=False):
    """
    Train the network with minibatch stochastic gradient descent, updating params in place.

    Inputs:
    - params: dict of tensors W1: (D, H), b1: (H,), W2: (H, C), b2: (C,).
    - loss_func: called as loss_func(params, X_batch, y=y_batch, reg=reg); returns
      (loss as a scalar tensor, dict of gradients with the keys of params).
    - pred_func: called as pred_func(params, loss_func, X); returns (N,) predicted labels.
    - X: (N, D) training data; y: (N,) training labels, 0 <= y[i] < C.
    - X_val: (N_val, D) validation data; y_val: (N_val,) validation labels.
    - learning_rate: (float) step size of SGD.
    - learning_rate_decay: (float) factor applied to the learning rate after each epoch.
    - reg: (float) regularization strength.
    - num_iters: (int) number of SGD steps.
    - batch_size: (int) examples per step.
    - verbose: (bool) print the loss every 100 steps.

    Returns a dict of statistics:
    - 'loss_history': the loss of every step (floats).
    - 'train_acc_history', 'val_acc_history': accuracy (fraction) on the step's minibatch and
      on the validation set, once per epoch.
    """
    num_train = X.shape[0]
    iterations_per_epoch = max(num_train // batch_size, 1)

    loss_history = []
    train_acc_history = []
    val_acc_history = []

    for it in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, num_train, batch_size)

        # loss and gradients on the minibatch
        loss, grads = loss_func(params, X_batch, y=y_batch, reg=reg)
        loss_history.append(loss.item())

        # TODO: one SGD step: move every parameter in params against its gradient in grads,
        # by learning_rate times the gradient (update the tensors of params in place or
        # replace them in the dict).
        # *****START OF YOUR CODE*****
        for name in params:
            params[name] -= learning_rate * grads[name]
        # *****END OF YOUR CODE*****

        if verbose and it % 100 == 0:
            print('iteration %d / %d: loss %f' % (it, num_iters, loss.item()))

        # Once per epoch: record train / validation accuracy and decay the learning rate.
        if it % iterations_per_epoch == 0:
            y_train_pred = pred_func(params, loss_func, X_batch)
            train_acc = (y_train_pred == y_batch).float().mean().item()
            y_val_pred = pred_func(params, loss_func, X_val)
            val_acc = (y_val_pred == y_val).float().mean().item()
            train_acc_history.append(train_acc)
            val_acc_history.append(val_acc)

            learning_rate *= learning_rate_decay

    return {
        'loss_history': loss_history,
        'train_acc_history': train_acc_history,
        'val_acc_history': val_acc_history,
    }


def nn_predict(params, loss_func, X):
    """
    Predict a label for each data point: the class with the highest score.

    Inputs:
    - params: dict of tensors W1: (D, H), b1: (H,), W2: (H, C), b2: (C,).
    - loss_func: the loss function (e.g. nn_forward_backward); called without labels it
      returns the scores.
    - X: (N, D) data points.

    Returns:
    - y_pred: (N,) int64 predicted labels, 0 <= y_pred[i] < C.
    """
    y_pred = None
    # TODO: this one is short.
    # *****START OF YOUR CODE*****
    y_pred = loss_func(params, X).argmax(dim=1)
    # *****END OF YOUR CODE*****
    return y_pred


def nn_get_search_params():
    """
    Candidate hyperparameters for TwoLayerNet: at least two values of each, and fewer than
    256 combinations in all (each one trains a network).

    Returns a tuple of:
    - learning_rates: list, e.g. [1e-3, 1e-2, ...]
    - hidden_sizes: list of hidden layer sizes, e.g. [8, 16, ...]
    - regularization_strengths: list, e.g. [1e0, 1e1, ...]
    - learning_rate_decays: list, e.g. [1.0, 0.95, ...]
    """
    learning_rates = []
    hidden_sizes = []
    regularization_strengths = []
    learning_rate_decays = []
    # TODO: your own lists (the experiments of the notebook show which ranges train well).
    # *****START OF YOUR CODE*****
    learning_rates = [1.0, 0.5]
    hidden_sizes = [256, 128]
    regularization_strengths = [1e-3, 1e-2]
    learning_rate_decays = [0.95, 0.9]
    # *****END OF YOUR CODE*****
    return learning_rates, hidden_sizes, regularization_strengths, learning_rate_decays


def find_best_net(data_dict, get_param_set_fn):
    """
    Tune the hyperparameters on the validation set: train a TwoLayerNet for each
    combination that get_param_set_fn offers and keep the one with the best validation
    accuracy.

    Inputs:
    - data_dict: dict with 'X_train' (N, D), 'y_train' (N,), 'X_val' (M, D), 'y_val' (M,);
      the networks are made with the dtype and device of X_train.
    - get_param_set_fn: function of no arguments returning (learning_rates, hidden_sizes,
      regularization_strengths, learning_rate_decays), e.g. nn_get_search_params.

    Returns a tuple of:
    - best_net: the trained TwoLayerNet with the best validation accuracy.
    - best_stat: what best_net.train() returned.
    - best_val_acc: (float) validation accuracy (fraction) of best_net.
    """
    best_net = None
    best_stat = None
    best_val_acc = 0.0
    # TODO: train one network per combination of the hyperparameters (on X_train, y_train,
    # with X_val, y_val as the validation set of .train()), measure its validation accuracy
    # and keep the best network, its statistics and its accuracy. Plot the statistics of the
    # runs (as in the notebook) while you look for good ranges.
    # *****START OF YOUR CODE*****
    X_train, y_train = data_dict['X_train'], data_dict['y_train']
    X_val, y_val = data_dict['X_val'], data_dict['y_val']
    num_classes = int(torch.cat([y_train, y_val]).max().item()) + 1
    for lr, hs, reg, decay in itertools.product(*get_param_set_fn()):
        net = TwoLayerNet(X_train.shape[1], hs, num_classes,
                          dtype=X_train.dtype, device=X_train.device)
        stats = net.train(X_train, y_train, X_val, y_val, num_iters=1000, batch_size=200,
                          learning_rate=lr, learning_rate_decay=decay, reg=reg)
        val_acc = (net.predict(X_val) == y_val).float().mean().item()
        if best_net is None or val_acc > best_val_acc:
            best_net, best_stat, best_val_acc = net, stats, val_acc
    # *****END OF YOUR CODE*****
    return best_net, best_stat, best_val_acc
