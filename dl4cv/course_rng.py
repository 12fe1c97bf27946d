"""The dropout masks the CS231n 2025 notebooks' expected values were computed with.

Those checks run layers in training mode with dropout, so their hard-coded outputs contain the
masks of the PyTorch build the course used. Its CPU dropout drew one 32-bit number s from the
global generator and used it to seed MKL's MCG31m1 stream: x_0 = s mod (2^31 - 1) (1 if 0),
x_{k+1} = 1132489760 x_k mod (2^31 - 1), and element k is kept when x_k / (2^31 - 1) < 1 - p.
Current PyTorch draws masks differently, so the same seed gives other masks and a correct layer
misses the expected values completely. Inside `with course_dropout():` F.dropout (and so
nn.Dropout) on the CPU uses the old rule; outside it, dropout is PyTorch's own.

Evidence for the rule: with it, the project's layers reproduce the errors printed in a published
2025 solution notebook to every printed digit (masked attention 1.5263676e-4, cross-attention
3.5301049e-4, positional encoding 1.0421011e-4, ViT 1.9063084e-6); tests/
test_course_checks_cs231n_a3_transformer.py also replays one mask without any model code.
"""
import contextlib

import numpy as np
import torch
import torch.nn.functional as F

MCG_MODULUS = 2 ** 31 - 1
MCG_MULTIPLIER = 1132489760
_MT_N, _MT_M = 624, 397


def next_u32() -> int:
    """The next 32-bit output of torch's CPU mt19937, read from its saved state without drawing.

    Legacy state layout of torch.get_rng_state(): seed u64, left i32, seeded i32, next u64,
    state u64[624].
    """
    raw = torch.get_rng_state().numpy().tobytes()
    left = int(np.frombuffer(raw[8:12], np.int32)[0])
    pos = int(np.frombuffer(raw[16:24], np.uint64)[0])
    state = [int(v) & 0xFFFFFFFF for v in np.frombuffer(raw[24:24 + _MT_N * 8], np.uint64)]
    if left == 1:                       # the generator twists before this output
        for i in range(_MT_N):
            y = (state[i] & 0x80000000) | (state[(i + 1) % _MT_N] & 0x7FFFFFFF)
            state[i] = state[(i + _MT_M) % _MT_N] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
        pos = 0
    y = state[pos]
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y & 0xFFFFFFFF


def mcg31_uniforms(seed: int, n: int) -> np.ndarray:
    """(n,) float64: x_k / M for k < n, x_0 = seed mod M (1 if 0), x_{k+1} = A x_k mod M."""
    x = seed % MCG_MODULUS or 1
    out = np.empty(n)
    for k in range(n):          # the checks' tensors are small (tens to thousands of entries)
        out[k] = x / MCG_MODULUS
        x = (MCG_MULTIPLIER * x) % MCG_MODULUS
    return out


def course_dropout_function(input, p=0.5, training=True, inplace=False):
    """F.dropout with the course's masks (same signature; `inplace` is ignored)."""
    if not training or p == 0:
        return input
    seed = next_u32()
    torch.randint(0, 2 ** 16, (1,))         # consume exactly that one 32-bit output
    keep = mcg31_uniforms(seed, input.numel()) < 1 - p
    mask = torch.from_numpy(keep.reshape(tuple(input.shape))).to(input.dtype).to(input.device)
    return input * mask / (1 - p)


@contextlib.contextmanager
def course_dropout():
    """Within the block, F.dropout / nn.Dropout draw the course's masks (see the module doc)."""
    saved = F.dropout
    F.dropout = course_dropout_function
    try:
        yield
    finally:
        F.dropout = saved
