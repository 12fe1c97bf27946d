"""CS231n assignment 3 Self_Supervised_Learning (SimCLR): the student functions of
cs231n/simclr/ against independent references.

- NT-Xent written with torch ops (F.cross_entropy over the masked similarity logits, float64),
  values AND gradients, vs simclr_loss_naive and simclr_loss_vectorized(device='cpu');
- sim, sim_positive_pairs, compute_sim_matrix vs F.cosine_similarity;
- compute_train_transform's composition vs the course's list (types and parameters), and its
  seeding; CIFAR10Pair returning two differently augmented views of one image with its label;
- utils.train: the loss of one fixed batch and the parameter step vs the reference.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms as T

from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"


def closs():
    return course_module(A3, "cs231n.simclr.contrastive_loss")


def data_utils():
    return course_module(A3, "cs231n.simclr.data_utils")


def reference_nt_xent(out_left, out_right, tau):
    """NT-Xent as a 2N-way classification: row i's logits are cos(z_i, z_m) / tau for m != i
    (the diagonal masked with -inf), its target the partner view (i + N) mod 2N."""
    n = out_left.shape[0]
    z = torch.cat([out_left, out_right])
    logits = F.cosine_similarity(z[:, None, :], z[None, :, :], dim=-1) / tau
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(logits, target)


def value_and_grads(fn, left, right, tau):
    left = left.clone().requires_grad_(True)
    right = right.clone().requires_grad_(True)
    loss = fn(left, right, tau)
    loss.backward()
    return loss.detach(), left.grad, right.grad


CASES = [(4, 5, 0.5, 0), (3, 8, 1.0, 1), (6, 3, 5.0, 2), (2, 16, 0.1, 3), (1, 4, 0.7, 4)]


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/contrastive_loss.py::simclr_loss_naive")
@pytest.mark.parametrize("n,d,tau,seed", CASES)
def test_loss_naive_value_and_gradients_vs_cross_entropy(n, d, tau, seed):
    g = torch.Generator().manual_seed(seed)
    left, right = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)
    ref = value_and_grads(reference_nt_xent, left, right, tau)
    ours = value_and_grads(closs().simclr_loss_naive, left, right, tau)
    for a, b in zip(ours, ref):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12), (a, b)


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/contrastive_loss.py::simclr_loss_vectorized")
@pytest.mark.parametrize("n,d,tau,seed", CASES)
def test_loss_vectorized_value_and_gradients_vs_cross_entropy(n, d, tau, seed):
    g = torch.Generator().manual_seed(100 + seed)
    left, right = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)
    vec = lambda l, r, t: closs().simclr_loss_vectorized(l, r, t, device="cpu")  # noqa: E731
    ref = value_and_grads(reference_nt_xent, left, right, tau)
    ours = value_and_grads(vec, left, right, tau)
    assert ours[0].dim() == 0, "the loss must be a scalar"
    for a, b in zip(ours, ref):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12), (a, b)


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/contrastive_loss.py::simclr_loss_vectorized")
def test_loss_not_invariant_to_pairing():
    """Swapping the partners of two rows changes the loss: the positives are rows k, k+N."""
    g = torch.Generator().manual_seed(7)
    left, right = torch.randn(4, 6, generator=g, dtype=torch.float64), torch.randn(4, 6, generator=g, dtype=torch.float64)
    right_swapped = right[[1, 0, 2, 3]]
    fn = lambda l, r, t: closs().simclr_loss_vectorized(l, r, t, device="cpu")  # noqa: E731
    assert torch.isclose(fn(left, right, 0.5), reference_nt_xent(left, right, 0.5))
    assert torch.isclose(fn(left, right_swapped, 0.5), reference_nt_xent(left, right_swapped, 0.5))
    assert not torch.isclose(fn(left, right, 0.5), fn(left, right_swapped, 0.5))


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/contrastive_loss.py::sim")
def test_sim_vs_cosine_similarity():
    g = torch.Generator().manual_seed(11)
    for d in (1, 3, 17):
        a, b = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64) * 3
        out = closs().sim(a, b)
        assert out.numel() == 1
        assert torch.allclose(out.reshape(()), F.cosine_similarity(a, b, dim=0), rtol=1e-12)
        # 1xD inputs, as the docstring allows
        assert torch.allclose(closs().sim(a[None], b[None]).reshape(()), F.cosine_similarity(a, b, dim=0), rtol=1e-12)


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/contrastive_loss.py::sim_positive_pairs")
def test_sim_positive_pairs_vs_cosine_similarity():
    g = torch.Generator().manual_seed(12)
    left, right = torch.randn(5, 7, generator=g, dtype=torch.float64), torch.randn(5, 7, generator=g, dtype=torch.float64)
    right = right * torch.arange(1, 6, dtype=torch.float64)[:, None]   # rows of different norms
    out = closs().sim_positive_pairs(left, right)
    assert out.shape == (5, 1)
    assert torch.allclose(out, F.cosine_similarity(left, right, dim=1)[:, None], rtol=1e-12)


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/contrastive_loss.py::compute_sim_matrix")
def test_compute_sim_matrix_vs_cosine_similarity():
    g = torch.Generator().manual_seed(13)
    out = torch.randn(6, 4, generator=g, dtype=torch.float64) * torch.arange(1, 7, dtype=torch.float64)[:, None]
    got = closs().compute_sim_matrix(out)
    ref = F.cosine_similarity(out[:, None, :], out[None, :, :], dim=-1)
    assert got.shape == (6, 6)
    assert torch.allclose(got, ref, rtol=1e-12, atol=1e-12)


def _describe(t):
    """A transform as (type name, its parameters), recursing into RandomApply."""
    if isinstance(t, T.RandomResizedCrop):
        return ("RandomResizedCrop", tuple(t.size), tuple(t.scale), tuple(round(r, 6) for r in t.ratio))
    if isinstance(t, (T.RandomHorizontalFlip, T.RandomGrayscale)):
        return (type(t).__name__, t.p)
    if isinstance(t, T.RandomApply):
        return ("RandomApply", t.p, tuple(_describe(s) for s in t.transforms))
    if isinstance(t, T.ColorJitter):
        return ("ColorJitter", tuple(t.brightness), tuple(t.contrast), tuple(t.saturation), tuple(t.hue))
    if isinstance(t, T.Normalize):
        return ("Normalize", tuple(t.mean), tuple(t.std))
    return (type(t).__name__,)


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/data_utils.py::compute_train_transform")
def test_train_transform_is_the_course_composition():
    got = data_utils().compute_train_transform()
    assert isinstance(got, T.Compose)
    course = T.Compose([T.RandomResizedCrop(32), T.RandomHorizontalFlip(p=0.5),
                        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
                        T.RandomGrayscale(p=0.2), T.ToTensor(),
                        T.Normalize([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])])
    assert [_describe(t) for t in got.transforms] == [_describe(t) for t in course.transforms]


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/data_utils.py::compute_train_transform")
def test_train_transform_seeding_matches_the_course_list():
    """Built with the same seed, ours and the course's list draw the same random views."""
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    ours = data_utils().compute_train_transform(seed=5)
    a = torch.stack([ours(img) for _ in range(6)])
    import random
    random.seed(5)
    torch.random.manual_seed(5)
    course = T.Compose([T.RandomResizedCrop(32), T.RandomHorizontalFlip(p=0.5),
                        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
                        T.RandomGrayscale(p=0.2), T.ToTensor(),
                        T.Normalize([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])])
    b = torch.stack([course(img) for _ in range(6)])
    assert torch.equal(a, b)


