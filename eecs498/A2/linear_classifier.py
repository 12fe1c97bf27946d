"""
EECS 498-007 / 598-005 (Fall 2020) A2, part 1: linear classifiers in PyTorch.

A multiclass SVM and a softmax classifier on raw CIFAR-10 pixels (with the bias trick, so
X: (N, D) has a last column of ones and W: (D, C) holds the bias in its last row). Both losses
are averaged over the batch and regularized with reg * sum(W * W), without a factor 1/2, so
the regularization gradient is 2 * reg * W. Do not call `.to()` / `.cuda()` in the blocks you
implement: every tensor you create should follow the device and dtype of the inputs.
"""
import random
import statistics  # noqa: F401  (the course's template imports it)
from abc import abstractmethod

import torch


def hello_linear_classifier():
    """A sample function to check that the environment imports this file."""
    print('Hello from linear_classifier.py!')


# Given template: the SVM and the softmax classifier share it (do not change it).
class LinearClassifier(object):
    """An abstract linear classifier: W: (D, C), scores = X @ W."""

    def __init__(self):
        random.seed(0)
        torch.manual_seed(0)
        self.W = None

    def train(self, X_train, y_train, learning_rate=1e-3, reg=1e-5, num_iters=100,
              batch_size=200, verbose=False):
        """Minibatch SGD on (X_train: (N, D), y_train: (N,)); returns the loss history."""
        train_args = (self.loss, self.W, X_train, y_train, learning_rate, reg,
                      num_iters, batch_size, verbose)
        self.W, loss_history = train_linear_classifier(*train_args)
        return loss_history

    def predict(self, X):
        """X: (N, D) -> (N,) int64 predicted labels."""
        return predict_linear_classifier(self.W, X)

    @abstractmethod
    def loss(self, W, X_batch, y_batch, reg):
        """
        The loss and its gradient; subclasses say which loss.

        Inputs:
        - W: (D, C) weights.
        - X_batch: (N, D) minibatch.
        - y_batch: (N,) labels in [0, C).
        - reg: (float) regularization strength.

        Returns a tuple (loss as a scalar tensor, dW shaped like W).
        """
        raise NotImplementedError

    def _loss(self, X_batch, y_batch, reg):
        self.loss(self.W, X_batch, y_batch, reg)

    def save(self, path):
        torch.save({'W': self.W}, path)
        print("Saved in {}".format(path))

    def load(self, path):
        W_dict = torch.load(path, map_location='cpu')
        self.W = W_dict['W']
        print("load checkpoint file: {}".format(path))


