"""k-nearest-neighbour classifier with L2 distance (CS231n assignment 1)."""
import numpy as np

__all__ = ["KNearestNeighbor"]


def _check_2d(name, X):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D); got shape {X.shape}")
    return X


class KNearestNeighbor(object):
    """ a kNN classifier with L2 distance """

    def __init__(self):
        pass

    def train(self, X, y):
        """
        Train the classifier. For k-nearest neighbors this is just memorizing the training data.

        Inputs:
        - X: A numpy array of shape (num_train, D) containing the training data
          consisting of num_train samples each of dimension D.
        - y: A numpy array of shape (N,) containing the training labels, where
             y[i] is the label for X[i] (non-negative integers).
        """
        X = _check_2d("X", X)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have shape ({X.shape[0]},) to match X {X.shape}; got {y.shape}")
        if X.shape[0] == 0:
            raise ValueError("cannot train on an empty training set (X has 0 rows)")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels y must be integers; got dtype {y.dtype}")
        if y.min() < 0:
            raise ValueError(f"labels y must be non-negative; got min label {y.min()}")
        self.X_train = X
        self.y_train = y

    def predict(self, X, k=1, num_loops=0):
        """
        Predict labels for test data using this classifier.

        Inputs:
        - X: A numpy array of shape (num_test, D) containing test data consisting
             of num_test samples each of dimension D.
        - k: The number of nearest neighbors that vote for the predicted labels.
        - num_loops: Determines which implementation to use to compute distances
          between training points and testing points.

        Returns:
        - y: A numpy array of shape (num_test,) containing predicted labels for the
          test data, where y[i] is the predicted label for the test point X[i].
        """
        if not hasattr(self, "X_train"):
            raise ValueError("call train(X, y) before predict")
        X = _check_2d("X", X)
        if X.shape[1] != self.X_train.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features per row but the training data "
                             f"has {self.X_train.shape[1]} (X {X.shape} vs X_train {self.X_train.shape})")
        self._check_k(k)
        if num_loops == 0:
            dists = self.compute_distances_no_loops(X)
        elif num_loops == 1:
            dists = self.compute_distances_one_loop(X)
        elif num_loops == 2:
            dists = self.compute_distances_two_loops(X)
        else:
            raise ValueError('Invalid value %d for num_loops' % num_loops)

        return self.predict_labels(dists, k=k)

    def _check_k(self, k):
        num_train = self.X_train.shape[0]
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= num_train:
            raise ValueError(f"k must be an integer in [1, num_train={num_train}]; got k={k!r}")

    def compute_distances_two_loops(self, X):
        """
        Compute the distance between each test point in X and each training point
        in self.X_train using a nested loop over both the training data and the
        test data.

        Inputs:
        - X: A numpy array of shape (num_test, D) containing test data.

        Returns:
        - dists: A numpy array of shape (num_test, num_train) where dists[i, j]
          is the Euclidean distance between the ith test point and the jth training
          point.
        """
        num_test = X.shape[0]
        num_train = self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in range(num_test):
            for j in range(num_train):
                # TODO: Compute the L2 distance between the ith test point and the jth
                # training point, and store the result in dists[i, j]. Do not use a
                # loop over dimension, nor np.linalg.norm().
                # *****START OF YOUR CODE*****
                diff = X[i] - self.X_train[j]
                dists[i, j] = np.sqrt(np.dot(diff, diff))
                # *****END OF YOUR CODE*****
        return dists

    def compute_distances_one_loop(self, X):
        """
        Compute the distance between each test point in X and each training point
        in self.X_train using a single loop over the test data.

        Input / Output: Same as compute_distances_two_loops
        """
        num_test = X.shape[0]
        num_train = self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in range(num_test):
            # TODO: Compute the L2 distance between the ith test point and all training
            # points, and store the result in dists[i, :]. Do not use np.linalg.norm().
            # Hint: broadcasting X[i] against self.X_train gives all differences at once.
            # *****START OF YOUR CODE*****
            diff = self.X_train - X[i]
            dists[i, :] = np.sqrt(np.einsum("jd,jd->j", diff, diff))
            # *****END OF YOUR CODE*****
        return dists

    def compute_distances_no_loops(self, X):
        """
        Compute the distance between each test point in X and each training point
        in self.X_train using no explicit loops.

        Input / Output: Same as compute_distances_two_loops
        """
        num_test = X.shape[0]
        num_train = self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        # TODO: Compute the L2 distance between all test points and all training
        # points without using any explicit loops, and store the result in dists.
        # Use only basic array operations; no scipy, no np.linalg.norm(), and never
        # build a (num_test, num_train, D) temporary.
        # Hint: expand ||x - y||^2 = ||x||^2 - 2 x.y + ||y||^2; the cross term is
        # a single matrix multiplication, the rest is broadcasting.
        # *****START OF YOUR CODE*****
        test_sq = np.einsum("ij,ij->i", X, X)
        train_sq = np.einsum("ij,ij->i", self.X_train, self.X_train)
        # Work in place on the (num_test, num_train) product to avoid extra temporaries.
        dists = X @ self.X_train.T
        dists *= -2.0
        dists += test_sq[:, None]
        dists += train_sq[None, :]
        # Round-off can make tiny squared distances slightly negative.
        np.maximum(dists, 0.0, out=dists)
        np.sqrt(dists, out=dists)
        # *****END OF YOUR CODE*****
        return dists

    def predict_labels(self, dists, k=1):
        """
        Given a matrix of distances between test points and training points,
        predict a label for each test point.

        Inputs:
        - dists: A numpy array of shape (num_test, num_train) where dists[i, j]
          gives the distance betwen the ith test point and the jth training point.

        Returns:
        - y: A numpy array of shape (num_test,) containing predicted labels for the
          test data, where y[i] is the predicted label for the test point X[i].
          Equal distances are ordered by training index; a tied vote goes to the
          smaller label.
        """
        dists = _check_2d("dists", dists)
        if dists.shape[1] != self.X_train.shape[0]:
            raise ValueError(f"dists has {dists.shape[1]} columns but there are "
                             f"{self.X_train.shape[0]} training points")
        self._check_k(k)
        num_test = dists.shape[0]
        y_pred = np.zeros(num_test, dtype=self.y_train.dtype)
        # TODO: For every test point, find the labels of its k nearest training points
        # (closest_y) and take the most common one. Break vote ties by choosing the
        # smaller label. Try to avoid a Python loop over test points.
        # Hint: np.argsort (kind="stable"), np.bincount.
        # *****START OF YOUR CODE*****
        nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
        closest_y = self.y_train[nearest]                      # (num_test, k)
        num_classes = int(self.y_train.max()) + 1
        # One bincount over all rows: row i's labels are shifted by i * num_classes.
        offsets = np.arange(num_test)[:, None] * num_classes
        votes = np.bincount((closest_y + offsets).ravel(), minlength=num_test * num_classes)
        votes = votes.reshape(num_test, num_classes)
        y_pred = np.argmax(votes, axis=1).astype(self.y_train.dtype)  # first max = smaller label
        # *****END OF YOUR CODE*****
        return y_pred