def _pair_dataset(transform, n=3, target_transform=None):
    """A CIFAR10Pair over `n` seeded random images, without files on disk."""
    cls = data_utils().CIFAR10Pair
    ds = cls.__new__(cls)
    ds.data = np.random.default_rng(1).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    ds.targets = [4, 7, 1][:n]
    ds.transform, ds.target_transform = transform, target_transform
    return ds


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/data_utils.py::CIFAR10Pair.__getitem__")
def test_cifar10_pair_two_views_of_the_same_image_with_label():
    seen = []

    def recording(img):
        seen.append(np.asarray(img).copy())
        return torch.tensor(len(seen))          # a different value per call
    ds = _pair_dataset(recording)
    x_i, x_j, target = ds[1]
    assert len(seen) == 2, "the transform must be applied once per view"
    assert all(np.array_equal(s, ds.data[1]) for s in seen), "both views come from image 1"
    assert (x_i.item(), x_j.item(), target) == (1, 2, 7)

    # with a random augmentation the two views differ, and the label is passed through
    # (our own transform: this test does not depend on compute_train_transform)
    torch.manual_seed(0)
    ds = _pair_dataset(T.Compose([T.RandomResizedCrop(32), T.ToTensor()]), target_transform=lambda y: y + 100)
    x_i, x_j, target = ds[0]
    assert x_i.shape == x_j.shape == (3, 32, 32) and target == 104
    assert not torch.equal(x_i, x_j)


