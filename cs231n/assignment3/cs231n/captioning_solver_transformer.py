"""Trains a Transformer captioning model (CaptioningTransformer) with Adam (given code).

    solver = CaptioningSolverTransformer(model, data, idx_to_word=data['idx_to_word'],
                                         num_epochs=100, batch_size=25, learning_rate=1e-3,
                                         verbose=True, print_every=10)
    solver.train()

`data` is what coco_utils.load_coco_data returns. The model is an nn.Module with a `_null`
attribute (the <NULL> id) whose forward(features (N, D), captions (N, T)) returns scores
(N, T, V); autograd computes the gradients. After train(), `solver.loss_history` holds the
loss of every iteration.
"""
import numpy as np
import torch

from . import optim  # noqa: F401  (imported by the course's version as well)
from .coco_utils import decode_captions, sample_coco_minibatch  # noqa: F401


class CaptioningSolverTransformer:
    def __init__(self, model, data, idx_to_word, **kwargs):
        """
        Required: model, data (from load_coco_data), idx_to_word (the vocabulary list).
        Optional keywords:
        - learning_rate: Adam's learning rate (default 0.001).
        - batch_size: minibatch size (default 100).
        - num_epochs: number of epochs (default 10).
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
        self.optim = torch.optim.Adam(self.model.parameters(), self.learning_rate)

        if len(kwargs) > 0:
            extra = ", ".join('"%s"' % k for k in list(kwargs.keys()))
            raise ValueError("Unrecognized arguments %s" % extra)

        self._reset()
        self.idx_to_word = idx_to_word

    def _reset(self):
        """Book-keeping for a fresh optimization (called by the constructor)."""
        self.epoch = 0
        self.loss_history = []

    def _step(self):
        """One update on a random minibatch: predict each next word from the words before it."""
        captions, features, urls = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split="train")

        # the model sees words 0..T-2 and is scored on words 1..T-1; <NULL> targets don't count
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self.model._null

        logits = self.model(torch.Tensor(features), torch.LongTensor(captions_in))
        loss = self.transformer_temporal_softmax_loss(
            logits, torch.LongTensor(captions_out), torch.LongTensor(mask))
        self.loss_history.append(loss.detach().numpy())

        self.optim.zero_grad()
        loss.backward()
        self.optim.step()

    def train(self):
        """Run num_epochs epochs of minibatch updates."""
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

    def transformer_temporal_softmax_loss(self, x, y, mask):
        """
        Masked cross-entropy over all timesteps.

        Inputs:
        - x: scores, (N, T, V).
        - y: target word ids, (N, T), each in [0, V).
        - mask: (N, T), 1 where the prediction counts, 0 where the target is padding.

        Returns:
        - loss: scalar tensor, the masked per-position cross-entropies averaged over all N * T
          positions (masked positions count as zeros in that average, as in the course).
        """
        N, T, V = x.shape
        losses = torch.nn.functional.cross_entropy(
            x.reshape(N * T, V), y.reshape(N * T), reduction="none")
        return torch.mean(losses * mask.reshape(N * T))
