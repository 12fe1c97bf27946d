"""A k-nearest-neighbour classifier written with PyTorch tensors (EECS 498-007 Fall 2020, A1).

Conventions of the course: a distance matrix has shape (num_train, num_test) and holds
*squared* Euclidean distances between flattened samples; a tied vote goes to the smallest
label; accuracies are percentages. The distance functions may not call torch.norm, torch.dist,
torch.cdist (nor their tensor-method forms) or anything from torch.nn / torch.nn.functional.
"""
import statistics  # noqa: F401  (the course imports it here; the notebook uses it for the plot)

import torch


def hello():
    """Prints a greeting: the notebook calls it to confirm that knn.py is importable."""
    print('Hello from knn.py!')


def _flat_pair(x_train, x_test):
    """(num_train, D1, D2, ...), (num_test, D1, D2, ...) -> (num_train, D), (num_test, D) views
    (reshape copies only when a view is impossible; the inputs are never modified)."""
    if x_train.dim() < 1 or x_test.dim() < 1:
        raise ValueError('x_train and x_test need a leading sample dimension, got shapes '
                         f'{tuple(x_train.shape)} and {tuple(x_test.shape)}')
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError('training and test samples must have the same shape, got '
                         f'{tuple(x_train.shape[1:])} and {tuple(x_test.shape[1:])}')
    return x_train.reshape(x_train.shape[0], -1), x_test.reshape(x_test.shape[0], -1)


def compute_distances_two_loops(x_train, x_test):
    """
    Squared Euclidean distance between every training sample and every test sample, one pair
    at a time (two nested Python loops). Each sample is flattened to a vector first, whatever
    its shape: (num, D) vectors and (num, C, H, W) images both work. The inputs are not
    modified. Not allowed: torch.norm, torch.dist, torch.cdist (and x.norm / x.dist / x.cdist)
    and everything in torch.nn / torch.nn.functional.

    Inputs:
    - x_train: tensor of shape (num_train, D1, D2, ...)
    - x_test: tensor of shape (num_test, D1, D2, ...)

    Returns:
    - dists: tensor of shape (num_train, num_test), the dtype of x_train, with dists[i, j] the
      squared Euclidean distance between training sample i and test sample j.
    """
    # dists starts as zeros of shape (num_train, num_test), on x_train's dtype and device.
    num_train = x_train.shape[0]
    num_test = x_test.shape[0]
    dists = x_train.new_zeros(num_train, num_test)
    # TODO: fill dists with a loop over the training samples nested in (or around) a loop over
    # the test samples, one entry per iteration.
    # *****START OF YOUR CODE*****
    train_flat, test_flat = _flat_pair(x_train, x_test)
    for i in range(num_train):
        for j in range(num_test):
            diff = train_flat[i] - test_flat[j]
            dists[i, j] = (diff * diff).sum()
    # *****END OF YOUR CODE*****
    return dists


def compute_distances_one_loop(x_train, x_test):
    """
    Squared Euclidean distances as in compute_distances_two_loops, with a single Python loop
    over the training samples (each iteration fills one row of the matrix by broadcasting).
    Same inputs, output and restrictions (no norm / dist / cdist, nothing from torch.nn).

    Inputs:
    - x_train: tensor of shape (num_train, D1, D2, ...)
    - x_test: tensor of shape (num_test, D1, D2, ...)

    Returns:
    - dists: tensor of shape (num_train, num_test), dists[i, j] the squared Euclidean distance
      between training sample i and test sample j.
    """
    num_train = x_train.shape[0]
    num_test = x_test.shape[0]
    dists = x_train.new_zeros(num_train, num_test)
    # TODO: fill dists with one loop over the training samples only.
    # *****START OF YOUR CODE*****
    train_flat, test_flat = _flat_pair(x_train, x_test)
    for i in range(num_train):
        diff = test_flat - train_flat[i]          # (num_test, D) by broadcasting
        dists[i] = (diff * diff).sum(dim=1)
    # *****END OF YOUR CODE*****
    return dists


