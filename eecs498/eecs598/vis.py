"""Pictures of data with the course's names (`eecs598.vis`): tensor -> image, a grid of
samples per class, and boxes drawn on an image (A5 detection)."""
import random

import numpy as np
import torch

from dl4cv.images import tensor_to_uint8_image


def tensor_to_image(tensor: torch.Tensor):
    """(3, H, W) float tensor in [0, 1] -> (H, W, 3) uint8 numpy array (rounded, clamped)."""
    return tensor_to_uint8_image(tensor)


def visualize_dataset(X_data, y_data, samples_per_class, class_list):
    """A grid image with one row per class and `samples_per_class` random images per row.

    X_data: (N, 3, H, W) float tensor in [0, 1]; y_data: (N,) int labels; class_list: the
    class names (their order gives the label ids). The class names are written left of the
    rows on the current matplotlib axes. Returns the grid as an (H', W', 3) uint8 array.
    """
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid
    half = X_data.shape[2] // 2
    samples = []
    for label, name in enumerate(class_list):
        plt.text(-4, (2 * half + 2) * label + (half + 2), name, ha="right")
        members = (y_data == label).nonzero().view(-1)
        for _ in range(samples_per_class):
            samples.append(X_data[members[random.randrange(members.shape[0])].item()])
    return tensor_to_image(make_grid(samples, nrow=samples_per_class))


def _draw_boxes(draw, boxes, idx_to_class, color, with_score):
    for row in boxes:
        x0, y0, x1, y1 = (int(v) for v in row[:4].tolist())
        draw.rectangle([x0, y0, x1, y1], outline=color, width=2)
        if row.shape[0] > 4:  # class id (and confidence) given
            label = str(idx_to_class[int(row[4].item())])
            if with_score and row.shape[0] > 5:
                label = "%s, %.2f" % (label, float(row[5].item()))
            draw.text((x0, y0 + 3), label, fill=(0, 0, 255))


def detection_visualizer(img, idx_to_class, bbox=None, pred=None):
    """Show an image with ground-truth boxes (red) and/or predicted boxes (green).

    img: PIL image or (H, W, 3) uint8 array; idx_to_class: class id -> name;
    bbox: (N, 4) or (N, 5) tensor (x_tl, y_tl, x_br, y_br[, class]);
    pred: (M, 4) or (M, 6) tensor (x_tl, y_tl, x_br, y_br[, class, confidence]).
    """
    import matplotlib.pyplot as plt
    from PIL import Image, ImageDraw
    picture = Image.fromarray(np.array(img).astype("uint8"))
    draw = ImageDraw.Draw(picture)
    if bbox is not None:
        _draw_boxes(draw, bbox, idx_to_class, (255, 0, 0), with_score=False)
    if pred is not None:
        _draw_boxes(draw, pred, idx_to_class, (0, 255, 0), with_score=True)
    plt.imshow(np.asarray(picture))
    plt.axis("off")
    plt.show()
