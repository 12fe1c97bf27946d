"""EECS 498-007 FA2020 A4: the official notebooks' fixed-input checks, replayed on our modules.

Inputs, expected values and thresholds are the course's (its notebooks' hard-coded tensors and
"errors on the order of 1e-8 or less" texts, read as < 1e-7, and so on); nothing here is
computed from our code. Checks that need data we do not ship (the ImageNet SqueezeNet and
MobileNet weights: style-transfer answers, the attention captioner's expected loss) are
replayed by the notebooks when the weights are there.
"""
import os
import pickle

import numpy as np
import pytest
import torch

from dl4cv_tools.testing import course_module
from eecs598.grad import compute_numeric_gradient, rel_error

A4 = "eecs498/A4"
f64 = {"dtype": torch.double, "device": "cpu"}
f32 = {"dtype": torch.float, "device": "cpu"}
i64 = {"dtype": torch.long, "device": "cpu"}


def cap():
    return course_module(A4, "rnn_lstm_attention_captioning")


def lin(a, b, n, shape):
    return torch.linspace(a, b, steps=n, **f64).reshape(*shape)


def seed(n=0):
    import random
    random.seed(n)
    torch.manual_seed(n)


# ----------------------------------------------------------------------------- RNN
def test_rnn_step_forward():
    N, D, H = 3, 10, 4
    x, prev_h = lin(-0.4, 0.7, N * D, (N, D)), lin(-0.2, 0.5, N * H, (N, H))
    Wx, Wh = lin(-0.1, 0.9, D * H, (D, H)), lin(-0.3, 0.7, H * H, (H, H))
    b = torch.linspace(-0.2, 0.4, steps=H, **f64)
    next_h, _ = cap().rnn_step_forward(x, prev_h, Wx, Wh, b)
    expected = torch.tensor([[-0.58172089, -0.50182032, -0.41232771, -0.31410098],
                             [0.66854692, 0.79562378, 0.87755553, 0.92795967],
                             [0.97934501, 0.99144213, 0.99646691, 0.99854353]], **f64)
    assert rel_error(expected, next_h) < 1e-7


@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::rnn_step_backward")
def test_rnn_step_backward_numeric():
    m = cap()
    seed(0)
    N, D, H = 4, 5, 6
    x, h = torch.randn(N, D, **f64), torch.randn(N, H, **f64)
    Wx, Wh, b = torch.randn(D, H, **f64), torch.randn(H, H, **f64), torch.randn(H, **f64)
    out, cache = m.rnn_step_forward(x, h, Wx, Wh, b)
    dnext_h = torch.randn(*out.shape, **f64)
    grads = m.rnn_step_backward(dnext_h, cache)
    fns = [lambda x: m.rnn_step_forward(x, h, Wx, Wh, b)[0],
           lambda h: m.rnn_step_forward(x, h, Wx, Wh, b)[0],
           lambda Wx: m.rnn_step_forward(x, h, Wx, Wh, b)[0],
           lambda Wh: m.rnn_step_forward(x, h, Wx, Wh, b)[0],
           lambda b: m.rnn_step_forward(x, h, Wx, Wh, b)[0]]
    for f, v, g in zip(fns, (x, h, Wx, Wh, b), grads):
        assert rel_error(compute_numeric_gradient(f, v, dnext_h), g) < 1e-7


def test_rnn_forward():
    N, T, D, H = 2, 3, 4, 5
    x, h0 = lin(-0.1, 0.3, N * T * D, (N, T, D)), lin(-0.3, 0.1, N * H, (N, H))
    Wx, Wh = lin(-0.2, 0.4, D * H, (D, H)), lin(-0.4, 0.1, H * H, (H, H))
    b = torch.linspace(-0.7, 0.1, steps=H, **f64)
    h, _ = cap().rnn_forward(x, h0, Wx, Wh, b)
    expected = torch.tensor([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]], **f64)
    assert rel_error(expected, h) < 1e-5


