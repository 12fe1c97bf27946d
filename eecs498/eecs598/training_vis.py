"""The pictures of training that the course's A2 and A3 helper files give (`plot_stats`,
`visualize_grid`, `show_net_weights`, `plot_acc_curves`): the course copies them into each
helper file; here `a2_helpers.py` and `a3_helper.py` re-export this one copy."""
import math

import torch


def plot_stats(stat_dict):
    """Loss per iteration and train / validation accuracy per epoch, side by side.

    stat_dict: a dict with 'loss_history', 'train_acc_history', 'val_acc_history' (what the
    A2 `nn_train` / `TwoLayerNet.train` return).
    """
    import matplotlib.pyplot as plt

    plt.subplot(1, 2, 1)
    plt.plot(stat_dict['loss_history'], 'o')
    plt.title('Loss history')
    plt.xlabel('Iteration')
    plt.ylabel('Loss')

    plt.subplot(1, 2, 2)
    plt.plot(stat_dict['train_acc_history'], 'o-', label='train')
    plt.plot(stat_dict['val_acc_history'], 'o-', label='val')
    plt.title('Classification accuracy history')
    plt.xlabel('Epoch')
    plt.ylabel('Classification accuracy')
    plt.legend()

    plt.gcf().set_size_inches(14, 4)
    plt.show()


def visualize_grid(Xs, ubound=255.0, padding=1):
    """
    Tile a batch of images into one picture, each image rescaled to [0, ubound] on its own.

    Inputs:
    - Xs: (N, H, W, C) images
    - ubound: the largest value of the output
    - padding: blank pixels between neighbouring images

    Returns a (G*H + (G-1)*padding, G*W + (G-1)*padding, C) tensor, G = ceil(sqrt(N)), on the
    device of Xs.
    """
    N, H, W, C = Xs.shape
    grid_size = int(math.ceil(math.sqrt(N)))
    grid_height = H * grid_size + padding * (grid_size - 1)
    grid_width = W * grid_size + padding * (grid_size - 1)
    grid = torch.zeros((grid_height, grid_width, C), device=Xs.device)
    for k in range(N):
        row, col = divmod(k, grid_size)
        y0, x0 = row * (H + padding), col * (W + padding)
        img = Xs[k]
        low, high = torch.min(img), torch.max(img)
        # a constant image (high == low) stays black instead of becoming NaN
        grid[y0:y0 + H, x0:x0 + W] = ubound * (img - low) / (high - low).clamp(min=1e-12)
    return grid


def show_net_weights(net):
    """Show each hidden unit's first-layer weights (net.params['W1']: (3072, H)) as a 32x32
    colour image."""
    import matplotlib.pyplot as plt

    W1 = net.params['W1']
    W1 = W1.reshape(3, 32, 32, -1).transpose(0, 3)   # (H, 32, 32, 3)
    plt.imshow(visualize_grid(W1, padding=3).type(torch.uint8).cpu())
    plt.gca().axis('off')
    plt.show()


def plot_acc_curves(stat_dict):
    """Train and validation accuracy per epoch of several runs.

    stat_dict: {label: a dict with 'train_acc_history' and 'val_acc_history'}; the labels
    name the curves.
    """
    import matplotlib.pyplot as plt

    plt.subplot(1, 2, 1)
    for key, single_stats in stat_dict.items():
        plt.plot(single_stats['train_acc_history'], label=str(key))
    plt.title('Train accuracy history')
    plt.xlabel('Epoch')
    plt.ylabel('Classification accuracy')

    plt.subplot(1, 2, 2)
    for key, single_stats in stat_dict.items():
        plt.plot(single_stats['val_acc_history'], label=str(key))
    plt.title('Validation accuracy history')
    plt.xlabel('Epoch')
    plt.ylabel('Classification accuracy')
    plt.legend()

    plt.gcf().set_size_inches(14, 5)
    plt.show()


# ---- the loss functions of A2 (given) ---------------------------------------------------------