class LinearSVM(LinearClassifier):
    """A linear classifier trained with the multiclass SVM (hinge) loss."""

    def loss(self, W, X_batch, y_batch, reg):
        return svm_loss_vectorized(W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """A linear classifier trained with the softmax (cross-entropy) loss."""

    def loss(self, W, X_batch, y_batch, reg):
        return softmax_loss_vectorized(W, X_batch, y_batch, reg)


# ==================================================================================================
# Section 1: multiclass SVM
# ==================================================================================================
def svm_loss_naive(W, X, y, reg):
    """
    Multiclass SVM loss with explicit loops over the examples and the classes.

    L = 1/N sum_i sum_{j != y_i} max(0, s_ij - s_iy_i + 1) + reg * sum(W * W), s = X W
    (no factor 1/2 on the regularization).

    Inputs:
    - W: (D, C) weights.
    - X: (N, D) minibatch of data.
    - y: (N,) labels; y[i] = c means X[i] has class c, 0 <= c < C.
    - reg: (float) regularization strength.

    Returns a tuple of:
    - loss as a scalar tensor
    - dW: (D, C) gradient of the loss with respect to W
    """
    dW = torch.zeros_like(W)  # the gradient starts at zero

    # The loss is given; accumulate the gradient while it is being computed.
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = W.t().mv(X[i])
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1  # delta = 1
            if margin > 0:
                loss += margin
                # TODO: add this margin's contribution to dW (part 1): it raises the score of
                # class j and lowers the score of the correct class, each by X[i] . W[:, k].
                # *****START OF YOUR CODE*****
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
                # *****END OF YOUR CODE*****

    # The data loss is a sum over the examples so far; we want their mean.
    loss /= num_train

    # Regularization: reg * sum(W^2), no 1/2.
    loss += reg * torch.sum(W * W)

    # TODO: finish dW (part 2): average it over the examples like the loss and add the
    # gradient of the regularization term.
    # *****START OF YOUR CODE*****
    dW /= num_train
    dW += 2 * reg * W
    # *****END OF YOUR CODE*****

    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    """
    Multiclass SVM loss and gradient without explicit loops; inputs and outputs as
    svm_loss_naive (reg * sum(W * W), no 1/2).

    Inputs:
    - W: (D, C) weights.
    - X: (N, D) minibatch of data.
    - y: (N,) labels in [0, C).
    - reg: (float) regularization strength.

    Returns a tuple of:
    - loss as a scalar tensor
    - dW: (D, C) gradient of the loss with respect to W
    """
    loss = 0.0
    dW = torch.zeros_like(W)  # the gradient starts at zero

    # TODO: compute the loss without loops and store it in `loss`; then the gradient, in
    # `dW`, again without loops. The margins you compute for the loss tell you which
    # entries contribute to the gradient.
    # *****START OF YOUR CODE*****
    num_train = X.shape[0]
    rows = torch.arange(num_train, device=X.device)
    scores = X.mm(W)                                         # (N, C)
    correct = scores[rows, y].unsqueeze(1)                   # (N, 1)
    margins = (scores - correct + 1).clamp(min=0)
    margins[rows, y] = 0                                     # the correct class adds nothing
    loss = margins.sum() / num_train + reg * torch.sum(W * W)

    # d loss / d scores: +1 for each violating class, minus their count on the correct class.
    coeff = (margins > 0).to(X.dtype)
    coeff[rows, y] = -coeff.sum(dim=1)
    dW = X.t().mm(coeff) / num_train + 2 * reg * W
    # *****END OF YOUR CODE*****

    return loss, dW


def sample_batch(X, y, num_train, batch_size):
    """
    Draw a minibatch of batch_size examples, uniformly with replacement, from the first
    num_train rows of the data.

    Inputs:
    - X: (N, D) data; y: (N,) labels.
    - num_train: (int) number of rows to draw from.
    - batch_size: (int) number of examples in the batch.

    Returns a tuple of:
    - X_batch: (batch_size, D)
    - y_batch: (batch_size,), y_batch[k] the label of X_batch[k]
    """
    X_batch = None
    y_batch = None
    # TODO: draw batch_size random row indices (torch.randint) and take those rows of X and
    # the matching labels of y.
    # *****START OF YOUR CODE*****
    idx = torch.randint(num_train, (batch_size,))
    X_batch = X[idx]
    y_batch = y[idx]
    # *****END OF YOUR CODE*****
    return X_batch, y_batch


def train_linear_classifier(loss_func, W, X, y, learning_rate=1e-3,
                            reg=1e-5, num_iters=100, batch_size=200,
                            verbose=False):
    """
    Train a linear classifier with minibatch stochastic gradient descent.

    Inputs:
    - loss_func: (W, X_batch, y_batch, reg) -> (loss, dW), e.g. svm_loss_vectorized.
    - W: (D, C) initial weights, or None to start from small random weights.
    - X: (N, D) training data; y: (N,) labels in [0, C).
    - learning_rate: (float) SGD step size.
    - reg: (float) regularization strength.
    - num_iters: (int) number of SGD steps.
    - batch_size: (int) examples per step.
    - verbose: (bool) print the loss every 100 steps.

    Returns a tuple of:
    - W: (D, C) weights at the end of training
    - loss_history: list of num_iters Python floats, the minibatch loss at each step
    """
    # the labels are 0 ... C - 1
    num_train, dim = X.shape
    if W is None:
        # lazy initialization
        num_classes = torch.max(y) + 1
        W = 0.000001 * torch.randn(dim, num_classes, device=X.device, dtype=X.dtype)
    else:
        num_classes = W.shape[1]

    # stochastic gradient descent
    loss_history = []
    for it in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, num_train, batch_size)

        # loss and gradient on the minibatch
        loss, grad = loss_func(W, X_batch, y_batch, reg)
        loss_history.append(loss.item())

        # TODO: take one gradient-descent step on W with the learning rate.
        # *****START OF YOUR CODE*****
        W -= learning_rate * grad
        # *****END OF YOUR CODE*****

        if verbose and it % 100 == 0:
            print('iteration %d / %d: loss %f' % (it, num_iters, loss))

    return W, loss_history


def predict_linear_classifier(W, X):
    """
    Predict labels with a linear classifier.

    Inputs:
    - W: (D, C) weights.
    - X: (N, D) data.

    Returns:
    - y_pred: (N,) int64 tensor, the class with the highest score for each row of X, in [0, C).
    """
    y_pred = torch.zeros(X.shape[0], dtype=torch.int64)
    # TODO: store the predicted labels in y_pred.
    # *****START OF YOUR CODE*****
    y_pred = X.mm(W).argmax(dim=1)
    # *****END OF YOUR CODE*****
    return y_pred


def svm_get_search_params():
    """
    Candidate hyperparameters for the SVM: at least two of each, and fewer than 25
    combinations in all (the notebook asks for at least 5).

    Returns a tuple of:
    - learning_rates: list of learning rates, e.g. [1e-3, 1e-2, ...]
    - regularization_strengths: list of regularization strengths, e.g. [1e0, 1e1, ...]
    """
    learning_rates = []
    regularization_strengths = []
    # TODO: your own lists.
    # *****START OF YOUR CODE*****
    learning_rates = [3e-3, 1e-2]
    regularization_strengths = [3e-2, 1e-1, 3e-1]
    # *****END OF YOUR CODE*****
    return learning_rates, regularization_strengths


