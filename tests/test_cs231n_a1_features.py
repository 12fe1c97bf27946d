"""CS231n A1 features: HOG and the hue histogram against direct per-pixel references."""
import colorsys

import numpy as np

from dl4cv.testing import course_module

A1 = "cs231n/assignment1"


def hog_reference(img):
    """Loop-by-loop HOG: forward differences, unsigned orientation in 9 bins of 20 degrees,
    mean magnitude per bin over each 8x8 cell."""
    gray = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    H, W = gray.shape
    hist = np.zeros((H // 8, W // 8, 9))
    for r in range(H // 8 * 8):
        for c in range(W // 8 * 8):
            gx = gray[r, c + 1] - gray[r, c] if c + 1 < W else 0.0
            gy = gray[r + 1, c] - gray[r, c] if r + 1 < H else 0.0
            mag = np.hypot(gx, gy)
            angle = np.degrees(np.arctan2(gy, gx)) % 180.0
            hist[r // 8, c // 8, min(int(angle // 20), 8)] += mag / 64.0
    return hist.ravel()


def test_hog_feature_matches_loop_reference(rng):
    features = course_module(A1, "cs231n.features")
    img = rng.uniform(0, 255, size=(32, 24, 3))
    feat = features.hog_feature(img)
    assert feat.shape == (4 * 3 * 9,)
    np.testing.assert_allclose(feat, hog_reference(img), rtol=1e-10, atol=1e-10)


def test_color_histogram_matches_colorsys(rng):
    features = course_module(A1, "cs231n.features")
    img = rng.uniform(0, 255, size=(16, 16, 3))
    hist = features.color_histogram_hsv(img, nbin=10)
    hues = np.array([colorsys.rgb_to_hsv(*(px / 255.0))[0] * 255 for px in img.reshape(-1, 3)])
    counts = np.histogram(hues, bins=np.linspace(0, 255, 11))[0]
    np.testing.assert_allclose(hist, counts / counts.sum(), atol=1e-12)


def test_extract_features_concatenates(rng):
    features = course_module(A1, "cs231n.features")
    imgs = rng.uniform(0, 255, size=(3, 16, 16, 3))
    fns = [features.hog_feature, lambda im: features.color_histogram_hsv(im, nbin=5)]
    feats = features.extract_features(imgs, fns)
    assert feats.shape == (3, 2 * 2 * 9 + 5)
    np.testing.assert_allclose(feats[2, :36], features.hog_feature(imgs[2]))
    np.testing.assert_allclose(feats[1, 36:], features.color_histogram_hsv(imgs[1], nbin=5))
