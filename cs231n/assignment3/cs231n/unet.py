"""The denoising U-Net of CS231n 2025 assignment 3 (DDPM.ipynb).

The network maps a noisy image x_t: (b, channels, H, W), its time step t: (b,) and a text
embedding (b, condition_dim) to a tensor of the same shape as x_t (the predicted noise or
clean image). Time step and text are embedded into one context vector (b, 4 * dim) that
modulates every ResNet block (scale and shift of its first convolution's output).

Layout for dim_mults (m_1, ..., m_n), d_0 = dim, d_i = dim * m_i:
  init_conv 3 -> d_0;
  downs[i] = [ResnetBlock(d_i-1 -> d_i-1), ResnetBlock(d_i-1 -> d_i-1), Downsample(d_i-1 -> d_i)];
  mid_block1, mid_block2 on d_n;
  ups[i] mirrors downs[n-1-i]: [Upsample(d -> d'), ResnetBlock(2 d' -> d'), ResnetBlock(2 d' -> d')]
  (the input of each up ResnetBlock is the running features concatenated with a skip);
  final_conv d_0 -> channels (1x1).
H and W must be divisible by 2^n.
"""
import copy
import math

import torch
import torch.nn.functional as F
from torch import nn


def exists(x):
    return x is not None


def default(val, d):
    if exists(val):
        return val
    return d() if callable(d) else d


def Upsample(dim, dim_out=None):
    """Double the resolution: bilinear upsampling, then a 3x3 convolution dim -> dim_out."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Conv2d(dim, default(dim_out, dim), 3, padding=1),
    )


def Downsample(dim, dim_out=None):
    """Halve the resolution: a 2x2 convolution of stride 2, dim -> dim_out."""
    return nn.Conv2d(dim, default(dim_out, dim), kernel_size=2, stride=2)


class RMSNorm(nn.Module):
    """Root-mean-square normalization over channels with a learned gain g: (1, dim, 1, 1)."""

    def __init__(self, dim):
        super().__init__()
        self.scale = dim ** 0.5
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))

    def forward(self, x):
        # x / ||x||_channels * sqrt(dim) = x / rms(x)
        return F.normalize(x, dim=1) * self.g * self.scale


class SinusoidalPosEmb(nn.Module):
    """Sinusoidal embedding of time steps: x (b,) -> (b, dim) = [sin(x w_k), cos(x w_k)],
    w_k = 10000^(-k / (dim/2 - 1)), k = 0 .. dim/2 - 1."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=x.device) * -(math.log(10000) / (half - 1)))
        angles = x[:, None] * freqs[None, :]
        return torch.cat((angles.sin(), angles.cos()), dim=-1)


class Block(nn.Module):
    """3x3 convolution -> RMSNorm -> optional scale/shift modulation -> GELU."""

    def __init__(self, dim, dim_out):
        super().__init__()
        self.proj = nn.Conv2d(dim, dim_out, 3, padding=1)
        self.norm = RMSNorm(dim_out)
        self.act = nn.GELU()

    def forward(self, x, scale_shift=None):
        x = self.norm(self.proj(x))
        if exists(scale_shift):
            # feature-wise modulation by the context: x (1 + scale) + shift
            scale, shift = scale_shift
            x = x * (scale + 1) + shift
        return self.act(x)


class ResnetBlock(nn.Module):
    """Two Blocks with a residual connection; the context (b, context_dim) gives the scale
    and shift of the first Block's output. x: (b, dim, H, W) -> (b, dim_out, H, W)."""

    def __init__(self, dim, dim_out, context_dim):
        super().__init__()
        self.dim = dim
        self.dim_out = dim_out
        self.context_dim = context_dim
        self.mlp = (nn.Sequential(nn.GELU(), nn.Linear(context_dim, dim_out * 2))
                    if exists(context_dim) else None)
        self.block1 = Block(dim, dim_out)
        self.block2 = Block(dim_out, dim_out)
        self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, context=None):
        scale_shift = None
        if exists(self.mlp) and exists(context):
            context = self.mlp(context)[:, :, None, None]        # (b, 2 dim_out, 1, 1)
            scale_shift = context.chunk(2, dim=1)
        h = self.block1(x, scale_shift=scale_shift)
        h = self.dropout(h)
        h = self.block2(h)
        return h + self.res_conv(x)


