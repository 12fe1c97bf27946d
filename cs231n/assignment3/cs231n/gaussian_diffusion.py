"""Gaussian diffusion (DDPM, Ho et al. 2020) around a denoising network.

CS231n 2025 assignment 3, DDPM.ipynb. `GaussianDiffusion` holds the noise schedule and the
coefficients of the forward process q(x_t | x_0) and of its posterior q(x_{t-1} | x_t, x_0) as
buffers, trains the network with the denoising loss (`p_losses`) and samples from it by
running the reverse process (`sample`, one `p_sample` per step).

Shapes: images x are (b, 3, H, W) in [-1, 1] inside the diffusion (`normalize` maps the data's
[0, 1] there, `unnormalize` back); time steps t are (b,) long tensors in [0, T).
The network is called as `self.model(x_t, t, model_kwargs)`.
"""
import math

import torch
import torch.nn as nn
from tqdm.auto import tqdm


class GaussianDiffusion(nn.Module):
    def __init__(
        self,
        model,
        *,
        image_size,
        timesteps=1000,
        objective="pred_noise",
        beta_schedule="sigmoid",
    ):
        super().__init__()
        assert objective in {"pred_noise", "pred_x_start"}, (
            "objective must be pred_noise (the network predicts the noise) or pred_x_start "
            "(it predicts the clean image)")
        self.model = model
        self.channels = 3
        self.image_size = image_size
        self.objective = objective

        def register_buffer(name, value):
            # buffers follow the module across devices; all stored in float32
            self.register_buffer(name, value.float())

        # Noise schedule (computed in float64, stored in float32).
        betas = get_beta_schedule(beta_schedule, timesteps)
        self.num_timesteps = int(betas.shape[0])
        alphas = 1.0 - betas
        alphas_cumprod = torch.cumprod(alphas, dim=0)                 # alpha_bar_t
        register_buffer("betas", betas)
        register_buffer("alphas", alphas)
        register_buffer("alphas_cumprod", alphas_cumprod)

        # Forward process, Eq. (4) of the paper reparameterized as in Eq. (14):
        # x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,  eps ~ N(0, I).
        register_buffer("sqrt_alphas_cumprod", torch.sqrt(alphas_cumprod))
        register_buffer("sqrt_one_minus_alphas_cumprod", torch.sqrt(1.0 - alphas_cumprod))

        # Posterior q(x_{t-1} | x_t, x_0), Eqs. (6)-(7): mean = coef1 x_0 + coef2 x_t.
        alphas_cumprod_prev = nn.functional.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
        register_buffer("posterior_mean_coef1",
                        betas * torch.sqrt(alphas_cumprod_prev) / (1.0 - alphas_cumprod))
        register_buffer("posterior_mean_coef2",
                        (1.0 - alphas_cumprod_prev) * torch.sqrt(alphas) / (1.0 - alphas_cumprod))
        posterior_var = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        # the variance is 0 at t = 0: clamp before the square root
        register_buffer("posterior_std", torch.sqrt(posterior_var.clamp(min=1e-20)))

        # Loss weight: 1 when predicting the noise; the signal-to-noise ratio
        # alpha_bar / (1 - alpha_bar) when predicting x_0 (the same loss in noise units).
        snr = alphas_cumprod / (1 - alphas_cumprod)
        register_buffer("loss_weight", torch.ones_like(snr) if objective == "pred_noise" else snr)

    def normalize(self, img):
        """[0, 1] -> [-1, 1]."""
        return img * 2 - 1

    def unnormalize(self, img):
        """[-1, 1] -> [0, 1]."""
        return (img + 1) * 0.5

    def predict_start_from_noise(self, x_t, t, noise):
        """x_0 from x_t and the noise (Eq. (4) solved for x_0).
        Args:
            x_t: (b, *) noisy images.
            t: (b,) time steps.
            noise: (b, *) the noise that made x_t.
        Returns:
            x_start: (b, *).
        """
        x_start = None
        ####################################################################
        # TODO: recover x_0 from x_t and the noise by inverting the forward
        # process of Eq. (4)/(14). The coefficients are buffers set up in
        # __init__; `extract` picks those of each sample's time step.
        ####################################################################
        # *****START OF YOUR CODE*****
        x_start = ((x_t - extract(self.sqrt_one_minus_alphas_cumprod, t, x_t.shape) * noise)
                   / extract(self.sqrt_alphas_cumprod, t, x_t.shape))
        # *****END OF YOUR CODE*****
        return x_start

    def predict_noise_from_start(self, x_t, t, x_start):
        """The noise from x_t and x_0 (Eq. (4) solved for the noise).
        Args:
            x_t: (b, *) noisy images.
            t: (b,) time steps.
            x_start: (b, *) clean images.
        Returns:
            pred_noise: (b, *).
        """
        pred_noise = None
        ####################################################################
        # TODO: recover the noise from x_t and x_0 by inverting the forward
        # process of Eq. (4)/(14), with the buffers of __init__ and `extract`.
        ####################################################################
        # *****START OF YOUR CODE*****
        pred_noise = ((x_t - extract(self.sqrt_alphas_cumprod, t, x_t.shape) * x_start)
                      / extract(self.sqrt_one_minus_alphas_cumprod, t, x_t.shape))
        # *****END OF YOUR CODE*****
        return pred_noise

    def q_posterior(self, x_start, x_t, t):
        """Mean and standard deviation of q(x_{t-1} | x_t, x_0), Eqs. (6)-(7).
        Args:
            x_start: (b, *) (predicted) clean images.
            x_t: (b, *) noisy images.
            t: (b,) time steps.
        Returns:
            posterior_mean: (b, *); posterior_std: (b, 1, ..., 1).
        """
        c1 = extract(self.posterior_mean_coef1, t, x_t.shape)
        c2 = extract(self.posterior_mean_coef2, t, x_t.shape)
        posterior_mean = c1 * x_start + c2 * x_t
        posterior_std = extract(self.posterior_std, t, x_t.shape)
        return posterior_mean, posterior_std

    @torch.no_grad()
    def p_sample(self, x_t, t: int, model_kwargs={}):
        """One reverse step: sample x_{t-1} from p(x_{t-1} | x_t) (Eq. (6)); inference only.
        Args:
            x_t: (b, *) noisy images.
            t: int, the time step of x_t (the same for the whole batch).
            model_kwargs: extra inputs of the network (e.g. text_emb, cfg_scale).
        Returns:
            x_tm1: (b, *).
        """
        t = torch.full((x_t.shape[0],), t, device=x_t.device, dtype=torch.long)   # (b,)
        x_tm1 = None
        ##################################################################
        # TODO: one step of the reverse process.
        # 1. Run the network on (x_t, t, model_kwargs).
        # 2. Its output is the noise or x_0 (self.objective); turn it into
        #    a prediction of x_0 with the helpers above if needed.
        # 3. Clamp the predicted x_0 to [-1, 1] (keeps sampling stable).
        # 4. Take the posterior's mean and std from self.q_posterior and
        #    draw x_{t-1}; add no noise at the last step (t == 0).
        ##################################################################
        # *****START OF YOUR CODE*****
        out = self.model(x_t, t, model_kwargs)
        if self.objective == "pred_noise":
            x_start = self.predict_start_from_noise(x_t, t, out)
        else:
            x_start = out
        x_start = x_start.clamp(-1.0, 1.0)
        mean, std = self.q_posterior(x_start, x_t, t)
        if t[0] > 0:
            x_tm1 = mean + std * torch.randn_like(x_t)
        else:
            x_tm1 = mean
        # *****END OF YOUR CODE*****
        return x_tm1

    @torch.no_grad()
    def sample(self, batch_size=16, return_all_timesteps=False, model_kwargs={}):
        """Run the reverse process from pure noise.
        Returns (batch_size, 3, H, W) images in [0, 1] (unclamped), or with
        return_all_timesteps (batch_size, T + 1, 3, H, W): x_T, ..., x_0."""
        shape = (batch_size, self.channels, self.image_size, self.image_size)
        img = torch.randn(shape, device=self.betas.device)
        steps = [img]
        for t in tqdm(reversed(range(self.num_timesteps)), desc="sampling loop time step",
                      total=self.num_timesteps):
            img = self.p_sample(img, t, model_kwargs=model_kwargs)
            steps.append(img)
        out = torch.stack(steps, dim=1) if return_all_timesteps else img
        return self.unnormalize(out)

    def q_sample(self, x_start, t, noise):
        """Sample x_t from q(x_t | x_0) (Eq. (4)).
        Args:
            x_start: (b, *) clean images.
            t: (b,) time steps.
            noise: (b, *) standard normal noise.
        Returns:
            x_t: (b, *).
        """
        x_t = None
        ####################################################################
        # TODO: draw x_t from q(x_t | x_0) of Eq. (4), using the given noise
        # (a N(mu, sigma^2) draw is mu + sigma * noise). The coefficients
        # are buffers of __init__; `extract` selects them per time step.
        ####################################################################
        # *****START OF YOUR CODE*****
        x_t = (extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
               + extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)
        # *****END OF YOUR CODE*****
        return x_t

    def p_losses(self, x_start, model_kwargs={}):
        """The denoising loss of a batch of clean images x_start: (b, 3, H, W) in [0, 1]
        (the course's order of random draws: t, then the noise). Returns a scalar."""
        b, num_t = x_start.shape[0], self.num_timesteps
        t = torch.randint(0, num_t, (b,), device=x_start.device).long()      # (b,)
        x_start = self.normalize(x_start)
        noise = torch.randn_like(x_start)
        target = noise if self.objective == "pred_noise" else x_start
        loss_weight = extract(self.loss_weight, t, target.shape)                 # (b, 1, 1, 1)
        loss = None
        ####################################################################
        # TODO: the loss of Eq. (14): noise x_start to x_t with q_sample,
        # run the network on (x_t, t, model_kwargs), and take the mean over
        # all elements of loss_weight * (prediction - target)^2.
        ####################################################################
        # *****START OF YOUR CODE*****
        x_t = self.q_sample(x_start, t, noise)
        pred = self.model(x_t, t, model_kwargs)
        loss = (loss_weight * (pred - target) ** 2).mean()
        # *****END OF YOUR CODE*****
        return loss


