"""CS231n 2025 assignment 3 CLIP_DINO: the official notebook's checks, replayed on our module.

- `get_similarity_no_loop` on the course's fixed input (seed 231, N=6 texts, M=5 images, D=10)
  against its hard-coded 6x5 expected matrix: "relative errors less than 1e-5";
- the notebook's calls with the course's shapes: DINO ViT-S/8 features of one 480x480 frame
  are (3600, 384) with (3600,) labels; `DINOSegmentation(device, num_classes)` (inp_dim 384
  by default) trains with num_iters=500 and predicts (3600,) class ids; `compute_iou` returns
  the mean over classes;
- not replayed here: the checks that need the real models and data (the zero-shot predictions
  on the ten COCO images, EXPECTED_ZERO_SHOT below; the retrieval answers; mean IoU > 0.45 /
  > 0.50 / > 0.55 on DAVIS video 7 with DINO ViT-S/8). The notebook checks them when CLIP,
  DINO and DAVIS are present (they need internet).
"""
import numpy as np
import torch

from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"

# The course's expected output of get_similarity_no_loop (CLIP_DINO.ipynb).
EXPECTED_SIMILARITY = np.array([
    [0.1867811, -0.23494351, 0.44155994, -0.18950461, 0.00100103],
    [0.17905031, -0.25469488, -0.64330417, 0.25097957, -0.09327742],
    [-0.4407011, -0.4365381, 0.32857686, -0.3765278, 0.01049389],
    [0.24815483, 0.42157224, -0.08459304, 0.14132318, -0.26935193],
    [0.02309848, -0.01441101, 0.5469337, 0.6018773, 0.21581158],
    [0.41579214, -0.014449, -0.7242257, 0.39348006, 0.0822239],
]).astype(np.float32)

# What the course's notebook prints for its ten COCO images (real CLIP ViT-B/32 only).
EXPECTED_ZERO_SHOT = ['a person', 'an animal', 'an animal', 'food', 'a person', 'a landscape',
                      'other', 'other', 'other', 'a person']
COURSE_IOU_TARGETS = {"first frame": 0.45, "last frame": 0.50, "all frames": 0.55}


def cd():
    return course_module(A3, "cs231n.clip_dino")


def rel_error(x, y):
    """The notebook's relative error."""
    return np.max(np.abs(x - y) / (np.maximum(1e-10, np.abs(x) + np.abs(y))))


def test_similarity_no_loop_course_check():
    torch.manual_seed(231)
    np.random.seed(231)
    M, N, D = 5, 6, 10
    test_text_features = torch.randn(N, D)
    test_image_features = torch.randn(M, D)
    out = cd().get_similarity_no_loop(test_text_features, test_image_features)
    assert rel_error(out.numpy(), EXPECTED_SIMILARITY) < 1e-5


def test_segmentation_with_the_course_shapes():
    """The notebook's DINOSegmentation cell on features of the course's shapes (seed 231):
    X_train (3600, 384), Y_train (3600,) with 4 classes (video 7 'soapbox': num_classes 4)."""
    torch.manual_seed(231)
    np.random.seed(231)
    g = torch.Generator().manual_seed(0)
    num_classes = 4
    centers = torch.randn(num_classes, 384, generator=g)
    Y_train = torch.randint(0, num_classes, (3600,), generator=g)
    X_train = centers[Y_train] + 0.5 * torch.randn(3600, 384, generator=g)
    seg = cd().DINOSegmentation("cpu", num_classes)
    seg.train(X_train, Y_train, num_iters=500)
    Y_pred = seg.inference(X_train)
    assert Y_pred.shape == (3600,)
    iou = cd().compute_iou(Y_pred, Y_train, num_classes)
    assert 0.0 <= float(iou) <= 1.0 + 1e-6
    assert float(iou) > 0.9           # separable features are fitted


def test_notebook_keeps_the_course_expected_values():
    """The notebook's checks that need the real models use the course's figures unchanged."""
    import json
    from pathlib import Path
    nb = json.loads((Path(__file__).resolve().parents[1] / A3 / "CLIP_DINO.ipynb").read_text())
    src = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    flat = " ".join(src.split())
    assert "expected_preds = " + repr(EXPECTED_ZERO_SHOT).replace(",\n", ", ") in flat
    for target in COURSE_IOU_TARGETS.values():
        assert f"above={target:.2f})" in src
    assert "get_sample(7)" in src and "train_fi = 40" in src and "num_iters=500" in src
