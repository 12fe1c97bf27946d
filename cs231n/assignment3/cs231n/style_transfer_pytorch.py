"""Neural style transfer (Gatys et al., 2016) in PyTorch: content, style (Gram) and total
variation losses, and the optimization that combines them.

The feature network `cnn` is an nn.Sequential of conv layers: SqueezeNet's `features` when
its ImageNet weights are on disk, else the project's CIFAR-10 CNN (dl4cv.pretrained).
"""
import numpy as np
import torch

from dl4cv import images as _images
from dl4cv import pretrained as _pretrained
from dl4cv.images import SQUEEZENET_MEAN, SQUEEZENET_STD

dtype = torch.FloatTensor   # the course's module-level tensor type


def content_loss(content_weight, content_current, content_original):
    """Content loss: content_weight * sum((F - P)^2) over one layer's features.

    Inputs:
    - content_weight: scalar weight of the content loss.
    - content_current: features of the current image, (1, C_l, H_l, W_l).
    - content_original: features of the content image, (1, C_l, H_l, W_l).

    Returns: scalar tensor.
    """
    if content_current.shape != content_original.shape:
        raise ValueError(f"content feature shapes differ: {tuple(content_current.shape)} vs "
                         f"{tuple(content_original.shape)}")
    # TODO: Compute the weighted sum of squared differences between the two feature maps.
    # *****START OF YOUR CODE*****
    loss = content_weight * (content_current - content_original).pow(2).sum()
    # *****END OF YOUR CODE*****
    return loss


def gram_matrix(features, normalize=True):
    """Gram matrices of a batch of feature maps.

    Inputs:
    - features: (N, C, H, W) features of N images.
    - normalize: if True, divide by the number of neurons H * W * C.

    Returns:
    - gram: (N, C, C); gram[n, i, j] = sum over positions of features[n, i] * features[n, j].
    """
    if features.dim() != 4:
        raise ValueError(f"features must be (N, C, H, W), got {tuple(features.shape)}")
    N, C, H, W = features.shape
    # TODO: Flatten the spatial dimensions to get (N, C, H*W) and multiply by its transpose
    # with one batched matrix product; divide by H * W * C when normalize is True.
    # *****START OF YOUR CODE*****
    flat = features.reshape(N, C, H * W)
    gram = torch.bmm(flat, flat.transpose(1, 2))
    if normalize:
        gram = gram / (H * W * C)
    # *****END OF YOUR CODE*****
    return gram


def style_loss(feats, style_layers, style_targets, style_weights):
    """Style loss summed over a set of layers.

    Inputs:
    - feats: list of the current image's features at every layer (from extract_features).
    - style_layers: list of layer indices into feats.
    - style_targets: list, style_targets[i] is the Gram matrix of the style image at layer
      style_layers[i].
    - style_weights: list, the weight of layer style_layers[i].

    Returns: scalar tensor sum_i w_i * sum((G_i - A_i)^2).
    """
    if not (len(style_layers) == len(style_targets) == len(style_weights)):
        raise ValueError(f"style_layers, style_targets and style_weights must have the same "
                         f"length, got {len(style_layers)}, {len(style_targets)}, {len(style_weights)}")
    # TODO: One loop over the style layers: the Gram matrix of the current features at that
    # layer, its squared distance to the target, weighted and summed.
    # *****START OF YOUR CODE*****
    loss = 0
    for layer, target, weight in zip(style_layers, style_targets, style_weights):
        loss = loss + weight * (gram_matrix(feats[layer]) - target).pow(2).sum()
    # *****END OF YOUR CODE*****
    return loss


def tv_loss(img, tv_weight):
    """Total variation loss: tv_weight times the sum of squared differences between
    horizontally and vertically adjacent pixels, over all channels.

    Inputs:
    - img: (1, 3, H, W) image.
    - tv_weight: scalar weight.

    Returns: scalar tensor.
    """
    if img.dim() != 4:
        raise ValueError(f"img must be (N, C, H, W), got {tuple(img.shape)}")
    # TODO: Vectorized (no loops): differences of neighbouring rows and of neighbouring
    # columns by slicing, squared and summed.
    # *****START OF YOUR CODE*****
    dh = img[:, :, 1:, :] - img[:, :, :-1, :]
    dw = img[:, :, :, 1:] - img[:, :, :, :-1]
    loss = tv_weight * (dh.pow(2).sum() + dw.pow(2).sum())
    # *****END OF YOUR CODE*****
    return loss


def preprocess(img, size=512):
    """A PIL image or (H, W, 3) uint8 array -> (1, 3, H', W') normalized tensor (shorter side
    resized to `size`)."""
    return _images.preprocess(np.asarray(img), size=size)


def deprocess(img):
    """(1, 3, H, W) normalized tensor -> (H, W, 3) uint8 image."""
    return _images.deprocess(img, rescale=False)


def rescale(x):
    low, high = x.min(), x.max()
    return (x - low) / (high - low)


def rel_error(x, y):
    """max |x - y| / max(1e-8, |x| + |y|), the course's relative error."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def extract_features(x, cnn):
    """The output of every layer of `cnn` for the image batch x.

    Inputs:
    - x: (N, 3, H, W) normalized images; H, W must be large enough for the network.
    - cnn: an nn.Sequential feature network.

    Returns: list; element i is the output of layer i, (N, C_i, H_i, W_i).
    """
    _pretrained.check_feature_input(x, cnn)
    features = []
    prev = x
    for module in cnn._modules.values():
        prev = module(prev)
        features.append(prev)
    return features


def features_from_img(imgpath, imgsize, cnn):
    """Load an image file, preprocess it to shorter side `imgsize`, and extract its features.
    Returns (features list, image tensor)."""
    img = preprocess(_images.load_image(imgpath), size=imgsize)
    img = img.to(next(cnn.parameters()).device)
    return extract_features(img, cnn), img


def style_transfer(content_image, style_image, image_size, style_size, content_layer,
                   content_weight, style_layers, style_weights, tv_weight, init_random=False,
                   cnn=None, num_iterations=200, seed=0, show_progress=True):
    """Run style transfer.

    Inputs (the course's):
    - content_image, style_image: image file paths (or (H, W, 3) uint8 arrays).
    - image_size: shorter side of the content image; style_size: of the style image.
    - content_layer: layer for the content loss; content_weight: its weight.
    - style_layers, style_weights: layers and weights of the style loss.
    - tv_weight: weight of the total variation loss.
    - init_random: start from uniform noise instead of the content image.
    Extra: cnn (default: dl4cv.pretrained.load_feature_network()), num_iterations, seed.

    Returns (img (1, 3, H, W) normalized tensor, history of the losses per iteration).
    """
    if cnn is None:
        cnn = _pretrained.load_feature_network()[0]
    return _pretrained.style_transfer_loop(
        cnn, content_image, style_image, image_size, style_size, content_layer, content_weight,
        style_layers, style_weights, tv_weight, init_random=init_random,
        num_iterations=num_iterations, seed=seed, progress=show_progress,
        extract_features=extract_features, content_loss=content_loss, style_loss=style_loss,
        tv_loss=tv_loss, gram_matrix=gram_matrix)


__all__ = ["content_loss", "gram_matrix", "style_loss", "tv_loss", "preprocess", "deprocess",
           "rescale", "rel_error", "extract_features", "features_from_img", "style_transfer",
           "SQUEEZENET_MEAN", "SQUEEZENET_STD"]
