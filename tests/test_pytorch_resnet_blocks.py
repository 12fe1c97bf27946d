"""EECS 498 A4 part 1 (pytorch_autograd_and_nn): barebones nets against torch.nn /
torch.nn.functional, ResNet blocks' shapes and parameter counts against hand-computed
formulas, and the course networks against the same architecture built from stock layers."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv_tools.testing import course_module
from dl4cv.torch_train import copy_weights_by_position, stock_preresnet


@pytest.fixture(scope="module")
def pnn():
    return course_module("eecs498/A4", "pytorch_autograd_and_nn")


def rel(a, b):
    return ((a - b).abs().max() / (a.abs() + b.abs()).clamp(min=1e-12).max()).item()


# ------------------------------------------------------------------ barebones / Module / Sequential
def test_two_layer_fc_matches_linear_layers(pnn):
    x = torch.randn(5, 3, 4, 4, dtype=torch.float64)
    w1, b1 = torch.randn(7, 48, dtype=torch.float64), torch.randn(7, dtype=torch.float64)
    w2, b2 = torch.randn(10, 7, dtype=torch.float64), torch.randn(10, dtype=torch.float64)
    expect = torch.clamp(x.reshape(5, -1) @ w1.T + b1, min=0) @ w2.T + b2
    assert rel(pnn.two_layer_fc(x, [w1, b1, w2, b2]), expect) < 1e-12


@pytest.mark.reference("eecs498/A4", "pytorch_autograd_and_nn.py::three_layer_convnet")
def test_three_layer_convnet_matches_torch_nn(pnn):
    x = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    c1 = nn.Conv2d(3, 6, 5, padding=2).double()
    c2 = nn.Conv2d(6, 9, 3, padding=1).double()
    fc = nn.Linear(9 * 32 * 32, 10).double()
    ref = fc(torch.relu(c2(torch.relu(c1(x)))).flatten(1))
    params = [c1.weight, c1.bias, c2.weight, c2.bias, fc.weight, fc.bias]
    assert rel(pnn.three_layer_convnet(x, params), ref) < 1e-10
    with pytest.raises(ValueError, match="conv_w1"):
        pnn.three_layer_convnet(torch.zeros(2, 4, 32, 32, dtype=torch.float64), params)


@pytest.mark.reference("eecs498/A4",
                       "pytorch_autograd_and_nn.py::initialize_three_layer_conv_part2")
def test_initialize_part2_shapes_init_and_grads(pnn):
    params = pnn.initialize_three_layer_conv_part2(dtype=torch.float64)
    shapes = [(32, 3, 5, 5), (32,), (16, 32, 3, 3), (16,), (10, 16 * 32 * 32), (10,)]
    assert [tuple(p.shape) for p in params] == shapes
    assert all(p.requires_grad and p.dtype == torch.float64 for p in params)
    # Kaiming normal: std = sqrt(2 / fan_in). Within 4 standard errors of the sample std
    # (0.7% for fc_w's 163,840 entries, 5.8% for conv_w1's 2,400).
    for w in params[0::2]:
        fan_in = w[0].numel()
        tol = 4 / math.sqrt(2 * w.numel())
        assert abs(w.std().item() / math.sqrt(2 / fan_in) - 1) < tol, (tuple(w.shape), w.std())
    assert all((b == 0).all() for b in params[1::2])
    scores = pnn.three_layer_convnet(torch.randn(2, 3, 32, 32, dtype=torch.float64), params)
    scores.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in params)


def test_module_and_sequential_nets_agree_with_barebones(pnn):
    model, opt = pnn.initialize_three_layer_conv_part3()
    assert isinstance(opt, torch.optim.SGD)
    g = opt.param_groups[0]
    assert (g["lr"], g["weight_decay"], g["momentum"]) == (3e-3, 1e-4, 0)
    model = model.double()
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert [tuple(m.weight.shape) for m in convs] == [(32, 3, 5, 5), (16, 32, 3, 3), (10, 16384)]
    assert all((m.bias == 0).all() for m in convs)
    params = [t for m in convs for t in (m.weight, m.bias)]
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    assert rel(model(x), pnn.three_layer_convnet(x, params)) < 1e-12

    seq, opt4 = pnn.initialize_three_layer_conv_part4()
    assert isinstance(seq, nn.Sequential)
    g = opt4.param_groups[0]
    assert (g["lr"], g["weight_decay"], g["momentum"], g["nesterov"]) == (1e-2, 1e-4, 0.5, True)
    seq = seq.double()
    copy_weights_by_position(model, seq)
    assert rel(seq(x), model(x)) < 1e-12


def _three_layer_reference(c1, c2, num_classes=10):
    """The course's Part III ConvNet in stock layers: conv 5x5 pad 2, ReLU, conv 3x3 pad 1,
    ReLU, flatten, linear (32x32 inputs)."""
    return nn.Sequential(nn.Conv2d(3, c1, 5, padding=2), nn.ReLU(), nn.Conv2d(c1, c2, 3, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(c2 * 32 * 32, num_classes)).double()


def _copy_by_type(src, dst):
    """Conv2d / Linear weights of src into dst, matched in order of the modules."""
    kinds = (nn.Conv2d, nn.Linear)
    a = [m for m in src.modules() if isinstance(m, kinds)]
    b = [m for m in dst.modules() if isinstance(m, kinds)]
    assert [type(m) for m in a] == [type(m) for m in b]
    with torch.no_grad():
        for x, y in zip(a, b):
            assert x.weight.shape == y.weight.shape, (x, y)
            y.weight.copy_(x.weight)
            y.bias.copy_(x.bias)


def _compare_training(model, opt, ref, ref_opt, steps=3):
    """Same forward values and input gradients; then `steps` optimizer steps on a fixed batch
    leave the same parameters."""
    g = torch.Generator().manual_seed(11)
    x = torch.randn(4, 3, 32, 32, generator=g, dtype=torch.float64)
    y = torch.tensor([1, 7, 3, 0])
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    sa, sb = model(xa), ref(xb)
    assert rel(sa, sb) < 1e-12
    sa.square().sum().backward()
    sb.square().sum().backward()
    assert rel(xa.grad, xb.grad) < 1e-10
    for _ in range(steps):
        for m, o in ((model, opt), (ref, ref_opt)):
            o.zero_grad()
            F.cross_entropy(m(x), y).backward()
            o.step()
    pa = [p for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) for p in (m.weight, m.bias)]
    for a, b in zip(pa, ref.parameters()):
        assert rel(a, b) < 1e-10


def _assert_kaiming(model):
    """Kaiming-normal weights (std sqrt(2 / fan_in), within 5 standard errors), zero biases."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            n, fan_in = m.weight.numel(), m.weight[0].numel()
            assert abs(m.weight.std().item() / math.sqrt(2 / fan_in) - 1) < 5 / math.sqrt(2 * n), m
            assert abs(m.weight.mean().item()) < 5 * math.sqrt(2 / fan_in / n), m
            assert (m.bias == 0).all(), m


