"""dl4cv.torch_train (data, augmentation, loop, schedule, accuracy) and the EECS 498 A4
training helpers; the course's smallest ResNet overfits 50 real CIFAR-10 images."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv import torch_train as tt
from dl4cv.errors import DataMissingError
from dl4cv_tools.testing import course_module


@pytest.fixture(scope="module")
def pnn():
    return course_module("eecs498/A4", "pytorch_autograd_and_nn")


def toy_loaders(n=256, batch=32, d=3 * 8 * 8, seed=0):
    """Linearly separable 10-class toy data shaped like tiny images."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(10, d, generator=g)
    X = torch.randn(n, d, generator=g)
    y = (X @ w.T).argmax(1)
    X = X.view(n, 3, 8, 8)
    return (tt.TensorLoader(X, y, batch, shuffle=True, split="train"),
            tt.TensorLoader(X, y, 128, split="val"))


def test_normalization_matches_per_channel_formula():
    x = np.random.default_rng(0).integers(0, 256, size=(4, 32, 32, 3)).astype(np.float64)
    t = tt.to_normalized_tensor(x)
    assert t.shape == (4, 3, 32, 32) and t.dtype == torch.float32
    for c in range(3):
        expect = (x[..., c] / 255 - tt.CIFAR10_MEAN[c]) / tt.CIFAR10_STD[c]
        np.testing.assert_allclose(t[:, c].numpy(), expect, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        tt.to_normalized_tensor(np.zeros((4, 3, 32, 32)))


def test_flip_crop_outputs_are_crops_of_the_padded_image():
    x = torch.randn(16, 3, 10, 12)
    out = tt.random_flip_crop(x, pad=2, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    xp = F.pad(x, (2, 2, 2, 2))
    flips = 0
    for i in range(x.shape[0]):
        candidates = [(f, dy, dx) for f in (False, True) for dy in range(5) for dx in range(5)
                      if torch.equal(out[i], (xp[i].flip(2) if f else xp[i])[:, dy:dy + 10, dx:dx + 12])]
        assert candidates, f"image {i} is not a (flipped) crop of its padded input"
        flips += candidates[0][0]
    assert 2 <= flips <= 14  # about half flipped
    # pad 0 and no flip possible -> each image is itself or its mirror
    out0 = tt.random_flip_crop(x, pad=0)
    assert all(torch.equal(o, a) or torch.equal(o, a.flip(2)) for o, a in zip(out0, x))


def test_tensor_loader_covers_each_sample_once_per_epoch():
    X, y = torch.arange(70.).view(70, 1, 1, 1), torch.arange(70)
    loader = tt.TensorLoader(X, y, batch_size=16, shuffle=True)
    assert len(loader) == 5
    seen = torch.cat([yb for _, yb in loader])
    assert sorted(seen.tolist()) == list(range(70))
    assert len(tt.TensorLoader(X, y, 16, drop_last=True)) == 4
    assert loader.dataset.train and not tt.TensorLoader(X, y, split="test").dataset.train
    with pytest.raises(ValueError, match="labels"):
        tt.TensorLoader(X, y[:5])


def test_onecycle_schedule_shape():
    model = nn.Linear(4, 2)
    opt, sched = tt.onecycle_sgd(model, epochs=2, steps_per_epoch=50, max_lr=0.4, pct_start=0.25)
    lrs = []
    for _ in range(100):
        opt.step(), sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    peak = int(np.argmax(lrs))
    assert abs(max(lrs) - 0.4) < 1e-6 and 20 <= peak <= 26
    assert lrs[-1] < 0.4 / 100
    assert all(a <= b + 1e-12 for a, b in zip(lrs[:peak], lrs[1:peak + 1]))
    assert opt.param_groups[1]["weight_decay"] == 0.0  # biases are not decayed


def test_train_and_evaluate_on_separable_toy_data():
    torch.manual_seed(0)
    lt, lv = toy_loaders()
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 10))
    hist = tt.train(model, lt, epochs=6, loader_val=lv, device="cpu", progress=False,
                    verbose=False)
    assert hist["iters"] == 6 * len(lt) and len(hist["val_acc"]) == 6
    assert np.mean(hist["loss"][-8:]) < 0.5 * np.mean(hist["loss"][:8])
    acc = tt.evaluate(model, lv, device="cpu")
    with torch.no_grad():
        manual = (model(lv.X).argmax(1) == lv.y).float().mean().item()
    assert abs(acc - manual) < 1e-9 and acc > 0.6
    with pytest.raises(ValueError, match="epochs"):
        tt.train(model, lt, epochs=0)


def test_course_training_helpers_run_and_report(pnn, capsys):
    lt, lv = toy_loaders()
    params = [nn.init.kaiming_normal_(torch.empty(20, 192)).requires_grad_(), torch.zeros(20, requires_grad=True),
              nn.init.kaiming_normal_(torch.empty(10, 20)).requires_grad_(), torch.zeros(10, requires_grad=True)]
    acc = pnn.train_part2(pnn.two_layer_fc, params, 1e-2, loader_train=lt, loader_val=lv, print_every=4)
    out = capsys.readouterr().out
    assert "Iteration 0, loss" in out and "Iteration 7, loss" in out and 0 <= acc <= 1
    model = pnn.TwoLayerFC(192, 20, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    accs, iters = pnn.train_part345(model, opt, epochs=3, schedule=[2], verbose=False,
                                    loader_train=lt, loader_val=lv, device="cpu")
    assert iters.tolist() == [7, 15, 23] and accs.shape == (3,)
    assert abs(opt.param_groups[0]["lr"] - 0.01) < 1e-12  # decayed once, at epoch 2
    accs, iters = pnn.train_part345(model, opt, epochs=1, verbose=True, print_every=3,
                                    loader_train=lt, loader_val=lv, device="cpu")
    assert iters.tolist() == [0, 3, 6, 7]
    with pytest.raises(ValueError, match="loader_train"):
        pnn.train_part345(model, opt)


def test_smallest_course_resnet_overfits_50_cifar_images(pnn):
    try:
        data = tt.cifar10_tensors(num_train=50, num_val=10, num_test=10)
    except DataMissingError as e:
        pytest.skip(str(e))
    X, y = data["X_train"], data["y_train"]
    assert X.shape == (50, 3, 32, 32)
    torch.manual_seed(0)
    model = pnn.get_resnet("resnet32")  # the smallest course configuration (8/16/32 channels)
    loader = tt.TensorLoader(X, y, batch_size=50, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: one thread is as fast and immune to CPU contention
    try:
        hist = tt.train(model, loader, epochs=35, optimizer=opt, device="cpu", progress=False,
                        verbose=False)
        with torch.no_grad():  # the 50 images with the batch statistics they were fit with
            acc = (model.train()(X).argmax(1) == y).float().mean().item()
    finally:
        torch.set_num_threads(threads)
    assert hist["loss"][-1] < 0.1 and acc == 1.0, (hist["loss"][-5:], acc)
