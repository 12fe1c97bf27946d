"""Image helpers shared by the assignments: ImageNet (SqueezeNet) normalization, blur,
uint8 conversion, grids and GIFs."""
from math import ceil, sqrt
from pathlib import Path

import numpy as np

SQUEEZENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
SQUEEZENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def tensor_to_uint8_image(tensor):
    """(3, H, W) float tensor in [0, 1] -> (H, W, 3) uint8 array."""
    return tensor.detach().mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu").byte().numpy()


def load_image(path, size=None):
    """An image file -> (H, W, 3) uint8 array; `size` resizes the shorter side to `size`."""
    from PIL import Image
    img = Image.open(path).convert("RGB")
    if size is not None:
        w, h = img.size
        scale = size / min(w, h)
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BICUBIC)
    return np.asarray(img)


def preprocess(img, size=224, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD):
    """(H, W, 3) uint8 array or PIL image -> (1, 3, H', W') float tensor, normalized."""
    import torchvision.transforms as T
    from PIL import Image
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    transform = T.Compose([T.Resize(size), T.ToTensor(), T.Normalize(mean.tolist(), std.tolist())])
    return transform(img).unsqueeze(0)


def deprocess(x, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD, rescale=False):
    """(1, 3, H, W) or (3, H, W) normalized tensor -> (H, W, 3) uint8 array."""
    import torch
    x = x.detach().to("cpu", torch.float32)
    if x.dim() == 4:
        x = x[0]
    x = x * torch.as_tensor(std).view(3, 1, 1) + torch.as_tensor(mean).view(3, 1, 1)
    if rescale:
        x = (x - x.min()) / (x.max() - x.min()).clamp(min=1e-12)
    return tensor_to_uint8_image(x.clamp(0, 1))


def blur_image(x, sigma=1.0):
    """Gaussian blur of a (N, C, H, W) tensor, in place-free; used as a class-visualization prior."""
    import torch.nn.functional as F
    import torch
    radius = max(1, int(round(3 * sigma)))
    grid = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-grid ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return x


def image_grid(images, ncols=None, pad=2, fill=255):
    """(N, H, W) or (N, H, W, 3) uint8 images -> one (rows*H', cols*W'[, 3]) uint8 grid."""
    images = np.asarray(images)
    n = len(images)
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    h, w = images.shape[1:3]
    shape = (nrows * (h + pad) + pad, ncols * (w + pad) + pad) + images.shape[3:]
    grid = np.full(shape, fill, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = img
    return grid


def save_gif(frames, path, fps=8, max_side=None):
    """Write uint8 frames as a looping GIF at `fps`; downscale so the longer side <= max_side."""
    import imageio.v2 as imageio
    from PIL import Image
    frames = [np.asarray(f) for f in frames]
    if max_side:
        out = []
        for f in frames:
            img = Image.fromarray(f)
            s = max_side / max(img.size)
            if s < 1:
                img = img.resize((round(img.size[0] * s), round(img.size[1] * s)), Image.BILINEAR)
            out.append(np.asarray(img))
        frames = out
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    return Path(path)


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Tile N images into a square-ish grid, each rescaled on its own to [0, ubound].

    Xs: (N, H, W, C); `padding` blank pixels separate neighbours. Returns (Hg, Wg, C) float64.
    (The CS231n `vis_utils.visualize_grid`, shared by assignments 1 and 2.)
    """
    Xs = np.asarray(Xs, dtype=np.float64)
    if Xs.ndim != 4:
        raise ValueError(f"visualize_grid: Xs must be (N, H, W, C), got shape {Xs.shape}")
    n, h, w, c = Xs.shape
    grid_size = int(np.ceil(np.sqrt(n)))
    grid = np.zeros((h * grid_size + padding * (grid_size - 1),
                     w * grid_size + padding * (grid_size - 1), c))
    for idx in range(n):
        r, col = divmod(idx, grid_size)
        img = Xs[idx]
        low, high = img.min(), img.max()
        y0, x0 = r * (h + padding), col * (w + padding)
        grid[y0:y0 + h, x0:x0 + w] = ubound * (img - low) / max(high - low, 1e-12)
    return grid


def vis_grid(Xs):
    """Tile images without rescaling each: Xs (N, H, W, C), one pixel of padding (set to the
    minimum, as the course's) between them. Returns the grid normalized to [0, 1]."""
    Xs = np.asarray(Xs)
    N, H, W, C = Xs.shape
    A = int(ceil(sqrt(N)))
    G = np.ones((A * H + A, A * W + A, C), Xs.dtype) * np.min(Xs)
    for n in range(N):
        y, x = divmod(n, A)
        G[y * H + y:(y + 1) * H + y, x * W + x:(x + 1) * W + x, :] = Xs[n]
    low, high = np.min(G), np.max(G)
    return (G - low) / max(high - low, 1e-12)


def vis_nn(rows):
    """Tile a list of rows (each a list of (H, W, C) images) into one image in [0, 1]."""
    N, D = len(rows), len(rows[0])
    H, W, C = rows[0][0].shape
    G = np.ones((N * H + N, D * W + D, C), rows[0][0].dtype)
    for y in range(N):
        for x in range(D):
            G[y * H + y:(y + 1) * H + y, x * W + x:(x + 1) * W + x, :] = rows[y][x]
    low, high = np.min(G), np.max(G)
    return (G - low) / max(high - low, 1e-12)