def test_rnn_backward_numeric_and_autograd():
    m = cap()
    seed(0)
    N, D, T, H = 2, 3, 10, 5
    x, h0 = torch.randn(N, T, D, **f64), torch.randn(N, H, **f64)
    Wx, Wh, b = torch.randn(D, H, **f64), torch.randn(H, H, **f64), torch.randn(H, **f64)
    out, cache = m.rnn_forward(x, h0, Wx, Wh, b)
    dout = torch.randn(*out.shape, **f64)
    grads = m.rnn_backward(dout, cache)
    fns = [lambda x: m.rnn_forward(x, h0, Wx, Wh, b)[0],
           lambda h0: m.rnn_forward(x, h0, Wx, Wh, b)[0],
           lambda Wx: m.rnn_forward(x, h0, Wx, Wh, b)[0],
           lambda Wh: m.rnn_forward(x, h0, Wx, Wh, b)[0],
           lambda b: m.rnn_forward(x, h0, Wx, Wh, b)[0]]
    for f, v, g in zip(fns, (x, h0, Wx, Wh, b), grads):
        assert rel_error(compute_numeric_gradient(f, v, dout), g) < 1e-5
    # The course's autograd comparison: "a relative error less than 1e-12".
    leaves = [t.clone().requires_grad_() for t in (x, h0, Wx, Wh, b)]
    out, cache = m.rnn_forward(*leaves)
    with torch.no_grad():
        manual = m.rnn_backward(dout, cache)
    out.backward(dout)
    for leaf, g in zip(leaves, manual):
        assert rel_error(leaf.grad, g) < 1e-12


def test_word_embedding():
    m = cap()
    N, T, V, D = 2, 4, 5, 3
    x = torch.tensor([[0, 3, 1, 2], [2, 1, 0, 3]], **i64)
    emb = m.WordEmbedding(V, D, **f64)
    emb.W_embed.data.copy_(lin(0, 1, V * D, (V, D)))
    expected = torch.tensor([
        [[0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286], [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857], [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429]]], **f64)
    assert rel_error(expected, emb(x)) < 1e-6


def test_temporal_softmax_loss_ranges():
    m = cap()
    seed(0)

    def loss(N, T, V, p):
        x = 0.001 * torch.randn(N, T, V, **f64)
        y = torch.randint(V, size=(N, T), **i64)
        y[torch.rand(N, T, **f64) > p] = 0
        return m.temporal_softmax_loss(x, y, 0).item()

    assert 2.00 < loss(1000, 1, 10, 1.0) < 2.11      # "Should be about 2.00-2.11"
    assert 20.6 < loss(1000, 10, 10, 1.0) < 21.0     # "Should be about 20.6-21.0"
    assert 2.00 < loss(5000, 10, 10, 0.1) < 2.11     # "Should be about 2.00-2.11"


@pytest.mark.parametrize("cell_type,expected", [("rnn", 150.6090393066), ("lstm", 146.3161468505)])
def test_captioning_model_loss(cell_type, expected):
    """The course's vocabulary has no <START> and non-contiguous ids; its inputs must pass.
    At these weights the loss is the same for any non-negative features (MobileNet's pooled
    ReLU6 outputs), so the stand-in backbone reproduces the course's value."""
    m = cap()
    seed(0)
    N, D, W, H, D_img, T = 10, 1280, 30, 40, 112, 13
    word_to_idx = {'<NULL>': 0, 'cat': 2, 'dog': 3}
    V = len(word_to_idx)
    model = m.CaptioningRNN(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H,
                            cell_type=cell_type, ignore_index=0, **f32)
    for _, v in model.named_parameters():
        v.data.copy_(torch.linspace(-1.4, 1.3, steps=v.numel()).reshape(*v.shape))
    images = torch.linspace(-3., 3., steps=N * 3 * D_img * D_img, **f32).reshape(N, 3, D_img, D_img)
    captions = (torch.arange(N * T, **i64) % V).reshape(N, T)
    loss = model(images, captions).item()
    assert rel_error(torch.tensor(loss), torch.tensor(expected)) < 1e-6


# ----------------------------------------------------------------------------- LSTM
def lstm_inputs():
    N, D, H = 3, 4, 5
    return dict(x=lin(-0.4, 1.2, N * D, (N, D)), prev_h=lin(-0.3, 0.7, N * H, (N, H)),
                prev_c=lin(-0.4, 0.9, N * H, (N, H)), Wx=lin(-2.1, 1.3, 4 * D * H, (D, 4 * H)),
                Wh=lin(-0.7, 2.2, 4 * H * H, (H, 4 * H)), b=torch.linspace(0.3, 0.7, steps=4 * H, **f64))