class Unet(nn.Module):
    def __init__(
        self,
        dim,
        condition_dim,
        dim_mults=(1, 2, 4, 8),
        channels=3,
        uncond_prob=0.2,
    ):
        super().__init__()
        self.init_conv = nn.Conv2d(channels, dim, 3, padding=1)
        self.channels = channels

        # channels at each level [d_0, d_1, ..., d_n]
        dims = [dim] + [dim * m for m in dim_mults]
        # (in, out) of each down level: [(d_0, d_1), ..., (d_n-1, d_n)]
        in_out = list(zip(dims[:-1], dims[1:]))
        # (in, out) of each up level, deepest first: [(d_n, d_n-1), ..., (d_1, d_0)]
        in_out_ups = [(b, a) for a, b in reversed(in_out)]

        # the time step, embedded as the context
        context_dim = dim * 4
        self.time_mlp = nn.Sequential(
            SinusoidalPosEmb(dim),
            nn.Linear(dim, context_dim),
            nn.GELU(),
            nn.Linear(context_dim, context_dim),
        )

        # the condition (text embedding), embedded and added to the context
        self.condition_dim = condition_dim
        self.condition_mlp = nn.Sequential(
            nn.Linear(condition_dim, context_dim),
            nn.GELU(),
            nn.Linear(context_dim, context_dim),
        )

        # probability of dropping the condition in training (classifier-free guidance)
        self.uncond_prob = uncond_prob

        # ModuleLists of ModuleLists, one per level
        self.downs = nn.ModuleList([])
        self.ups = nn.ModuleList([])

        for ind, (dim_in, dim_out) in enumerate(in_out):
            down_block = None
            ##################################################################
            # TODO: one downsampling level `down_block`: a ModuleList of
            # [ResnetBlock, ResnetBlock, Downsample]. Both ResnetBlocks keep
            # dim_in channels and take the context (context_dim); Downsample
            # goes from dim_in to dim_out channels. Keep exactly this order
            # and structure: the pretrained checkpoint's keys depend on it.
            ##################################################################
            # *****START OF YOUR CODE*****
            down_block = nn.ModuleList([
                ResnetBlock(dim_in, dim_in, context_dim),
                ResnetBlock(dim_in, dim_in, context_dim),
                Downsample(dim_in, dim_out),
            ])
            # *****END OF YOUR CODE*****
            self.downs.append(down_block)

        mid_dim = dims[-1]
        self.mid_block1 = ResnetBlock(mid_dim, mid_dim, context_dim=context_dim)
        self.mid_block2 = ResnetBlock(mid_dim, mid_dim, context_dim=context_dim)

        for ind, (dim_in, dim_out) in enumerate(in_out_ups):
            up_block = None
            ##################################################################
            # TODO: one upsampling level `up_block`, mirroring a downsampling
            # level: a ModuleList of [Upsample, ResnetBlock, ResnetBlock].
            # Upsample goes from dim_in to dim_out channels; each ResnetBlock
            # outputs dim_out channels and receives twice as many (its input
            # is concatenated with a skip connection).
            ##################################################################
            # *****START OF YOUR CODE*****
            up_block = nn.ModuleList([
                Upsample(dim_in, dim_out),
                ResnetBlock(dim_out * 2, dim_out, context_dim),
                ResnetBlock(dim_out * 2, dim_out, context_dim),
            ])
            # *****END OF YOUR CODE*****
            self.ups.append(up_block)

        # 1x1 convolution back to image channels
        self.final_conv = nn.Conv2d(dim, channels, 1)

    def cfg_forward(self, x, time, model_kwargs={}):
        """Classifier-free guidance; model_kwargs holds `cfg_scale` (s) and `text_emb`.
        Returns (1 + s) eps(x, t, text) - s eps(x, t, no text), shaped like x."""
        # A copy: the caller's dict keeps its cfg_scale, so that every step of the sampling
        # loop is guided. (The course's given code pops it from the caller's dict, which
        # guides only the first of the T steps.)
        model_kwargs = copy.copy(model_kwargs)
        cfg_scale = model_kwargs.pop("cfg_scale")
        model_kwargs = copy.deepcopy(model_kwargs)
        ##################################################################
        # TODO: classifier-free guidance, Eq. (6) of Ho & Salimans
        # (arXiv:2207.12598): (scale + 1) * eps(x_t, cond) - scale * eps(x_t, empty).
        # Call self.forward twice; the unconditional call passes
        # text_emb=None.
        ##################################################################
        # *****START OF YOUR CODE*****
        eps_cond = self.forward(x, time, model_kwargs)
        eps_uncond = self.forward(x, time, dict(model_kwargs, text_emb=None))
        x = (1 + cfg_scale) * eps_cond - cfg_scale * eps_uncond
        # *****END OF YOUR CODE*****
        return x

    def forward(self, x, time, model_kwargs={}):
        """x: (b, channels, H, W); time: (b,) time steps; model_kwargs: "text_emb"
        (b, condition_dim) or None (unconditional), optionally "cfg_scale".
        Returns (b, channels, H, W)."""
        if "cfg_scale" in model_kwargs:
            return self.cfg_forward(x, time, model_kwargs)

        context = self.time_mlp(time)                                # (b, context_dim)

        cond_emb = model_kwargs["text_emb"]
        if cond_emb is None:                 # unconditional: the all-zero embedding
            cond_emb = torch.zeros(x.shape[0], self.condition_dim, device=x.device)
        if self.training:
            # drop each sample's condition with probability uncond_prob
            keep = (torch.rand(cond_emb.shape[0]) > self.uncond_prob).float()
            cond_emb = cond_emb * keep[:, None].to(cond_emb.device)
        context = context + self.condition_mlp(cond_emb)

        x = self.init_conv(x)

        ##################################################################
        # TODO: run x through the U-Net with the context.
        # 1. Down: through each level; keep the output of every ResnetBlock
        #    as a skip connection for the up path.
        # 2. Middle: mid_block1, mid_block2.
        # 3. Up: through each level; before each ResnetBlock concatenate
        #    (channels) the features with the matching skip connection: the
        #    skips are used in the reverse order of their creation.
        # Every ResnetBlock receives the context.
        ##################################################################
        # *****START OF YOUR CODE*****
        skips = []
        for block1, block2, downsample in self.downs:
            x = block1(x, context)
            skips.append(x)
            x = block2(x, context)
            skips.append(x)
            x = downsample(x)
        x = self.mid_block1(x, context)
        x = self.mid_block2(x, context)
        for upsample, block1, block2 in self.ups:
            x = upsample(x)
            x = block1(torch.cat((x, skips.pop()), dim=1), context)
            x = block2(torch.cat((x, skips.pop()), dim=1), context)
        # *****END OF YOUR CODE*****

        x = self.final_conv(x)
        return x
