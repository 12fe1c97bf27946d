"""Trains a captioning model (CaptioningRNN) with minibatch first-order updates.

    solver = CaptioningSolver(model, data, update_rule="adam", num_epochs=50,
                              batch_size=25, optim_config={"learning_rate": 5e-3},
                              lr_decay=0.995, verbose=True, print_every=10)
    solver.train()

`data` is what coco_utils.load_coco_data returns; the model needs a `params` dict and
`loss(features, captions) -> (loss, grads)`. After train(), `solver.loss_history` holds the
loss of every iteration.
"""
import numpy as np

from . import optim
from .coco_utils import sample_coco_minibatch


class CaptioningSolver:
    def __init__(self, model, data, **kwargs):
        """
        Required: model, data. Optional keywords:
        - update_rule: name of a rule in cs231n.optim ('sgd', 'sgd_momentum', 'rmsprop',
          'adam'); default 'sgd'.
        - optim_config: hyperparameters of the rule (e.g. learning_rate), shared by every
          parameter (each parameter gets its own copy for its state).
        - lr_decay: the learning rate is multiplied by this after every epoch.
        - batch_size, num_epochs: minibatch size and number of epochs.
        - print_every: print the loss every this many iterations (when verbose).
        - verbose: print progress; progress_bar: show a tqdm bar (default True).
        """
        self.model = model
        self.data = data
        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        self.progress_bar = kwargs.pop("progress_bar", True)
        if kwargs:
            raise ValueError("Unrecognized arguments %s" % ", ".join(f'"{k}"' for k in kwargs))
        if not hasattr(optim, self.update_rule):
            raise ValueError(f'Invalid update_rule "{self.update_rule}"')
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.num_epochs < 0:
            raise ValueError(f"num_epochs must be >= 0, got {self.num_epochs!r}")
        self.update_rule = getattr(optim, self.update_rule)
        self._reset()

    def _reset(self):
        """Book-keeping: epoch counter, histories and one optimizer state per parameter."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """One gradient update on a random minibatch (called by train())."""
        captions, features, urls = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split="train")
        loss, grads = self.model.loss(features, captions)
        self.loss_history.append(loss)
        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Captioning has no accuracy in the classification sense; the notebooks measure
        sampled captions instead (the course leaves this unimplemented too)."""
        return 0.0

    def train(self):
        """Run num_epochs epochs of minibatch updates."""
        num_train = self.data["train_captions"].shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = int(self.num_epochs * iterations_per_epoch)
        bar = None
        if self.progress_bar and num_iterations:
            from tqdm.auto import tqdm
            bar = tqdm(total=num_iterations, desc="training", leave=False)
        for t in range(num_iterations):
            self._step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{self.loss_history[-1]:.3f}", refresh=False)
            if self.verbose and t % self.print_every == 0:
                msg = "(Iteration %d / %d) loss: %f" % (t + 1, num_iterations, self.loss_history[-1])
                (bar.write if bar is not None else print)(msg)
            if (t + 1) % iterations_per_epoch == 0:   # end of an epoch: decay the rate
                self.epoch += 1
                for k in self.optim_configs:
                    self.optim_configs[k]["learning_rate"] *= self.lr_decay
        if bar is not None:
            bar.close()