@pytest.mark.reference("eecs498/A4", "pytorch_autograd_and_nn.py::ThreeLayerConvNet.__init__",
                       "pytorch_autograd_and_nn.py::ThreeLayerConvNet.forward",
                       "pytorch_autograd_and_nn.py::initialize_three_layer_conv_part3",
                       "pytorch_autograd_and_nn.py::initialize_three_layer_conv_part4")
def test_three_layer_module_and_sequential_match_stock_layers(pnn):
    """ThreeLayerConvNet and the Part III / IV initializers against stock torch.nn layers with
    the weights copied in (float64): forward values and input gradients, and three steps of
    their optimizers against torch.optim.SGD with the course's hyper-parameters."""
    torch.manual_seed(0)
    net = pnn.ThreeLayerConvNet(3, 6, 5, 10).double()
    _assert_kaiming(net)
    ref = _three_layer_reference(6, 5)
    _copy_by_type(net, ref)
    _compare_training(net, torch.optim.SGD(net.parameters(), lr=0.1),
                      ref, torch.optim.SGD(ref.parameters(), lr=0.1))

    model, opt = pnn.initialize_three_layer_conv_part3()
    assert isinstance(model, pnn.ThreeLayerConvNet)
    _assert_kaiming(model)
    model = model.double()          # in place: the optimizer keeps the same parameters
    ref = _three_layer_reference(32, 16)
    _copy_by_type(model, ref)
    _compare_training(model, opt, ref, torch.optim.SGD(ref.parameters(), lr=3e-3, weight_decay=1e-4))

    seq, opt4 = pnn.initialize_three_layer_conv_part4()
    seq = seq.double()
    ref = _three_layer_reference(32, 16)
    _copy_by_type(seq, ref)
    _compare_training(seq, opt4, ref, torch.optim.SGD(ref.parameters(), lr=1e-2, weight_decay=1e-4,
                                                      momentum=0.5, nesterov=True))


def test_two_layer_fc_module(pnn):
    m = pnn.TwoLayerFC(48, 7, 10).double()
    x = torch.randn(4, 3, 4, 4, dtype=torch.float64)
    assert rel(m(x), pnn.two_layer_fc(x, [m.fc1.weight, m.fc1.bias, m.fc2.weight, m.fc2.bias])) < 1e-12


# ------------------------------------------------------------------ ResNet blocks
def conv_params(k, cin, cout):
    return k * k * cin * cout + cout


def plain_params(cin, cout):
    return 2 * cin + conv_params(3, cin, cout) + 2 * cout + conv_params(3, cout, cout)


