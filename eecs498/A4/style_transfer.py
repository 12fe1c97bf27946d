"""
Neural style transfer in PyTorch (Gatys et al., 2016): content, Gram-matrix style and total
variation losses. Write device-agnostic code: create new tensors on the inputs' device.

The feature network is SqueezeNet's `features` when its ImageNet weights are on disk, else
the project's CIFAR-10 CNN (dl4cv.pretrained.load_feature_network says which).
"""
import torch

from a4_helper import *  # noqa: F401,F403  (the course's given helpers, re-exported as the course did)
from dl4cv import images as _images
from dl4cv import pretrained as _pretrained


def hello():
    """Check that this file is importable (e.g. from Colab)."""
    print("Hello from style_transfer.py!")


def content_loss(content_weight, content_current, content_original):
    """
    Compute the content loss for style transfer.

    Inputs:
    - content_weight: Scalar giving the weighting for the content loss.
    - content_current: features of the current image; Tensor of shape (1, C_l, H_l, W_l).
    - content_original: features of the content image; Tensor of shape (1, C_l, H_l, W_l).

    Returns:
    - scalar content loss
    """
    if content_current.shape != content_original.shape:
        raise ValueError(f"content feature shapes differ: {tuple(content_current.shape)} vs "
                         f"{tuple(content_original.shape)}")
    loss = None
    # TODO: content_weight times the sum of squared differences of the two feature maps.
    # *****START OF YOUR CODE*****
    diff = content_current - content_original
    loss = content_weight * (diff * diff).sum()
    # *****END OF YOUR CODE*****
    return loss


def gram_matrix(features, normalize=True):
    """
    Compute the Gram matrix from features.

    Inputs:
    - features: Tensor of shape (N, C, H, W) giving features for a batch of N images.
    - normalize: optional, whether to normalize the Gram matrix. If True, divide the Gram
      matrix by the number of neurons (H * W * C)

    Returns:
    - gram: Tensor of shape (N, C, C) giving the (optionally normalized) Gram matrices for
      the N input images.
    """
    if features.dim() != 4:
        raise ValueError(f"features must be (N, C, H, W), got {tuple(features.shape)}")
    gram = None
    # TODO: View the features as (N, C, H*W) and compute all Gram matrices with one batched
    # matrix multiplication (no loops); normalize by H * W * C if asked.
    # *****START OF YOUR CODE*****
    N, C, H, W = features.shape
    f = features.view(N, C, H * W) if features.is_contiguous() else features.reshape(N, C, H * W)
    gram = f @ f.transpose(1, 2)
    if normalize:
        gram = gram / (C * H * W)
    # *****END OF YOUR CODE*****
    return gram


def style_loss(feats, style_layers, style_targets, style_weights):
    """
    Computes the style loss at a set of layers.

    Inputs:
    - feats: list of the features at every layer of the current image, as produced by
      the extract_features function.
    - style_layers: List of layer indices into feats giving the layers to include in the
      style loss.
    - style_targets: List of the same length as style_layers, where style_targets[i] is
      a Tensor giving the Gram matrix of the source style image computed at layer
      style_layers[i].
    - style_weights: List of the same length as style_layers, where style_weights[i] is a
      scalar giving the weight for the style loss at layer style_layers[i].

    Returns:
    - style_loss: A Tensor holding a scalar giving the style loss.
    """
    if not (len(style_layers) == len(style_targets) == len(style_weights)):
        raise ValueError(f"style_layers, style_targets and style_weights must have the same "
                         f"length, got {len(style_layers)}, {len(style_targets)}, {len(style_weights)}")
    loss = None
    # TODO: For each style layer (one loop, ~5 lines): the Gram matrix of the current
    # features, its squared Frobenius distance to the target, times the layer's weight; sum.
    # *****START OF YOUR CODE*****
    terms = [w * ((gram_matrix(feats[i]) - a) ** 2).sum()
             for i, a, w in zip(style_layers, style_targets, style_weights)]
    loss = torch.stack(terms).sum() if terms else torch.zeros(())
    # *****END OF YOUR CODE*****
    return loss


def tv_loss(img, tv_weight):
    """
    Compute total variation loss.

    Inputs:
    - img: Tensor of shape (1, 3, H, W) holding an input image.
    - tv_weight: Scalar giving the weight w_t to use for the TV loss.

    Returns:
    - loss: Tensor holding a scalar giving the total variation loss for img weighted by
      tv_weight.
    """
    if img.dim() != 4:
        raise ValueError(f"img must be (N, C, H, W), got {tuple(img.shape)}")
    loss = None
    # TODO: Vectorized, no loops: squared differences between vertically adjacent and
    # horizontally adjacent pixels, summed over all channels, times tv_weight.
    # *****START OF YOUR CODE*****
    vertical = (img[..., 1:, :] - img[..., :-1, :]).pow(2).sum()
    horizontal = (img[..., :, 1:] - img[..., :, :-1]).pow(2).sum()
    loss = tv_weight * (vertical + horizontal)
    # *****END OF YOUR CODE*****
    return loss


def extract_features(x, cnn):
    """
    Use the CNN to extract features from the input image x.

    Inputs:
    - x: Tensor of shape (N, 3, H, W) holding a minibatch of images that will be fed to the
      CNN; H and W must be large enough for the network.
    - cnn: an nn.Sequential feature network.

    Returns:
    - features: list, features[i] is the output of layer i, shape (N, C_i, H_i, W_i).
    """
    _pretrained.check_feature_input(x, cnn)
    features = []
    for layer in cnn:
        x = layer(x)
        features.append(x)
    return features


def features_from_img(imgpath, imgsize, cnn):
    """Load an image file, resize its shorter side to imgsize, preprocess, extract features.
    Returns (features list, image tensor)."""
    img = _images.preprocess(_images.load_image(imgpath), size=imgsize)
    img = img.to(next(cnn.parameters()).device)
    return extract_features(img, cnn), img


def style_transfer(content_image, style_image, image_size, style_size, content_layer,
                   content_weight, style_layers, style_weights, tv_weight, init_random=False,
                   cnn=None, num_iterations=200, seed=0, show_progress=True):
    """Run style transfer with the losses above (Adam on the pixels, as in the course).

    content_image, style_image: file paths (or (H, W, 3) uint8 arrays); image_size/style_size:
    shorter sides; content_layer/content_weight, style_layers/style_weights, tv_weight: the
    loss terms; init_random: start from noise (feature inversion with zero style weights).
    Returns (img (1, 3, H, W) normalized tensor, history of the losses per iteration)."""
    if cnn is None:
        cnn = _pretrained.load_feature_network()[0]
    return _pretrained.style_transfer_loop(
        cnn, content_image, style_image, image_size, style_size, content_layer, content_weight,
        style_layers, style_weights, tv_weight, init_random=init_random,
        num_iterations=num_iterations, seed=seed, progress=show_progress,
        extract_features=extract_features, content_loss=content_loss, style_loss=style_loss,
        tv_loss=tv_loss, gram_matrix=gram_matrix)
