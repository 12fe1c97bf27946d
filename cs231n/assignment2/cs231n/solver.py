"""Solver: trains a classification model with minibatch gradient descent (given code).

    data = {"X_train": ..., "y_train": ..., "X_val": ..., "y_val": ...}
    model = MyAwesomeModel(hidden_size=100, reg=10)
    solver = Solver(model, data, update_rule="sgd",
                    optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
                    num_epochs=10, batch_size=100, print_every=100)
    solver.train()

After train(), model.params holds the parameters that scored best on the validation set,
and solver.loss_history, solver.train_acc_history, solver.val_acc_history hold the history.

A model must have:
- model.params: dict from parameter name to numpy array
- model.loss(X, y): (loss, grads) in training mode, grads having the keys of model.params;
  model.loss(X) (y=None): class scores (N, C) in test mode.
"""
import os
import pickle

import numpy as np

from . import optim

try:  # the one-line error type of the project, when available
    from dl4cv.errors import DL4CVError as _Base
except ImportError:  # pragma: no cover - the course code also runs without dl4cv
    _Base = RuntimeError


class NonFiniteLossError(_Base, FloatingPointError):
    """Training stopped because the loss became NaN or infinite; `iteration` says when.
    The model keeps the best parameters found before that point."""

    def __init__(self, message, iteration):
        super().__init__(message)
        self.iteration = iteration


class Solver(object):
    """Optimizes a model's params with one of the update rules of optim.py.

    Required arguments: model, data (dict with X_train, y_train, X_val, y_val).
    Optional keyword arguments:
    - update_rule: name of a function in optim.py (default "sgd")
    - optim_config: hyperparameters passed to the update rule (each parameter gets its own
      copy, which also holds that parameter's optimizer state)
    - lr_decay: the learning rate is multiplied by this after every epoch (default 1.0)
    - batch_size (100), num_epochs (10)
    - num_train_samples: training images used to estimate training accuracy (1000; None for
      all); num_val_samples: validation images (None for all)
    - checkpoint_name: if given, a pickle is written after every epoch
    - print_every: print the loss every this many iterations (10); verbose (True)
    """

    def __init__(self, model, data, **kwargs):
        if not isinstance(getattr(model, "params", None), dict) or not model.params:
            raise ValueError(f"Solver: the model ({type(model).__name__}) must have a non-empty "
                             "dict `params` of parameter arrays")
        if not callable(getattr(model, "loss", None)):
            raise ValueError(f"Solver: the model ({type(model).__name__}) must have a method "
                             "loss(X, y=None)")
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise ValueError(f"Solver: data is missing {missing}")
        for split in ("train", "val"):
            X, y = data[f"X_{split}"], data[f"y_{split}"]
            if len(X) != len(y):
                raise ValueError(f"Solver: X_{split} has {len(X)} examples but y_{split} has "
                                 f"{len(y)}")
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]

        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.num_train_samples = kwargs.pop("num_train_samples", 1000)
        self.num_val_samples = kwargs.pop("num_val_samples", None)
        self.checkpoint_name = kwargs.pop("checkpoint_name", None)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        if kwargs:
            raise ValueError("Solver: unrecognized arguments %s" % ", ".join(kwargs))
        if not hasattr(optim, self.update_rule):
            raise ValueError(f'Solver: invalid update_rule "{self.update_rule}"')
        self.update_rule = getattr(optim, self.update_rule)
        if self.batch_size < 1 or self.num_epochs < 0:
            raise ValueError(f"Solver: need batch_size >= 1 and num_epochs >= 0, got "
                             f"{self.batch_size} and {self.num_epochs}")
        self._reset()

    def _reset(self):
        """Book-keeping variables; not meant to be called by hand."""
        self.epoch = 0
        self.best_val_acc = 0
        # training accuracy at the check where the validation accuracy was best (the widely
        # shared public 2020 copy of FullyConnectedNets reads solver.best_train_acc)
        self.best_train_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        # one copy of optim_config per parameter
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """One gradient update on a random minibatch. Returns the minibatch loss."""
        num_train = self.X_train.shape[0]
        batch_mask = np.random.choice(num_train, self.batch_size)
        X_batch, y_batch = self.X_train[batch_mask], self.y_train[batch_mask]

        loss, grads = self.model.loss(X_batch, y_batch)
        if not np.isfinite(loss):
            return loss  # train() stops before touching the parameters
        self.loss_history.append(loss)
        for p, w in self.model.params.items():
            if p not in grads:
                raise ValueError(f"Solver: model.loss returned no gradient for parameter {p!r}")
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config
        return loss

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        checkpoint = {
            "model": self.model, "update_rule": self.update_rule, "lr_decay": self.lr_decay,
            "optim_config": self.optim_config, "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples, "num_val_samples": self.num_val_samples,
            "epoch": self.epoch, "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history, "val_acc_history": self.val_acc_history,
        }
        filename = "%s_epoch_%d.pkl" % (self.checkpoint_name, self.epoch)
        if self.verbose:
            print('Saving checkpoint to "%s"' % filename)
        os.makedirs(os.path.dirname(os.path.abspath(filename)), exist_ok=True)
        with open(filename, "wb") as f:
            pickle.dump(checkpoint, f)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Accuracy of the model on (X, y), on a random subset of num_samples if given."""
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            mask = np.random.choice(N, num_samples)
            N, X, y = num_samples, X[mask], y[mask]
        y_pred = []
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])
            y_pred.append(np.argmax(scores, axis=1))
        y_pred = np.hstack(y_pred) if y_pred else np.zeros(0, dtype=int)
        return float(np.mean(y_pred == y)) if N else 0.0

    def _restore_best(self):
        for k, v in self.best_params.items():
            self.model.params[k] = v.copy()

    def train(self):
        """Run the optimization. Afterwards model.params are the best ones on validation."""
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch

        for t in range(num_iterations):
            loss = self._step()
            if not np.isfinite(loss):
                self._restore_best()
                kept = (f"kept the best parameters so far (val acc {self.best_val_acc:.4f})"
                        if self.best_params else "no earlier parameters to keep")
                raise NonFiniteLossError(
                    f"Solver: loss became {loss} at iteration {t + 1} / {num_iterations} "
                    f"(epoch {self.epoch}); {kept}. Try a smaller learning rate or weight scale.",
                    iteration=t + 1)

            if self.verbose and t % self.print_every == 0:
                print("(Iteration %d / %d) loss: %f" % (t + 1, num_iterations, loss))

            # at the end of every epoch: next epoch number, decayed learning rate
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for k in self.optim_configs:
                    self.optim_configs[k]["learning_rate"] *= self.lr_decay

            # accuracies at the first iteration, the last one and every epoch end
            first_it = t == 0
            last_it = t == num_iterations - 1
            if first_it or last_it or epoch_end:
                train_acc = self.check_accuracy(self.X_train, self.y_train,
                                                num_samples=self.num_train_samples)
                val_acc = self.check_accuracy(self.X_val, self.y_val,
                                              num_samples=self.num_val_samples)
                self.train_acc_history.append(train_acc)
                self.val_acc_history.append(val_acc)
                self._save_checkpoint()
                if self.verbose:
                    print("(Epoch %d / %d) train acc: %f; val_acc: %f"
                          % (self.epoch, self.num_epochs, train_acc, val_acc))
                if val_acc > self.best_val_acc or not self.best_params:
                    self.best_val_acc = val_acc
                    self.best_train_acc = train_acc
                    self.best_params = {k: v.copy() for k, v in self.model.params.items()}

        # keep the best parameters
        self._restore_best()