def shortcut_params(cin, cout, down):
    return 0 if (cin == cout and not down) else conv_params(1, cin, cout)


def bottleneck_params(cin, cout):
    m = cout // 4
    return (2 * cin + conv_params(1, cin, m) + 2 * m + conv_params(3, m, m) + 2 * m
            + conv_params(1, m, cout))


def block_params(kind, cin, cout, down):
    if kind == "plain":
        return plain_params(cin, cout)
    main = plain_params(cin, cout) if kind == "residual" else bottleneck_params(cin, cout)
    return main + shortcut_params(cin, cout, down)


KIND = {"PlainBlock": "plain", "ResidualBlock": "residual", "ResidualBottleneckBlock": "bottleneck"}


def count(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name", ["PlainBlock", "ResidualBlock", "ResidualBottleneckBlock"])
def test_block_course_shape_checks(pnn, name):
    block = getattr(pnn, name)
    data = torch.zeros(2, 3, 5, 6)
    assert list(block(3, 10)(data).shape) == [2, 10, 5, 6]
    assert list(block(3, 10, downsample=True)(data).shape) == [2, 10, 3, 3]
    assert list(pnn.ResNetStem(3, 10)(data).shape) == [2, 10, 5, 6]


@pytest.mark.parametrize("net", ["plain32", "resnet32", "resnet47"])
def test_every_course_configuration_shapes_and_parameter_counts(pnn, net):
    spec = pnn.networks[net]
    kind = KIND[spec["block"].__name__]
    model = pnn.get_resnet(net)
    x = torch.randn(2, 3, 32, 32)
    c0 = spec["stage_args"][0][0]
    expected_total = conv_params(3, 3, c0)
    h = pnn.ResNetStem(3, c0)(x)
    assert h.shape == (2, c0, 32, 32)
    size = 32
    for cin, cout, num_blocks, down in spec["stage_args"]:
        # every block configuration of the stage, alone
        for i in range(num_blocks):
            bcin, bdown = (cin, down) if i == 0 else (cout, False)
            blk = spec["block"](bcin, cout, bdown)
            assert count(blk) == block_params(kind, bcin, cout, bdown), (net, bcin, cout, bdown)
            expected_total += block_params(kind, bcin, cout, bdown)
        stage = pnn.ResNetStage(cin, cout, num_blocks, down, block=spec["block"])
        h = stage(h)
        size = (size + 1) // 2 if down else size
        assert h.shape == (2, cout, size, size)
    expected_total += conv_params(1, spec["stage_args"][-1][1], 10)  # fc = 1x1 "conv" formula
    assert count(model) == expected_total
    assert model(x).shape == (2, 10)
    # global pooling in forward: other input sizes work too
    assert model(torch.randn(1, 3, 20, 24)).shape == (1, 10)


@pytest.mark.parametrize("net,kind", [("plain32", "plain"), ("resnet32", "residual"),
                                      ("resnet47", "bottleneck")])
@pytest.mark.reference("eecs498/A4", "pytorch_autograd_and_nn.py::PlainBlock.__init__",
                       "pytorch_autograd_and_nn.py::ResidualBlock.__init__",
                       "pytorch_autograd_and_nn.py::ResidualBottleneckBlock.__init__",
                       "pytorch_autograd_and_nn.py::ResNet.__init__",
                       "pytorch_autograd_and_nn.py::ResNet.forward")
def test_resnet_equals_stock_torch_nn_with_copied_weights(pnn, net, kind):
    spec = pnn.networks[net]
    ours = pnn.get_resnet(net).double()
    ref = stock_preresnet(spec["stage_args"], kind).double()
    # give BatchNorm non-trivial affine parameters and running statistics
    with torch.no_grad():
        for m in ours.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1), m.running_var.uniform_(0.5, 2.0)
    copy_weights_by_position(ours, ref)
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    ours.eval(), ref.eval()
    assert rel(ours(x), ref(x)) < 1e-10
    ours.train(), ref.train()
    xo, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    so, sr = ours(xo), ref(xr)
    assert rel(so, sr) < 1e-10
    so.square().sum().backward(), sr.square().sum().backward()
    assert rel(xo.grad, xr.grad) < 1e-9
    assert rel(ours.fc.weight.grad, ref[-1].weight.grad) < 1e-9


def test_bad_inputs_raise_value_errors(pnn):
    with pytest.raises(ValueError, match="stage_args"):
        pnn.ResNet([])
    with pytest.raises(ValueError, match="expects"):
        pnn.ResNet([(8, 8, 1, False), (16, 32, 1, True)])
    with pytest.raises(ValueError, match="num_blocks"):
        pnn.ResNetStage(8, 8, 0)
    with pytest.raises(ValueError, match="Cout"):
        pnn.ResidualBottleneckBlock(8, 2)
    with pytest.raises(ValueError, match="unknown network"):
        pnn.get_resnet("resnet1000")
