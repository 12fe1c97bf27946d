"""CS231n assignment 3 Self_Supervised_Learning (2021-2025): the official notebook's sanity
checks, replayed on our modules.

The course reads its expected values from `simclr_sanity_check.key` (a torch.save dict:
left/right (2, 3), sim (2, 1), loss for tau 5.0 and 1.0, sim_matrix (4, 4), data_augmentation
(2, 3, 32, 32)). The file is in the course's starter zip, not in the data mirror
(`./get_datasets.sh simclr_sanity_check` extracts it to
data/course_files/cs231n/assignment3/). When it is on disk the checks read it; otherwise they use
the key's figures below (copied from the 2024 starter's file) so that they run in CI. The
data-augmentation check needs the file and the full CIFAR-10 (its first two training images).
Thresholds are the course's: errors "less than 1e-07"; sim_matrix with torch.isclose.
"""
import numpy as np
import pytest
import torch

from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"
KEY_FILE = ("course_files", "cs231n", "assignment3", "simclr_sanity_check.key")

# The figures of the course's simclr_sanity_check.key (float32 values, printed exactly).
KEY_FIGURES = {
    "left": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
    "right": [[0.0, 8.0, 3.0], [10.0, 4.0, 9.0]],
    "sim": [[0.782014012336731], [0.9256064891815186]],
    "loss": {"5.0": 1.0883455276489258, "1.0": 1.0537996292114258},
    "sim_matrix": [[0.9999998807907104, 0.9746317863464355, 0.782014012336731, 0.8568708896636963],
                   [0.9746317863464355, 1.0, 0.7736084461212158, 0.9256064891815186],
                   [0.782014012336731, 0.7736084461212158, 1.0, 0.4919913411140442],
                   [0.8568708896636963, 0.9256064891815186, 0.4919913411140442, 1.0]],
}


def key_path():
    from dl4cv.paths import data_dir
    return data_dir().joinpath(*KEY_FILE)


def answers():
    """The course's answers: the key file when on disk, else its figures."""
    path = key_path()
    if path.exists():
        return torch.load(path, weights_only=False)
    f32 = lambda v: torch.tensor(v, dtype=torch.float32)  # noqa: E731
    return {"left": f32(KEY_FIGURES["left"]), "right": f32(KEY_FIGURES["right"]),
            "sim": f32(KEY_FIGURES["sim"]), "loss": dict(KEY_FIGURES["loss"]),
            "sim_matrix": f32(KEY_FIGURES["sim_matrix"])}


def cl():
    return course_module(A3, "cs231n.simclr.contrastive_loss")


def test_key_figures_match_the_key_file_when_present():
    path = key_path()
    if not path.exists():
        pytest.skip(f"{path} not on disk (./get_datasets.sh simclr_sanity_check)")
    key = torch.load(path, weights_only=False)
    for name in ("left", "right", "sim", "sim_matrix"):
        assert torch.equal(key[name], torch.tensor(KEY_FIGURES[name], dtype=torch.float32)), name
    assert key["loss"] == KEY_FIGURES["loss"]


def test_sim():
    a = answers()
    for i in range(2):
        output = cl().sim(a["left"][i], a["right"][i]).cpu().numpy()
        assert cl().rel_error(a["sim"][i].numpy(), output) < 1e-7


@pytest.mark.parametrize("tau", ["5.0", "1.0"])
def test_loss_naive(tau):
    a = answers()
    loss = cl().simclr_loss_naive(a["left"], a["right"], float(tau)).item()
    assert cl().rel_error(a["loss"][tau], loss) < 1e-7


def test_sim_positive_pairs():
    a = answers()
    out = cl().sim_positive_pairs(a["left"], a["right"]).cpu().numpy()
    assert cl().rel_error(a["sim"].numpy(), out) < 1e-7


def test_sim_matrix():
    a = answers()
    got = cl().compute_sim_matrix(torch.cat([a["left"], a["right"]], dim=0)).cpu()
    assert torch.isclose(got, a["sim_matrix"]).all(), (got, a["sim_matrix"])


@pytest.mark.parametrize("tau", ["5.0", "1.0"])
def test_loss_vectorized(tau):
    a = answers()
    loss = cl().simclr_loss_vectorized(a["left"], a["right"], float(tau), device=a["left"].device).item()
    assert cl().rel_error(a["loss"][tau], loss) < 1e-7


def test_data_augmentation():
    """The course's test_data_augmentation: the first batch of 2 training images, augmented
    with compute_train_transform(seed=2147483647), loaded by 2 workers without shuffling."""
    path = key_path()
    if not path.exists():
        pytest.skip(f"{path} not on disk (./get_datasets.sh simclr_sanity_check)")
    from dl4cv.data.cifar10_torchvision import CIFAR10
    du = course_module(A3, "cs231n.simclr.data_utils")
    transform = du.compute_train_transform(seed=2147483647)
    trainset = CIFAR10(train=True, transform=transform)
    if len(trainset) != 50000:
        pytest.skip("needs the full CIFAR-10 (./get_datasets.sh cifar10): the key was made "
                    "from its first two training images")
    loader = torch.utils.data.DataLoader(trainset, batch_size=2, shuffle=False, num_workers=2)
    images, _ = next(iter(loader))
    expected = torch.load(path, weights_only=False)["data_augmentation"]
    assert cl().rel_error(images.numpy(), expected.numpy()) < 1e-7
