"""Structured (multiclass) SVM loss, naive and vectorized (CS231n assignment 1)."""
import numpy as np


def svm_loss_naive(W, X, y, reg):
    """
    Structured SVM loss function, naive implementation (with loops).

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
    dW = np.zeros(W.shape)  # initialize the gradient as zero

    # compute the loss and the gradient
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1  # note delta = 1
            if margin > 0:
                loss += margin
                # TODO: accumulate the gradient of this margin term into dW (one column
                # gains X[i], the correct class's column loses it).
                # *****START OF YOUR CODE*****
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
                # *****END OF YOUR CODE*****

    # Right now the loss is a sum over all training examples, but we want it
    # to be an average instead so we divide by num_train.
    loss /= num_train

    # Add regularization to the loss.
    loss += reg * np.sum(W * W)

    # TODO: Compute the gradient of the loss function and store it in dW: average the
    # data term like the loss, then add the gradient of reg * sum(W * W).
    # *****START OF YOUR CODE*****
    dW /= num_train
    dW += 2 * reg * W
    # *****END OF YOUR CODE*****

    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    """
    Structured SVM loss function, vectorized implementation.

    Inputs and outputs are the same as svm_loss_naive.
    """
    loss = 0.0
    dW = np.zeros(W.shape)  # initialize the gradient as zero

    # TODO: Implement a vectorized version of the structured SVM loss, storing the
    # result in loss. No loops.
    # *****START OF YOUR CODE*****
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W                                        # (N, C)
    correct = scores[rows, y][:, None]                    # (N, 1)
    margins = scores - correct + 1.0
    margins[rows, y] = 0.0                                # the correct class is not a margin
    np.maximum(margins, 0.0, out=margins)
    loss = margins.sum() / num_train + reg * np.sum(W * W)
    # *****END OF YOUR CODE*****

    # TODO: Implement a vectorized version of the gradient for the structured SVM
    # loss, storing the result in dW. No loops.
    # Hint: reuse the margins from the loss: build an (N, C) coefficient matrix
    # saying how many times each row of X is added to / subtracted from each column.
    # *****START OF YOUR CODE*****
    coeff = (margins > 0).astype(X.dtype)                 # +1 for every active margin
    coeff[rows, y] = -coeff.sum(axis=1)                   # correct class: minus their count
    dW = X.T @ coeff
    dW /= num_train
    dW += 2 * reg * W
    # *****END OF YOUR CODE*****

    return loss, dW
