"""Network visualization of both courses: saliency against an independent autograd
computation, one class-visualization step against its closed form, fooling on the project's
fallback CNN, the class-visualization GIF."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from dl4cv_tools.testing import course_module

MODULES = [("cs231n/assignment3", "cs231n.net_visualization_pytorch"),
           ("eecs498/A4", "network_visualization")]


@pytest.fixture(params=MODULES, ids=["cs231n", "eecs498"])
def nv(request):
    return course_module(*request.param)


@pytest.fixture(scope="module")
def fallback():
    """The project's fallback CIFAR-10 CNN (trained once, cached) and 3 test images it gets right."""
    from dl4cv.pretrained import load_images, load_vision_model
    vm = load_vision_model(device="cpu", verbose=False, fallback=True)
    X, y, _ = load_images(vm, num=3)
    return vm, X, y


def fooling(nv, X, target, model):
    if hasattr(nv, "make_fooling_image"):
        return nv.make_fooling_image(X, target, model)
    return nv.make_adversarial_attack(X, target, model, verbose=False)


def update(nv, img, model, target, l2_reg, lr):
    if hasattr(nv, "class_visualization_update"):
        nv.class_visualization_update(img, model, target, l2_reg, lr)
    else:
        nv.class_visualization_step(img, target, model, l2_reg=l2_reg, learning_rate=lr)


def tiny_model():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.AdaptiveAvgPool2d(2),
                      nn.Flatten(), nn.Linear(16, 5)).double().eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


@pytest.mark.reference("cs231n/assignment3",
                       "cs231n/net_visualization_pytorch.py::compute_saliency_maps")
@pytest.mark.reference("eecs498/A4", "network_visualization.py::compute_saliency_maps")
def test_saliency_matches_autograd(nv):
    model = tiny_model()
    X = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    y = torch.tensor([4, 0, 2])
    got = nv.compute_saliency_maps(X.clone(), y, model)
    assert got.shape == (3, 8, 8)
    for i in range(3):            # one image at a time, torch.autograd.functional.jacobian
        jac = torch.autograd.functional.jacobian(lambda x: model(x)[0, y[i]], X[i:i + 1])
        want = jac.abs()[0].max(dim=0).values
        torch.testing.assert_close(got[i], want, rtol=1e-10, atol=1e-12)


@pytest.mark.reference("cs231n/assignment3",
                       "cs231n/net_visualization_pytorch.py::class_visualization_update")
@pytest.mark.reference("eecs498/A4", "network_visualization.py::class_visualization_step")
def test_class_visualization_step_closed_form(nv):
    model = tiny_model()
    img0 = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    img = img0.clone().requires_grad_()
    update(nv, img, model, 3, 0.01, 2.0)
    # d/dimg [s_3(img) - 0.01 ||img||^2] = ds_3/dimg - 0.02 img. The course's TODO asks for a
    # gradient-ascent step with the learning rate; a step along the normalized gradient (our
    # solution, which keeps one learning rate usable across networks) is accepted too.
    g = torch.autograd.functional.jacobian(lambda x: model(x)[0, 3], img0) - 0.02 * img0
    step = img.detach() - img0
    plain, normalized = 2.0 * g, 2.0 * g / g.norm()
    assert any(torch.allclose(step, want, rtol=1e-10, atol=1e-12) for want in (plain, normalized)), \
        "the step is neither lr * grad nor lr * grad / ||grad||"



def test_jitter_is_a_roll(nv):
    x = torch.arange(2 * 3 * 4 * 5.0).view(2, 3, 4, 5)
    want = np.roll(np.roll(x.numpy(), 2, axis=3), -1, axis=2)
    np.testing.assert_array_equal(nv.jitter(x, 2, -1).numpy(), want)


def _fooling_reference(model, X, target, max_iter=100, lr=1.0):
    """The course's fooling loop written out: while the model does not predict `target` (at
    most max_iter steps), X += lr * g / ||g||_2 with g = d s_target / dX by
    torch.autograd.functional.jacobian."""
    x = X.clone()
    for _ in range(max_iter):
        if model(x).argmax(dim=1).item() == target:
            break
        g = torch.autograd.functional.jacobian(lambda z: model(z)[0, target], x)
        x = x + lr * g / g.norm()
    return x


@pytest.mark.reference("cs231n/assignment3", "cs231n/net_visualization_pytorch.py::make_fooling_image")
@pytest.mark.reference("eecs498/A4", "network_visualization.py::make_adversarial_attack")
def test_fooling_matches_normalized_ascent_reference(nv):
    model = tiny_model()
    X = torch.randn(1, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    start = model(X).argmax(dim=1).item()
    steps = []
    for target in range(5):
        want = _fooling_reference(model, X, target)
        got = fooling(nv, X.clone(), target, model)
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
        assert model(got).argmax(dim=1).item() == target
        steps.append((want - X).norm().item())
    assert steps[start] == 0.0                                  # already fooled: unchanged
    assert max(steps) > 1.0, "the fixed input should need more than one step for some class"


def test_fooling_fallback_cnn(nv, fallback):
    vm, X, y = fallback
    from dl4cv.images import preprocess
    x = preprocess(X[0], size=vm.image_size)
    assert vm.model(x).argmax().item() == y[0]
    for target in [(y[0] + 1) % 10, (y[0] + 5) % 10]:
        x_fool = fooling(nv, x, int(target), vm.model)
        assert vm.model(x_fool).argmax().item() == target          # the model is fooled
        assert (x_fool - x).norm() / x.norm() < 0.5                 # ... by a small change
        assert (x_fool - x).abs().max() > 0


def test_class_visualization_gif(nv, fallback, tmp_path):
    from PIL import Image
    from dl4cv.images import save_gif
    vm = fallback[0]
    img, frames = nv.create_class_visualization(
        3, vm.model, image_size=vm.image_size, learning_rate=3.0, num_iterations=12,
        max_jitter=2, frame_every=3, show_progress=False)
    assert img.shape == (1, 3, 32, 32) and len(frames) == 5
    assert frames[0].shape == (32, 32, 3) and frames[0].dtype == np.uint8
    # the optimization raises the target score well above its start
    assert vm.model(img).argmax().item() == 3
    path = save_gif(frames, tmp_path / "cv.gif", fps=4)
    with Image.open(path) as gif:
        assert gif.n_frames == 5 and gif.info.get("loop") == 0


def test_bad_input(nv, fallback):
    vm = fallback[0]
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        nv.compute_saliency_maps(torch.randn(2, 3, 64, 64), torch.tensor([0, 1]), vm.model)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        nv.compute_saliency_maps(torch.randn(2, 32, 32), torch.tensor([0, 1]), vm.model)
    with pytest.raises(ValueError):
        nv.compute_saliency_maps(torch.randn(2, 3, 32, 32), torch.tensor([0]), vm.model)