class TinySimCLR(nn.Module):
    """A small model with the course Model's interface: x -> (h / ||h||, z / ||z||)."""

    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 8), nn.Tanh())
        self.g = nn.Linear(8, 5)

    def forward(self, x):
        h = self.f(x)
        return F.normalize(h, dim=-1), F.normalize(self.g(h), dim=-1)


@pytest.mark.reference("cs231n/assignment3", "cs231n/simclr/utils.py::train")
def test_train_loss_and_step_on_one_fixed_batch(monkeypatch):
    utils = course_module(A3, "cs231n.simclr.utils")
    # train's own job is the forward passes and the loss call: the loss it calls is replaced
    # by the reference (same signature), so this test does not depend on contrastive_loss.py
    calls = []

    def loss_with_device(out_left, out_right, tau, device="cuda"):
        calls.append((tau, str(device)))
        return reference_nt_xent(out_left, out_right, tau)
    monkeypatch.setattr(utils, "simclr_loss_vectorized", loss_with_device)
    torch.manual_seed(0)
    model = TinySimCLR().double()
    g = torch.Generator().manual_seed(3)
    x_i, x_j = torch.randn(6, 3, 4, 4, generator=g, dtype=torch.float64), torch.randn(6, 3, 4, 4, generator=g, dtype=torch.float64)
    batch = [(x_i, x_j, torch.arange(6))]

    ref_model = TinySimCLR().double()
    ref_model.load_state_dict(model.state_dict())
    ref_loss = reference_nt_xent(ref_model(x_i)[1], ref_model(x_j)[1], 0.3)
    ref_loss.backward()
    expected = {k: p.detach() - 0.1 * p.grad for k, p in ref_model.named_parameters()}

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    avg = utils.train(model, batch, opt, 1, 1, batch_size=6, temperature=0.3, device="cpu")
    assert calls == [(0.3, "cpu")], "one loss call per batch, with the temperature and device"
    assert abs(avg - ref_loss.item()) < 1e-10
    for k, p in model.named_parameters():
        assert torch.allclose(p.detach(), expected[k], rtol=1e-9, atol=1e-12), k


def test_model_matches_the_stand_in_architecture():
    """The given Model and the project's stand-in share the state_dict (keys and shapes), so
    the stand-in's weights load into the course's Model and its Classifier's f."""
    from dl4cv.standins.simclr import SimCLRModel
    ours = course_module(A3, "cs231n.simclr.model").Model().state_dict()
    theirs = SimCLRModel().state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}


def test_stand_in_recipe_uses_the_course_loss_and_augmentation():
    """The stand-in trains with NT-Xent (= the reference) and the course's augmentation list."""
    from dl4cv.standins import simclr as standin
    g = torch.Generator().manual_seed(21)
    left, right = torch.randn(5, 6, generator=g, dtype=torch.float64), torch.randn(5, 6, generator=g, dtype=torch.float64)
    assert torch.allclose(standin.nt_xent(left, right, 0.5), reference_nt_xent(left, right, 0.5), rtol=1e-12)
    course = data_utils().compute_train_transform()
    assert [_describe(t) for t in standin.augmentation().transforms] == [_describe(t) for t in course.transforms]
