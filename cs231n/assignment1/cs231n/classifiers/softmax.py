"""Softmax (multinomial logistic regression) loss, naive and vectorized (CS231n assignment 1)."""
import numpy as np


def softmax_loss_naive(W, X, y, reg):
    """
    Softmax loss function, naive implementation (with loops)

    Inputs have dimension D, there are C classes, and we operate on minibatches
    of N examples.

    Inputs:
    - W: A numpy array of shape (D, C) containing weights.
    - X: A numpy array of shape (N, D) containing a minibatch of data.
    - y: A numpy array of shape (N,) containing training labels; y[i] = c means
      that X[i] has label c, where 0 <= c < C.
    - reg: (float) regularization strength

    Returns a tuple of:
    - loss as single float
    - gradient with respect to weights W; an array of same shape as W
    """
    # Initialize the loss and gradient to zero.
    loss = 0.0
    dW = np.zeros_like(W)

    # TODO: Compute the softmax loss and its gradient using explicit loops.
    # Store the loss in loss and the gradient in dW. Subtract the largest score
    # before exponentiating (numeric stability). Average over the N examples and
    # add reg * sum(W * W) (and its gradient).
    # *****START OF YOUR CODE*****
    num_train, num_classes = X.shape[0], W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores = scores - np.max(scores)  # shift: exp never overflows, loss unchanged
        exp_scores = np.exp(scores)
        total = np.sum(exp_scores)
        loss += np.log(total) - scores[y[i]]
        for j in range(num_classes):
            p = exp_scores[j] / total
            dW[:, j] += (p - (j == y[i])) * X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    # *****END OF YOUR CODE*****

    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax loss function, vectorized version.

    Inputs and outputs are the same as softmax_loss_naive.
    """
    # Initialize the loss and gradient to zero.
    loss = 0.0
    dW = np.zeros_like(W)

    # TODO: Compute the softmax loss and its gradient using no explicit loops.
    # Store the loss in loss and the gradient in dW. Remember numeric stability
    # and the regularization term.
    # *****START OF YOUR CODE*****
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W                                        # (N, C)
    scores -= scores.max(axis=1, keepdims=True)           # stability shift per row
    correct = scores[rows, y]                             # shifted correct-class scores
    np.exp(scores, out=scores)
    sums = scores.sum(axis=1)                             # >= 1 after the shift: log is safe
    loss = (np.sum(np.log(sums)) - np.sum(correct)) / num_train + reg * np.sum(W * W)
    probs = scores
    probs /= sums[:, None]                                # softmax probabilities, in place
    probs[rows, y] -= 1.0                                 # dL/dscores = p - onehot(y)
    dW = X.T @ probs
    dW /= num_train
    dW += 2 * reg * W
    # *****END OF YOUR CODE*****

    return loss, dW
