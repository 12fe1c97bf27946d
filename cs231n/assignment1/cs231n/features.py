"""Hand-crafted image features: HOG and HSV colour histograms (CS231n assignment 1).

Given code in the course; students use it in features.ipynb.
"""
from __future__ import print_function

import matplotlib
import numpy as np


def extract_features(imgs, feature_fns, verbose=False):
    """
    Given pixel data for images and several feature functions that can operate on
    single images, apply all feature functions to all images, concatenating the
    feature vectors for each image and storing the features for all images in
    a single matrix.

    Inputs:
    - imgs: N x H X W X C array of pixel data for N images.
    - feature_fns: List of k feature functions. The ith feature function should
      take as input an H x W x D array and return a (one-dimensional) array of
      length F_i.
    - verbose: Boolean; if true, print progress.

    Returns:
    An array of shape (N, F_1 + ... + F_k) where each column is the concatenation
    of all features for a single image.
    """
    imgs = np.asarray(imgs)
    if imgs.ndim != 4:
        raise ValueError(f"imgs must be (N, H, W, C); got shape {imgs.shape}")
    num_images = imgs.shape[0]
    if num_images == 0:
        return np.array([])

    # Use the first image to determine feature dimensions
    feature_dims = []
    first_image_features = []
    for feature_fn in feature_fns:
        feats = np.asarray(feature_fn(imgs[0].squeeze())).ravel()
        feature_dims.append(feats.size)
        first_image_features.append(feats)

    # Now that we know the dimensions of the features, we can allocate a single
    # big array to store all features as columns.
    total_feature_dim = sum(feature_dims)
    imgs_features = np.zeros((num_images, total_feature_dim))
    imgs_features[0] = np.hstack(first_image_features)

    # Extract features for the rest of the images.
    bounds = np.cumsum([0] + feature_dims)
    for i in range(1, num_images):
        for feature_fn, lo, hi in zip(feature_fns, bounds[:-1], bounds[1:]):
            imgs_features[i, lo:hi] = np.asarray(feature_fn(imgs[i].squeeze())).ravel()
        if verbose and i % 1000 == 999:
            print('Done extracting features for %d / %d images' % (i + 1, num_images))

    return imgs_features


def rgb2gray(rgb):
    """Convert RGB image to grayscale

      Parameters:
        rgb : RGB image (H, W, 3)

      Returns:
        gray : grayscale image (H, W), ITU-R 601 luma weights
    """
    return np.dot(rgb[..., :3], [0.299, 0.587, 0.114])


def hog_feature(im):
    """Compute Histogram of Gradient (HOG) feature for an image

         Modified from skimage.feature.hog
         http://pydoc.net/Python/scikits-image/0.4.2/skimage.feature.hog

       Reference:
         Histograms of Oriented Gradients for Human Detection
         Navneet Dalal and Bill Triggs, CVPR 2005

      Parameters:
        im : an input grayscale or rgb image (H, W) or (H, W, 3)

      Returns:
        feat: Histogram of Gradient (HOG) feature, length (H // 8) * (W // 8) * 9:
        for every 8x8 cell, the mean gradient magnitude falling in each of 9
        unsigned-orientation bins of 20 degrees.
    """
    image = rgb2gray(im) if im.ndim == 3 else np.atleast_2d(im)
    image = image.astype(np.float64)
    sx, sy = image.shape  # image size
    orientations = 9  # number of gradient bins
    cx, cy = (8, 8)  # pixels per cell

    # Forward differences; the last column / row has no right / lower neighbour.
    gx = np.zeros(image.shape)
    gy = np.zeros(image.shape)
    gx[:, :-1] = np.diff(image, n=1, axis=1)
    gy[:-1, :] = np.diff(image, n=1, axis=0)
    grad_mag = np.sqrt(gx ** 2 + gy ** 2)
    # Unsigned orientation in [0, 180): a gradient and its opposite fall in the same bin.
    grad_ori = np.rad2deg(np.arctan2(gy, gx)) % 180.0
    bins = np.minimum((grad_ori * orientations / 180.0).astype(np.int64), orientations - 1)

    n_cellsx = int(np.floor(sx / cx))  # number of cells in x
    n_cellsy = int(np.floor(sy / cy))  # number of cells in y
    mag = grad_mag[:n_cellsx * cx, :n_cellsy * cy]
    b = bins[:n_cellsx * cx, :n_cellsy * cy]
    # One-hot over bins, weighted by magnitude, then the mean over each 8x8 cell.
    onehot = (b[..., None] == np.arange(orientations)) * mag[..., None]      # (sx, sy, 9)
    hist = onehot.reshape(n_cellsx, cx, n_cellsy, cy, orientations).mean(axis=(1, 3))
    return hist.ravel()


def color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    """
    Compute color histogram for an image using hue.

    Inputs:
    - im: H x W x C array of pixel data for an RGB image.
    - nbin: Number of histogram bins. (default: 10)
    - xmin: Minimum pixel value (default: 0)
    - xmax: Maximum pixel value (default: 255)
    - normalized: Whether to normalize the histogram (default: True)

    Returns:
      1D vector of length nbin giving the color histogram over the hue of the
      input image.
    """
    ndim = im.ndim
    bins = np.linspace(xmin, xmax, nbin + 1)
    hsv = matplotlib.colors.rgb_to_hsv(im / xmax) * xmax
    imhist, bin_edges = np.histogram(hsv[:, :, 0], bins=bins, density=normalized)
    imhist = imhist * np.diff(bin_edges)

    # return histogram
    return imhist