def compute_distances_no_loops(x_train, x_test):
    """
    Squared Euclidean distances as in compute_distances_two_loops, without any Python loop and
    without any intermediate tensor of O(num_train * num_test * D) elements (so no broadcast
    of every training sample against every test sample). Same restrictions (no norm / dist /
    cdist, nothing from torch.nn).

    Inputs:
    - x_train: tensor of shape (num_train, D1, D2, ...)
    - x_test: tensor of shape (num_test, D1, D2, ...)

    Returns:
    - dists: tensor of shape (num_train, num_test), dists[i, j] the squared Euclidean distance
      between training sample i and test sample j.
    """
    num_train = x_train.shape[0]
    num_test = x_test.shape[0]
    dists = x_train.new_zeros(num_train, num_test)
    # TODO: compute dists with no explicit loop. Hint: expand the square of a difference into
    # two squared norms and one inner product; the inner products of all pairs are one matrix
    # multiplication, and the squared norms join them by broadcasting.
    # *****START OF YOUR CODE*****
    train_flat, test_flat = _flat_pair(x_train, x_test)
    train_sq = (train_flat * train_flat).sum(dim=1, keepdim=True)   # (num_train, 1)
    test_sq = (test_flat * test_flat).sum(dim=1)                    # (num_test,)
    # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: addmm does the product and the scaling in one pass.
    dists = torch.addmm(train_sq + test_sq, train_flat, test_flat.t(), alpha=-2)
    # Round-off can leave tiny negative values for (near-)identical samples.
    dists.clamp_(min=0)
    # *****END OF YOUR CODE*****
    return dists


def predict_labels(dists, y_train, k=1):
    """
    Predicts the label of each test sample by a **majority vote** of its k nearest training
    samples. A tied vote goes to the **smallest** label: with k=5 and neighbour labels
    [1, 2, 1, 2, 3], labels 1 and 2 have two votes each and the prediction is 1.
    The inputs are not modified.

    Inputs:
    - dists: tensor of shape (num_train, num_test), dists[i, j] the squared Euclidean distance
      between training sample i and test sample j.
    - y_train: tensor of shape (num_train,) with the training labels, integers in
      [0, num_classes - 1].
    - k: how many nearest neighbours vote.

    Returns:
    - y_pred: int64 tensor of shape (num_test,), y_pred[j] the predicted label of test sample
      j, an integer in [0, num_classes - 1].
    """
    num_train, num_test = dists.shape
    y_pred = torch.zeros(num_test, dtype=torch.int64, device=dists.device)
    # TODO: for each test sample, find its k nearest training samples (a loop over the test
    # samples is allowed; torch.topk finds the k smallest entries) and take their majority
    # label, the smallest label among those with the most votes.
    # *****START OF YOUR CODE*****
    if not 1 <= k <= num_train:
        raise ValueError(f'k={k} must be between 1 and the number of training samples '
                         f'({num_train})')
    if y_train.shape != (num_train,):
        raise ValueError(f'y_train must have shape ({num_train},) to match dists, got '
                         f'{tuple(y_train.shape)}')
    if num_test == 0:
        return y_pred
    y_train = y_train.to(device=dists.device, dtype=torch.int64)
    # Indices of the k smallest distances in every column: (k, num_test).
    nearest = torch.topk(dists, k, dim=0, largest=False).indices
    votes_for = y_train[nearest]                                     # (k, num_test) labels
    num_classes = int(y_train.max()) + 1
    counts = torch.zeros(num_classes, num_test, dtype=torch.int64, device=dists.device)
    counts.scatter_add_(0, votes_for, torch.ones_like(votes_for))    # votes per label
    # argmax returns the first maximum, i.e. the smallest label among the tied ones.
    y_pred = counts.argmax(dim=0)
    # *****END OF YOUR CODE*****
    return y_pred


class KnnClassifier:
    def __init__(self, x_train, y_train):
        """
        A k-nearest-neighbour classifier: "training" only stores the data.

        Inputs:
        - x_train: tensor of shape (num_train, C, H, W) (any trailing shape works), the
          training samples
        - y_train: int64 tensor of shape (num_train,), the training labels
        """
        # TODO: keep the training data for predict; compute nothing here.
        # *****START OF YOUR CODE*****
        if y_train.shape != (x_train.shape[0],):
            raise ValueError(f'y_train must have shape ({x_train.shape[0]},) to match x_train, '
                             f'got {tuple(y_train.shape)}')
        self.x_train = x_train
        self.y_train = y_train
        # *****END OF YOUR CODE*****

    def predict(self, x_test, k=1):
        """
        Predicts the labels of test samples.

        Inputs:
        - x_test: tensor of shape (num_test, C, H, W), the test samples
        - k: how many nearest neighbours vote

        Returns:
        - y_test_pred: tensor of shape (num_test,), the predicted labels.
        """
        y_test_pred = None
        # TODO: use the functions above: the distances from compute_distances_no_loops, then
        # the votes from predict_labels.
        # *****START OF YOUR CODE*****
        dists = compute_distances_no_loops(self.x_train, x_test)
        y_test_pred = predict_labels(dists, self.y_train, k=k)
        # *****END OF YOUR CODE*****
        return y_test_pred

    def check_accuracy(self, x_test, y_test, k=1, quiet=False):
        """
        The accuracy of this classifier on labelled test data, printed unless quiet.

        Inputs:
        - x_test: tensor of shape (num_test, C, H, W), the test samples
        - y_test: int64 tensor of shape (num_test,), their labels
        - k: how many nearest neighbours vote
        - quiet: if True, print nothing

        Returns:
        - accuracy: the percentage of correct predictions, a Python float in [0, 100].
        """
        y_test_pred = self.predict(x_test, k=k)
        num_samples = x_test.shape[0]
        num_correct = (y_test.to(y_test_pred.device) == y_test_pred).sum().item()
        accuracy = 100.0 * num_correct / num_samples
        if not quiet:
            print(f'Got {num_correct} / {num_samples} correct; accuracy is {accuracy:.2f}%')
        return accuracy