def extract(a, t, x_shape):
    """a: (T,) coefficients; t: (b,) time steps -> a[t] shaped (b, 1, ..., 1) to broadcast
    against a tensor of shape x_shape."""
    b = t.shape[0]
    return a.gather(-1, t).reshape(b, *([1] * (len(x_shape) - 1)))


def linear_beta_schedule(timesteps):
    """The DDPM paper's linear schedule (1e-4 to 0.02 for 1000 steps, rescaled for others)."""
    scale = 1000 / timesteps
    return torch.linspace(scale * 0.0001, scale * 0.02, timesteps, dtype=torch.float64)


def cosine_beta_schedule(timesteps, s=0.008):
    """Nichol & Dhariwal's cosine schedule (alpha_bar follows cos^2), betas clipped at 0.999."""
    t = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64) / timesteps
    alphas_cumprod = torch.cos((t + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - alphas_cumprod[1:] / alphas_cumprod[:-1]
    return torch.clip(betas, 0, 0.999)


def sigmoid_beta_schedule(timesteps, start=-3, end=3, tau=1, clamp_min=1e-5):
    """Sigmoid schedule (Jabri et al. 2022, arXiv:2212.11972, Fig. 8): alpha_bar follows a
    decreasing sigmoid between start and end; betas clipped at 0.999."""
    t = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64) / timesteps
    v_start = torch.tensor(start / tau).sigmoid()
    v_end = torch.tensor(end / tau).sigmoid()
    alphas_cumprod = (v_end - ((t * (end - start) + start) / tau).sigmoid()) / (v_end - v_start)
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - alphas_cumprod[1:] / alphas_cumprod[:-1]
    return torch.clip(betas, 0, 0.999)


def get_beta_schedule(beta_schedule, timesteps):
    """The betas (timesteps,) float64 of schedule "linear", "cosine" or "sigmoid"."""
    schedules = {"linear": linear_beta_schedule, "cosine": cosine_beta_schedule,
                 "sigmoid": sigmoid_beta_schedule}
    if beta_schedule not in schedules:
        raise ValueError(f"unknown beta schedule {beta_schedule}")
    return schedules[beta_schedule](timesteps)
