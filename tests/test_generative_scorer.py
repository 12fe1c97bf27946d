"""dl4cv.standins.mnist_scorer: the scoring functions, checked with a stand-in classifier whose
predictions are known by construction, the augmentation, and input checks."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv.standins import mnist_scorer as ms


class PixelClassifier(nn.Module):
    """Logits = 5 * (the first 10 pixels): image i with pixel d lit is classified d, with
    softmax probability e^5 / (e^5 + 9)."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return 5.0 * x.reshape(len(x), -1)[:, :10] + 0 * self.dummy


def digits(labels):
    x = torch.zeros(len(labels), 1, 28, 28)
    x.view(len(labels), -1)[torch.arange(len(labels)), torch.as_tensor(labels)] = 1.0
    return x


def test_scores_match_construction():
    model = PixelClassifier()
    labels = np.array([0, 1, 1, 2, 2, 2, 9, 9, 9, 9])
    images = digits(labels)
    hist = ms.class_histogram(images, model=model)
    np.testing.assert_array_equal(hist, np.bincount(labels, minlength=10))
    p = np.exp(5) / (np.exp(5) + 9)
    assert ms.mean_max_probability(images, model=model) == pytest.approx(p, rel=1e-6)
    requested = labels.copy()
    requested[:3] = 5  # three of ten requests not met
    assert ms.fraction_classified_as(images, requested, model=model) == pytest.approx(0.7)
    assert ms.fraction_classified_as(images, 9, model=model) == pytest.approx(0.4)
    stats = ms.score_samples(images, requested=requested, model=model)
    assert stats["n"] == 10 and stats["min_class_fraction"] == 0.0
    np.testing.assert_allclose(stats["class_fractions"], np.bincount(labels, minlength=10) / 10)
    assert "9:4" in ms.format_scores(stats)


def test_value_range_and_layouts():
    model = PixelClassifier()
    labels = [3, 7]
    x01 = digits(labels)
    probs = ms.predict_proba(x01, model=model)
    torch.testing.assert_close(ms.predict_proba(x01 * 2 - 1, model=model, value_range=(-1, 1)), probs)
    torch.testing.assert_close(ms.predict_proba(x01.reshape(2, 784).numpy(), model=model), probs)
    torch.testing.assert_close(ms.predict_proba(x01.reshape(2, 28, 28), model=model), probs)
    torch.testing.assert_close(probs, F.softmax(5 * x01.reshape(2, -1)[:, :10], 1))


def test_bad_input():
    model = PixelClassifier()
    with pytest.raises(ValueError, match="32"):
        ms.predict_proba(torch.zeros(2, 1, 32, 32), model=model)
    with pytest.raises(ValueError, match="0-9"):
        ms.fraction_classified_as(digits([1, 2]), [1, 10], model=model)
    with pytest.raises(ValueError):
        ms.fraction_classified_as(digits([1, 2]), [1, 2, 3], model=model)


def test_random_affine_identity_and_shift():
    x = torch.rand(4, 1, 28, 28)
    g = torch.Generator().manual_seed(0)
    same = ms.random_affine(x, g, max_rot=0, max_shift=0, scale=(1, 1), max_shear=0)
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    moved = ms.random_affine(x, g)
    assert moved.shape == x.shape and not torch.allclose(moved, x)


def test_mnistnet_shapes():
    model = ms.MnistNet()
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert sum(p.numel() for p in model.parameters()) < 500_000