def test_one_param_set(cls, data_dict, lr, reg, num_iters=2000):
    """
    Train one freshly made LinearClassifier and measure it.

    Inputs:
    - cls: (LinearClassifier) a new LinearSVM() or Softmax(), trained here.
    - data_dict: dict with 'X_train' (N, D), 'y_train' (N,), 'X_val' (M, D), 'y_val' (M,).
    - lr: (float) learning rate.
    - reg: (float) regularization strength.
    - num_iters: (int) number of SGD steps.

    Returns a tuple of:
    - cls: the trained classifier, trained on (X_train, y_train) with lr and reg
    - train_acc: (float) fraction of training examples classified correctly
    - val_acc: (float) fraction of validation examples classified correctly
    """
    train_acc = 0.0  # fractions of correctly classified examples,
    val_acc = 0.0    # in [0, 1]
    # TODO: train cls on the training set for num_iters steps (other arguments at their
    # defaults), then compute its accuracy on the training and validation sets. Debug with a
    # small num_iters first, but return to the value given before you submit.
    # *****START OF YOUR CODE*****
    cls.train(data_dict['X_train'], data_dict['y_train'], learning_rate=lr, reg=reg,
              num_iters=num_iters)
    train_acc = _accuracy(cls.predict(data_dict['X_train']), data_dict['y_train'])
    val_acc = _accuracy(cls.predict(data_dict['X_val']), data_dict['y_val'])
    # *****END OF YOUR CODE*****
    return cls, train_acc, val_acc


def _accuracy(y_pred, y):
    """Fraction of equal entries of two (N,) label tensors, as a Python float."""
    return (y_pred == y).double().mean().item()


# ==================================================================================================
# Section 2: softmax
# ==================================================================================================
def softmax_loss_naive(W, X, y, reg):
    """
    Softmax (cross-entropy) loss with explicit loops.

    L = 1/N sum_i -log(exp(s_iy_i) / sum_j exp(s_ij)) + reg * sum(W * W), s = X W
    (no factor 1/2 on the regularization).

    Inputs:
    - W: (D, C) weights.
    - X: (N, D) minibatch of data.
    - y: (N,) labels in [0, C).
    - reg: (float) regularization strength.

    Returns a tuple of:
    - loss as a scalar tensor
    - dW: (D, C) gradient of the loss with respect to W
    """
    loss = 0.0
    dW = torch.zeros_like(W)
    # TODO: the loss in `loss` and its gradient in `dW`, looping over the examples (and
    # classes). Keep it numerically stable: exp of large scores overflows, and subtracting
    # the largest score of a row changes no probability. Add the regularization.
    # *****START OF YOUR CODE*****
    num_train, num_classes = X.shape[0], W.shape[1]
    for i in range(num_train):
        scores = W.t().mv(X[i])
        scores = scores - scores.max()           # shift: the probabilities are unchanged
        log_norm = torch.log(torch.exp(scores).sum())
        loss += log_norm - scores[y[i]]
        # d loss_i / d scores = softmax(scores) - one_hot(y_i); each class column of dW
        # gathers it times X[i].
        dscores = torch.exp(scores - log_norm)
        dscores[y[i]] -= 1
        for j in range(num_classes):
            dW[:, j] += dscores[j] * X[i]
    loss = loss / num_train + reg * torch.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    # *****END OF YOUR CODE*****
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax loss and gradient without explicit loops; inputs and outputs as
    softmax_loss_naive (reg * sum(W * W), no 1/2).
    """
    loss = 0.0
    dW = torch.zeros_like(W)
    # TODO: the loss in `loss` and its gradient in `dW`, with no loops; numerically stable,
    # regularization included.
    # *****START OF YOUR CODE*****
    num_train = X.shape[0]
    rows = torch.arange(num_train, device=X.device)
    scores = X.mm(W)
    scores = scores - scores.max(dim=1, keepdim=True).values
    log_probs = scores - torch.logsumexp(scores, dim=1, keepdim=True)
    loss = -log_probs[rows, y].mean() + reg * torch.sum(W * W)

    # d loss / d scores = (softmax - one_hot(y)) / N
    dscores = torch.exp(log_probs)
    dscores[rows, y] -= 1
    dW = X.t().mm(dscores) / num_train + 2 * reg * W
    # *****END OF YOUR CODE*****
    return loss, dW


def softmax_get_search_params():
    """
    Candidate hyperparameters for the softmax classifier: at least two of each, and fewer
    than 25 combinations in all (the notebook asks for at least 5).

    Returns a tuple of:
    - learning_rates: list of learning rates, e.g. [1e-3, 1e-2, ...]
    - regularization_strengths: list of regularization strengths, e.g. [1e0, 1e1, ...]
    """
    learning_rates = []
    regularization_strengths = []
    # TODO: your own lists; start from the SVM's, the softmax may prefer other values.
    # *****START OF YOUR CODE*****
    learning_rates = [3e-2, 1e-1]
    regularization_strengths = [1e-3, 1e-2, 1e-1]
    # *****END OF YOUR CODE*****
    return learning_rates, regularization_strengths
