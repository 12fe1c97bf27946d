"""Linear classifiers trained by minibatch SGD (CS231n assignment 1)."""
from __future__ import print_function

import numpy as np

from cs231n.classifiers.linear_svm import *  # noqa: F401,F403
from cs231n.classifiers.softmax import *  # noqa: F401,F403
from cs231n.classifiers.linear_svm import svm_loss_vectorized
from cs231n.classifiers.softmax import softmax_loss_vectorized

__all__ = ["LinearClassifier", "LinearSVM", "Softmax",
           "svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized"]


class LinearClassifier(object):

    def __init__(self):
        self.W = None

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100,
              batch_size=200, verbose=False):
        """
        Train this linear classifier using stochastic gradient descent.

        Inputs:
        - X: A numpy array of shape (N, D) containing training data; there are N
          training samples each of dimension D.
        - y: A numpy array of shape (N,) containing training labels; y[i] = c
          means that X[i] has label 0 <= c < C for C classes.
        - learning_rate: (float) learning rate for optimization.
        - reg: (float) regularization strength.
        - num_iters: (integer) number of steps to take when optimizing
        - batch_size: (integer) number of training examples to use at each step.
        - verbose: (boolean) If true, print progress during optimization.

        Outputs:
        A list containing the value of the loss function at each training iteration.
        """
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (N, D); got shape {X.shape}")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have shape ({X.shape[0]},) to match X {X.shape}; got {y.shape}")
        if X.shape[0] == 0:
            raise ValueError("cannot train on an empty training set (X has 0 rows)")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels y must be integers; got dtype {y.dtype}")
        if y.min() < 0:
            raise ValueError(f"labels y must be non-negative; got min label {y.min()}")
        if self.W is not None:
            if self.W.shape[0] != X.shape[1]:
                raise ValueError(f"X has {X.shape[1]} features but W has shape {self.W.shape} "
                                 f"(expects {self.W.shape[0]} features)")
            if y.max() >= self.W.shape[1]:
                raise ValueError(f"label {y.max()} is out of range for W with "
                                 f"{self.W.shape[1]} classes (shape {self.W.shape})")
        if batch_size < 1 or num_iters < 0:
            raise ValueError(f"need batch_size >= 1 and num_iters >= 0; got {batch_size}, {num_iters}")

        num_train, dim = X.shape
        num_classes = np.max(y) + 1  # assume y takes values 0...K-1 where K is number of classes
        if self.W is None:
            # lazily initialize W
            self.W = 0.001 * np.random.randn(dim, num_classes)

        # Run stochastic gradient descent to optimize W
        loss_history = []
        for it in range(num_iters):
            X_batch = None
            y_batch = None

            # TODO: Sample batch_size elements from the training data and their
            # corresponding labels to use in this round of gradient descent.
            # Store the data in X_batch and its labels in y_batch: X_batch has
            # shape (batch_size, dim), y_batch (batch_size,).
            # Hint: np.random.choice; sampling with replacement is faster.
            # *****START OF YOUR CODE*****
            idx = np.random.choice(num_train, batch_size, replace=True)
            X_batch = X[idx]
            y_batch = y[idx]
            # *****END OF YOUR CODE*****

            # evaluate loss and gradient
            loss, grad = self.loss(X_batch, y_batch, reg)
            loss_history.append(loss)

            # perform parameter update
            # TODO: Update the weights using the gradient and the learning rate.
            # *****START OF YOUR CODE*****
            self.W -= learning_rate * grad
            # *****END OF YOUR CODE*****

            if verbose and it % 100 == 0:
                print('iteration %d / %d: loss %f' % (it, num_iters, loss))

        return loss_history

    def predict(self, X):
        """
        Use the trained weights of this linear classifier to predict labels for
        data points.

        Inputs:
        - X: A numpy array of shape (N, D) containing training data; there are N
          training samples each of dimension D.

        Returns:
        - y_pred: Predicted labels for the data in X. y_pred is a 1-dimensional
          array of length N, and each element is an integer giving the predicted
          class.
        """
        if self.W is None:
            raise ValueError("call train(X, y) before predict")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.W.shape[0]:
            raise ValueError(f"X must have shape (N, {self.W.shape[0]}) to match W {self.W.shape}; "
                             f"got {X.shape}")
        y_pred = np.zeros(X.shape[0])
        # TODO: Implement this method. Store the predicted labels in y_pred.
        # *****START OF YOUR CODE*****
        y_pred = np.argmax(X @ self.W, axis=1)
        # *****END OF YOUR CODE*****
        return y_pred

    def loss(self, X_batch, y_batch, reg):
        """
        Compute the loss function and its derivative.
        Subclasses will override this.

        Inputs:
        - X_batch: A numpy array of shape (N, D) containing a minibatch of N
          data points; each point has dimension D.
        - y_batch: A numpy array of shape (N,) containing labels for the minibatch.
        - reg: (float) regularization strength.

        Returns: A tuple containing:
        - loss as a single float
        - gradient with respect to self.W; an array of the same shape as W
        """
        pass


class LinearSVM(LinearClassifier):
    """ A subclass that uses the Multiclass SVM loss function """

    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """ A subclass that uses the Softmax + Cross-entropy loss function """

    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