def test_lstm_step_forward():
    a = lstm_inputs()
    next_h, next_c = cap().lstm_step_forward(a["x"], a["prev_h"], a["prev_c"], a["Wx"], a["Wh"], a["b"])
    eh = torch.tensor([[0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
                       [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
                       [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]], **f64)
    ec = torch.tensor([[0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
                       [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
                       [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]], **f64)
    assert rel_error(eh, next_h) < 1e-6 and rel_error(ec, next_c) < 1e-6


def test_lstm_forward():
    N, D, H, T = 2, 5, 4, 3
    h = cap().lstm_forward(lin(-0.4, 0.6, N * T * D, (N, T, D)), lin(-0.4, 0.8, N * H, (N, H)),
                           lin(-0.2, 0.9, 4 * D * H, (D, 4 * H)), lin(-0.3, 0.6, 4 * H * H, (H, 4 * H)),
                           torch.linspace(0.2, 0.7, steps=4 * H, **f64))
    expected = torch.tensor([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]], **f64)
    assert rel_error(expected, h) < 1e-6


# ----------------------------------------------------------------------------- attention
def test_dot_product_attention():
    N, H, D_a = 2, 5, 4
    attn, weights = cap().dot_product_attention(lin(-0.4, 0.6, N * H, (N, H)),
                                                lin(-0.4, 1.8, N * H * D_a * D_a, (N, H, D_a, D_a)))
    ea = torch.tensor([[-0.29784344, -0.07645979, 0.14492386, 0.36630751, 0.58769115],
                       [0.81412643, 1.03551008, 1.25689373, 1.47827738, 1.69966103]], **f64)
    ew = torch.tensor([[[0.06511126, 0.06475411, 0.06439892, 0.06404568],
                        [0.06369438, 0.06334500, 0.06299754, 0.06265198],
                        [0.06230832, 0.06196655, 0.06162665, 0.06128861],
                        [0.06095243, 0.06061809, 0.06028559, 0.05995491]],
                       [[0.05717142, 0.05784357, 0.05852362, 0.05921167],
                        [0.05990781, 0.06061213, 0.06132473, 0.06204571],
                        [0.06277517, 0.06351320, 0.06425991, 0.06501540],
                        [0.06577977, 0.06655312, 0.06733557, 0.06812722]]], **f64)
    assert rel_error(ea, attn) < 1e-6 and rel_error(ew, weights) < 1e-6


def test_attention_lstm_step_forward():
    a = lstm_inputs()
    N, H = 3, 5
    attn = lin(0.6, 1.8, N * H, (N, H))
    Wattn = lin(1.3, 4.2, 4 * H * H, (H, 4 * H))
    next_h, next_c = cap().lstm_step_forward(a["x"], a["prev_h"], a["prev_c"], a["Wx"], a["Wh"],
                                             a["b"], attn, Wattn)
    eh = torch.tensor([[0.53704256, 0.59980774, 0.65596820, 0.70569729, 0.74932626],
                       [0.78729857, 0.82010653, 0.84828362, 0.87235677, 0.89283167],
                       [0.91017981, 0.92483119, 0.93717126, 0.94754073, 0.95623746]], **f64)
    ec = torch.tensor([[0.59999328, 0.69285041, 0.78570758, 0.87856479, 0.97142202],
                       [1.06428558, 1.15714276, 1.24999992, 1.34285708, 1.43571424],
                       [1.52857143, 1.62142857, 1.71428571, 1.80714286, 1.90000000]], **f64)
    assert rel_error(eh, next_h) < 1e-7 and rel_error(ec, next_c) < 1e-7


def test_attention_forward():
    N, D, H, T, D_a = 2, 5, 4, 3, 4
    h = cap().attention_forward(lin(-0.4, 0.6, N * T * D, (N, T, D)),
                                lin(-0.4, 1.8, N * H * D_a * D_a, (N, H, D_a, D_a)),
                                lin(-0.2, 0.9, 4 * D * H, (D, 4 * H)),
                                lin(-0.3, 0.6, 4 * H * H, (H, 4 * H)),
                                lin(1.3, 4.2, 4 * H * H, (H, 4 * H)),
                                torch.linspace(0.2, 0.7, steps=4 * H, **f64))
    expected = torch.tensor([
        [[0.56141729, 0.70274849, 0.80000386, 0.86349400],
         [0.89556391, 0.92856726, 0.94950579, 0.96281018],
         [0.96792077, 0.97535465, 0.98039623, 0.98392994]],
        [[0.95065880, 0.97135490, 0.98344373, 0.99045552],
         [0.99317679, 0.99607466, 0.99774317, 0.99870293],
         [0.99907382, 0.99946784, 0.99969426, 0.99982435]]], **f64)
    assert rel_error(expected, h) < 1e-7


# ----------------------------------------------------------------------------- PyTorch / ResNet
def pnn():
    return course_module(A4, "pytorch_autograd_and_nn")


def test_barebones_and_module_output_shapes():
    m = pnn()
    z = lambda *s: torch.zeros(s, dtype=torch.float)
    assert list(m.two_layer_fc(z(64, 3, 16, 16), [z(42, 768), z(42), z(10, 42), z(10)]).shape) == [64, 10]
    params = [z(6, 3, 5, 5), z(6), z(9, 6, 3, 3), z(9), z(10, 9 * 32 * 32), z(10)]
    assert list(m.three_layer_convnet(z(64, 3, 32, 32), params).shape) == [64, 10]
    assert list(m.TwoLayerFC(768, 42, 10)(z(64, 768)).shape) == [64, 10]
    net = m.ThreeLayerConvNet(in_channel=3, channel_1=12, channel_2=8, num_classes=10)
    assert list(net(z(64, 3, 32, 32)).shape) == [64, 10]


@pytest.mark.parametrize("block", ["PlainBlock", "ResidualBlock", "ResidualBottleneckBlock"])
def test_block_shapes(block):
    cls = getattr(pnn(), block)
    data = torch.zeros(2, 3, 5, 6)
    assert list(cls(3, 10)(data).shape) == [2, 10, 5, 6]
    assert list(cls(3, 10, downsample=True)(data).shape) == [2, 10, 3, 3]


def test_resnet_stem_shape():
    assert list(pnn().ResNetStem(3, 10)(torch.zeros(2, 3, 5, 6)).shape) == [2, 10, 5, 6]


# ----------------------------------------------------------------------------- given helpers
def helper():
    return course_module(A4, "a4_helper")


def test_a4_helper_course_names_reach_every_module():
    """The course's modules start with `from a4_helper import *`; its notebooks rely on it."""
    names = ["preprocess", "deprocess", "rescale", "blur_image", "check_scipy", "jitter",
             "load_CIFAR", "load_imagenet_val", "load_COCO", "dump_results",
             "SQUEEZENET_MEAN", "SQUEEZENET_STD"]
    for module in ("a4_helper", "network_visualization", "style_transfer",
                   "pytorch_autograd_and_nn", "rnn_lstm_attention_captioning"):
        mod = course_module(A4, module)
        missing = [n for n in names if not hasattr(mod, n)]
        assert not missing, f"{module} lacks {missing}"


def test_preprocess_deprocess_round_trip():
    from PIL import Image
    h = helper()
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8))
    x = h.preprocess(img, size=40)
    assert tuple(x.shape) == (1, 3, 40, 60)
    back = np.asarray(h.deprocess(x, should_rescale=False)).astype(int)
    assert np.abs(back - np.asarray(img).astype(int)).max() <= 1
    stretched = np.asarray(h.deprocess(x))           # should_rescale=True: min -> 0, max -> 255
    assert stretched.min() == 0 and stretched.max() == 255


def test_blur_image_is_in_place_and_jitter_rolls():
    h = helper()
    x = torch.zeros(1, 3, 9, 9)
    x[0, :, 4, 4] = 1.0
    out = h.blur_image(x, sigma=1)
    # the peak of a unit impulse blurred by a 2-d Gaussian (sigma 1) is about 1 / (2 pi)
    assert out is x and abs(x[0, 0, 4, 4].item() - 1 / (2 * np.pi)) < 1e-3 and abs(x.sum().item() - 3) < 1e-5
    y = torch.arange(20.0).view(1, 1, 4, 5)
    assert torch.equal(h.jitter(y, 2, 1), torch.roll(y, shifts=(1, 2), dims=(2, 3)))
    h.check_scipy()


def test_dump_results(tmp_path):
    path = tmp_path / "out.pkl"
    helper().dump_results({"a": [1, 2]}, str(path))
    assert pickle.loads(path.read_bytes()) == {"a": [1, 2]}


def test_load_cifar_loaders():
    from dl4cv.data.cifar10 import default_root
    if not (default_root() / "data_batch_1").exists():
        if os.environ.get("CI"):
            pytest.fail("CIFAR-10 is missing in CI (./get_datasets.sh cifar10)")
        pytest.skip("CIFAR-10 not on disk")
    loader_train, loader_val, loader_test = helper().load_CIFAR(path="./datasets/")
    x, y = next(iter(loader_train))
    assert tuple(x.shape) == (64, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert loader_train.dataset.train and loader_val.dataset.train and not loader_test.dataset.train
    # the course's fixed normalization: per-channel means near 0 over the training batch
    assert x.mean(dim=(0, 2, 3)).abs().max() < 0.5