def knn_cross_validate(x_train, y_train, num_folds=5, k_choices=None):
    """
    Cross-validation of KnnClassifier over the number of neighbours k.

    Inputs:
    - x_train: tensor of shape (num_train, C, H, W), all the training samples
    - y_train: int64 tensor of shape (num_train,), their labels
    - num_folds: how many folds to split the training data into
    - k_choices: the values of k to try (None: 1, 3, 5, 8, 10, 12, 15, 20, 50, 100)

    Returns:
    - k_to_accuracies: dict from each k to a list of num_folds accuracies (percentages), where
      k_to_accuracies[k][i] is the accuracy on fold i of a classifier with k neighbours that
      was given all the other folds as training data.
    """
    if k_choices is None:
        k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]

    # First the training data are split into num_folds folds of (nearly) equal size.
    x_train_folds = []
    y_train_folds = []
    # TODO: split x_train and y_train into num_folds consecutive folds, as two lists of
    # tensors of length num_folds, fold i of y_train holding the labels of fold i of x_train.
    # Hint: torch.chunk.
    # *****START OF YOUR CODE*****
    if not 2 <= num_folds <= x_train.shape[0]:
        raise ValueError(f'num_folds={num_folds} must be between 2 and the number of training '
                         f'samples ({x_train.shape[0]})')
    # tensor_split gives exactly num_folds folds (torch.chunk can give fewer when num_folds
    # does not divide num_train); the two agree whenever it does.
    x_train_folds = list(torch.tensor_split(x_train, num_folds))
    y_train_folds = list(torch.tensor_split(y_train, num_folds))
    # *****END OF YOUR CODE*****

    # k_to_accuracies[k] will hold one accuracy per fold for the classifier with k neighbours.
    k_to_accuracies = {}

    # TODO: for every k in k_choices and every fold, train a classifier on the other folds
    # (torch.cat), measure its accuracy on the held-out fold and store it in
    # k_to_accuracies[k] (a list with one accuracy per fold, in fold order).
    # *****START OF YOUR CODE*****
    k_to_accuracies = {k: [] for k in k_choices}
    for fold in range(num_folds):
        x_val, y_val = x_train_folds[fold], y_train_folds[fold]
        x_rest = torch.cat(x_train_folds[:fold] + x_train_folds[fold + 1:])
        y_rest = torch.cat(y_train_folds[:fold] + y_train_folds[fold + 1:])
        # The distances do not depend on k: compute them once per fold and vote for every k
        # (the same numbers as KnnClassifier(x_rest, y_rest).check_accuracy(x_val, y_val, k)).
        dists = compute_distances_no_loops(x_rest, x_val)
        for k in k_choices:
            y_pred = predict_labels(dists, y_rest, k=k)
            num_correct = (y_pred == y_val.to(y_pred.device)).sum().item()
            k_to_accuracies[k].append(100.0 * num_correct / x_val.shape[0])
    # *****END OF YOUR CODE*****

    return k_to_accuracies


def knn_get_best_k(k_to_accuracies):
    """
    The best k of a cross-validation result: the k with the highest mean accuracy over the
    folds, and the smallest such k when several share it.

    Inputs:
    - k_to_accuracies: dict from k to its list of per-fold accuracies, as returned by
      knn_cross_validate.

    Returns:
    - best_k: the best (and among equals the smallest) k.
    """
    best_k = 0
    # TODO: choose best_k from the mean accuracy of each k over its folds.
    # *****START OF YOUR CODE*****
    if not k_to_accuracies:
        raise ValueError('k_to_accuracies is empty')
    means = {k: sum(accs) / len(accs) for k, accs in k_to_accuracies.items()}
    best_mean = max(means.values())
    best_k = min(k for k, m in means.items() if m == best_mean)
    # *****END OF YOUR CODE*****
    return best_k
