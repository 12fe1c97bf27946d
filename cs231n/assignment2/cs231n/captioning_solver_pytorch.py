"""Trains a PyTorch captioning model (classifiers.rnn_pytorch.CaptioningRNN) with Adam.

    solver = CaptioningSolverPytorch(model, data, learning_rate=5e-3, num_epochs=50,
                                     batch_size=25, verbose=True, print_every=10)
    solver.train()

`data` is what coco_utils.load_coco_data returns. The model needs a `params` dict of tensors
and `loss(features, captions)` returning a scalar tensor; autograd gives the gradients.
After train(), `solver.loss_history` holds the loss of every iteration (as numpy scalars).
"""
import torch

from .coco_utils import decode_captions, sample_coco_minibatch  # noqa: F401  (course imports)


class CaptioningSolverPytorch:
    def __init__(self, model, data, **kwargs):
        """
        Required: model, data. Optional keywords:
        - learning_rate: Adam's learning rate (default 1e-3).
        - batch_size: captions per minibatch (default 100).
        - num_epochs: passes over the training captions (default 10).
        - print_every: print the loss every this many iterations (default 10).
        - verbose: print progress (default True).
        """
        self.model = model
        self.data = data
        self.learning_rate = kwargs.pop("learning_rate", 0.001)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        if kwargs:
            raise ValueError("Unrecognized arguments %s" % ", ".join(f'"{k}"' for k in kwargs))
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.num_epochs < 0:
            raise ValueError(f"num_epochs must be >= 0, got {self.num_epochs!r}")
        # One Adam over every parameter tensor of the model (the tensors themselves, so the
        # optimizer updates model.params in place).
        self.optim = torch.optim.Adam(list(model.params.values()), self.learning_rate)
        self._reset()

    def _reset(self):
        """Book-keeping: the epoch counter and the loss history."""
        self.epoch = 0
        self.loss_history = []

    def _step(self):
        """One Adam update on a random training minibatch (np.random; called by train())."""
        captions, features, _urls = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split="train")
        captions = torch.from_numpy(captions).long()
        features = torch.from_numpy(features)
        loss = self.model.loss(features, captions)
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()
        self.loss_history.append(loss.detach().cpu().numpy())

    def train(self):
        """Run num_epochs epochs of minibatch updates; the parameters track gradients only
        while training."""
        for v in self.model.params.values():
            v.requires_grad_()
        try:
            num_train = self.data["train_captions"].shape[0]
            iterations_per_epoch = max(num_train // self.batch_size, 1)
            num_iterations = self.num_epochs * iterations_per_epoch
            for t in range(num_iterations):
                self._step()
                if self.verbose and t % self.print_every == 0:
                    print("(Iteration %d / %d) loss: %f"
                          % (t + 1, num_iterations, self.loss_history[-1]))
                if (t + 1) % iterations_per_epoch == 0:
                    self.epoch += 1
        finally:
            for v in self.model.params.values():
                v.requires_grad_(False)
