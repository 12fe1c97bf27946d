"""Minibatch training of models that compute their own gradients (the course's
`eecs598.Solver`, used with A3-style models whose `params` are torch tensors).

A model for the Solver has
- `model.params`: dict name -> tensor;
- `model.loss(X, y=None)`: scores (N, C) when y is None, else (loss, grads) with `grads`
  keyed like `params`.
"""
import pickle
import time

import torch


class Solver:
    """Trains `model` on data = {'X_train', 'y_train', 'X_val', 'y_val'} with an update rule.

    Keyword options and defaults (the course's): update_rule=Solver.sgd, optim_config={},
    lr_decay=1.0 (per epoch), batch_size=100, num_epochs=10, num_train_samples=1000 (training
    accuracy on a subsample; None = all), num_val_samples=None, device='cpu',
    checkpoint_name=None, print_every=10 (iterations), print_acc_every=1 (epochs),
    verbose=True. Unknown options raise ValueError.

    After `train()`: loss_history (per iteration), train_acc_history / val_acc_history (first
    iteration, every epoch end, last iteration), best_val_acc, best_params; with
    return_best_params=True the model ends with the parameters of the best validation accuracy.
    """

    _DEFAULTS = {"optim_config": {}, "lr_decay": 1.0, "batch_size": 100, "num_epochs": 10,
                 "num_train_samples": 1000, "num_val_samples": None, "device": "cpu",
                 "checkpoint_name": None, "print_every": 10, "print_acc_every": 1,
                 "verbose": True}

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = kwargs.pop("update_rule", self.sgd)
        for name, default in self._DEFAULTS.items():
            setattr(self, name, kwargs.pop(name, default))
        if kwargs:
            raise ValueError("Unrecognized arguments %s" % ", ".join('"%s"' % k for k in kwargs))
        self._reset()

    def _reset(self):
        """Book-keeping for a fresh run; every parameter gets its own copy of optim_config."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """One update on a random minibatch (drawn with torch.randperm)."""
        batch = torch.randperm(self.X_train.shape[0])[: self.batch_size]
        X_batch = self.X_train[batch].to(self.device)
        y_batch = self.y_train[batch].to(self.device)
        loss, grads = self.model.loss(X_batch, y_batch)
        self.loss_history.append(float(loss))
        with torch.no_grad():
            for name, w in self.model.params.items():
                next_w, next_config = self.update_rule(w, grads[name], self.optim_configs[name])
                self.model.params[name] = next_w
                self.optim_configs[name] = next_config

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        state = {k: getattr(self, k) for k in (
            "model", "update_rule", "lr_decay", "optim_config", "batch_size",
            "num_train_samples", "num_val_samples", "epoch", "loss_history",
            "train_acc_history", "val_acc_history")}
        filename = "%s_epoch_%d.pkl" % (self.checkpoint_name, self.epoch)
        if self.verbose:
            print('Saving checkpoint to "%s"' % filename)
        with open(filename, "wb") as f:
            pickle.dump(state, f)

    @staticmethod
    def sgd(w, dw, config=None):
        """Plain SGD step, in place: w -= learning_rate * dw (learning_rate default 1e-2)."""
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        w -= config["learning_rate"] * dw
        return w, config

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of X (a random subsample of num_samples if given) classified as y."""
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            keep = torch.randperm(N, device=self.device)[:num_samples]
            N, X, y = num_samples, X[keep], y[keep]
        X, y = X.to(self.device), y.to(self.device)
        predictions = []
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])
            predictions.append(torch.argmax(scores, dim=1))
        return (torch.cat(predictions) == y).to(torch.float).mean().item()

    def _log_loss(self, elapsed, iteration, total):
        print("(Time %.2f sec; Iteration %d / %d) loss: %f"
              % (elapsed, iteration, total, self.loss_history[-1]))

    def train(self, time_limit=None, return_best_params=True):
        """Run num_epochs epochs (stopping early when the next iteration would pass
        time_limit seconds); decay the learning rates at every epoch end."""
        iterations_per_epoch = max(self.X_train.shape[0] // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        start = previous = time.time()
        for t in range(num_iterations):
            now = time.time()
            if time_limit is not None and t > 0 and now - start + (now - previous) > time_limit:
                self._log_loss(now - start, t, num_iterations)
                print("End of training; next iteration will exceed the time limit.")
                break
            previous = now
            self._step()
            if self.verbose and t % self.print_every == 0:
                self._log_loss(time.time() - start, t + 1, num_iterations)

            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    config["learning_rate"] *= self.lr_decay
            if t == 0 or t == num_iterations - 1 or epoch_end:
                self._record_accuracies()
        if return_best_params:
            self.model.params = self.best_params

    def _record_accuracies(self):
        with torch.no_grad():
            train_acc = self.check_accuracy(self.X_train, self.y_train,
                                            num_samples=self.num_train_samples)
            val_acc = self.check_accuracy(self.X_val, self.y_val,
                                          num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._save_checkpoint()
        if self.verbose and self.epoch % self.print_acc_every == 0:
            print("(Epoch %d / %d) train acc: %f; val_acc: %f"
                  % (self.epoch, self.num_epochs, train_acc, val_acc))
        if val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_params = {k: v.clone() for k, v in self.model.params.items()}
