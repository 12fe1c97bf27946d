"""Training loop for the DDPM of CS231n 2025 assignment 3 (given code).

`Trainer(diffusion_model, dataset, device, ...)` trains a GaussianDiffusion with Adam on
batches of the dataset, clipping the gradient norm at 1; every `save_every` steps it writes
the checkpoint `{results_folder}/model-{step}.pt` = {"step", "model" (the diffusion's
state_dict, network included), "opt" (the optimizer's state_dict)}, and every `sample_every`
steps a grid of samples `sample-{step}.png`. `.load(milestone)` reads such a checkpoint.
"""
import math
import os

import torch
from torch.optim import Adam
from torch.utils.data import DataLoader
from torchvision.utils import save_image
from tqdm.auto import tqdm


def cycle(dl):
    """Endless iterator over a DataLoader (reshuffled each pass)."""
    while True:
        for batch in dl:
            yield batch


class Trainer(object):
    def __init__(
        self,
        diffusion_model,
        dataset,
        device,
        *,
        train_batch_size=256,
        train_lr=1e-3,
        weight_decay=0.0,
        train_num_steps=100000,
        adam_betas=(0.9, 0.99),
        sample_every=1000,
        save_every=10000,
        results_folder=None,
    ):
        super().__init__()
        assert results_folder is not None, "must specify results folder"
        self.diffusion_model = diffusion_model
        self.device = device
        self.num_samples = 25
        self.save_every = save_every
        self.sample_every = sample_every
        self.batch_size = train_batch_size
        self.train_num_steps = train_num_steps

        self.ds = dataset
        self.dl = cycle(DataLoader(self.ds, batch_size=train_batch_size, shuffle=True,
                                   pin_memory=False, num_workers=0))
        self.opt = Adam(diffusion_model.parameters(), lr=train_lr, betas=adam_betas,
                        weight_decay=weight_decay)
        self.results_folder = results_folder
        os.makedirs(self.results_folder, exist_ok=True)
        self.step = 0

    def save(self, milestone):
        path = os.path.join(self.results_folder, f"model-{milestone}.pt")
        print(f"saving model to {path}.")
        torch.save({"step": self.step, "model": self.diffusion_model.state_dict(),
                    "opt": self.opt.state_dict()}, path)

    def load(self, milestone):
        path = os.path.join(self.results_folder, f"model-{milestone}.pt")
        print(f"loading model from {path}.")
        data = torch.load(path, map_location=self.device, weights_only=True)
        self.diffusion_model.load_state_dict(data["model"])
        self.step = data["step"]
        self.opt.load_state_dict(data["opt"])
        # model and optimizer state on the trainer's device
        self.diffusion_model.to(self.device)
        for state in self.opt.state.values():
            for key, value in state.items():
                if isinstance(value, torch.Tensor):
                    state[key] = value.to(self.device)

    def train(self):
        """Train until step == train_num_steps; returns the list of the steps' losses."""
        device = self.device
        self.diffusion_model.to(device)
        losses = []
        with tqdm(initial=self.step, total=self.train_num_steps) as pbar:
            while self.step < self.train_num_steps:
                data, model_kwargs = next(self.dl)
                data = data.to(device)
                model_kwargs["text_emb"] = model_kwargs["text_emb"].to(device)

                self.opt.zero_grad()
                loss = self.diffusion_model.p_losses(data, model_kwargs=model_kwargs)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.diffusion_model.parameters(), 1.0)
                self.opt.step()

                pbar.set_description(f"loss: {loss.item():.4f}")
                losses.append(loss.item())
                self.step += 1

                if self.step % self.save_every == 0:
                    self.save(self.step)
                if self.step % self.sample_every == 0:
                    self.diffusion_model.eval()
                    with torch.no_grad():
                        kwargs = self.ds.random_model_kwargs(self.num_samples)
                        kwargs["text_emb"] = kwargs["text_emb"].to(device)
                        images = self.diffusion_model.sample(batch_size=self.num_samples,
                                                             model_kwargs=kwargs)
                    save_image(images, os.path.join(self.results_folder, f"sample-{self.step}.png"),
                               nrow=int(math.sqrt(self.num_samples)))
                    # back to training mode (dropout, condition dropping); the course's given
                    # loop stays in eval mode after its first sampling
                    self.diffusion_model.train()
                pbar.update(1)
        return losses
