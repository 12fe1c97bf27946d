"""CS231n 2020 assignment 3: the official notebooks' own checks, replayed on our modules.

Inputs, seeds and expected values are the course's (RNN_Captioning, LSTM_Captioning,
StyleTransfer-PyTorch, Generative_Adversarial_Networks_PyTorch); thresholds are the course's
stated bounds ("on the order of e-8 or less" -> < 1e-7). The GAN and style-transfer expected
values come from the files the course ships (`./get_datasets.sh course_files`): missing there,
the tests fail in CI and skip elsewhere. The content/Gram/style checks need SqueezeNet's
ImageNet weights (optional data) and skip without them.
"""
import os
import re
from inspect import getsource

import numpy as np
import pytest
import torch

from dl4cv_tools.testing import course_module

A3 = "cs231n/assignment3"


def course_rel_error(x, y):
    """The course notebooks' relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


def rl():
    return course_module(A3, "cs231n.rnn_layers")


def grad_check():
    return course_module(A3, "cs231n.gradient_check")


def captioning_rnn():
    return course_module(A3, "cs231n.classifiers.rnn").CaptioningRNN


def course_file(name):
    """A file the course's starter folder ships (check values), or fail (CI) / skip."""
    from dl4cv.paths import data_dir
    path = data_dir() / "course_files" / "cs231n" / "assignment3" / name
    if not path.exists():
        msg = f"{path} missing: run ./get_datasets.sh course_files"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


# ---------------------------------------------------------------- RNN_Captioning

def test_rnn_step_forward_course_values():
    N, D, H = 3, 10, 4
    x = np.linspace(-0.4, 0.7, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.2, 0.5, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.1, 0.9, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.3, 0.7, num=H * H).reshape(H, H)
    b = np.linspace(-0.2, 0.4, num=H)
    next_h, _ = rl().rnn_step_forward(x, prev_h, Wx, Wh, b)
    expected_next_h = np.asarray([
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    assert course_rel_error(expected_next_h, next_h) < 1e-7


def test_rnn_step_backward_course_gradcheck():
    layers, num = rl(), grad_check().eval_numerical_gradient_array
    np.random.seed(231)
    N, D, H = 4, 5, 6
    x, h = np.random.randn(N, D), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, H), np.random.randn(H, H), np.random.randn(H)
    out, cache = layers.rnn_step_forward(x, h, Wx, Wh, b)
    dnext_h = np.random.randn(*out.shape)
    f = lambda _: layers.rnn_step_forward(x, h, Wx, Wh, b)[0]
    nums = [num(f, v, dnext_h) for v in (x, h, Wx, Wh, b)]
    for n, a in zip(nums, layers.rnn_step_backward(dnext_h, cache)):
        assert course_rel_error(n, a) < 1e-7


def test_rnn_forward_course_values():
    N, T, D, H = 2, 3, 4, 5
    x = np.linspace(-0.1, 0.3, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.3, 0.1, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.4, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.4, 0.1, num=H * H).reshape(H, H)
    b = np.linspace(-0.7, 0.1, num=H)
    h, _ = rl().rnn_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
    assert course_rel_error(expected_h, h) < 1e-6


def test_rnn_backward_course_gradcheck():
    layers, num = rl(), grad_check().eval_numerical_gradient_array
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 5
    x, h0 = np.random.randn(N, T, D), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, H), np.random.randn(H, H), np.random.randn(H)
    out, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
    dout = np.random.randn(*out.shape)
    grads = layers.rnn_backward(dout, cache)
    f = lambda _: layers.rnn_forward(x, h0, Wx, Wh, b)[0]
    for v, a in zip((x, h0, Wx, Wh, b), grads):
        assert course_rel_error(num(f, v, dout), a) < 1e-5


def test_word_embedding_course_values_and_gradcheck():
    layers = rl()
    N, T, V, D = 2, 4, 5, 3
    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    W = np.linspace(0, 1, num=V * D).reshape(V, D)
    out, _ = layers.word_embedding_forward(x, W)
    expected_out = np.asarray([
        [[0., 0.07142857, 0.14285714],
         [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286],
         [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857],
         [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714],
         [0.64285714, 0.71428571, 0.78571429]]])
    assert course_rel_error(expected_out, out) < 1e-7

    np.random.seed(231)
    N, T, V, D = 50, 3, 5, 6
    x = np.random.randint(V, size=(N, T))
    W = np.random.randn(V, D)
    out, cache = layers.word_embedding_forward(x, W)
    dout = np.random.randn(*out.shape)
    dW = layers.word_embedding_backward(dout, cache)
    dW_num = grad_check().eval_numerical_gradient_array(
        lambda W: layers.word_embedding_forward(x, W)[0], W, dout)
    assert course_rel_error(dW, dW_num) < 1e-10


def test_temporal_affine_course_gradcheck():
    layers, num = rl(), grad_check().eval_numerical_gradient_array
    np.random.seed(231)
    N, T, D, M = 2, 3, 4, 5
    x, w, b = np.random.randn(N, T, D), np.random.randn(D, M), np.random.randn(M)
    out, cache = layers.temporal_affine_forward(x, w, b)
    dout = np.random.randn(*out.shape)
    f = lambda _: layers.temporal_affine_forward(x, w, b)[0]
    for v, a in zip((x, w, b), layers.temporal_affine_backward(dout, cache)):
        assert course_rel_error(num(f, v, dout), a) < 1e-8


def test_temporal_softmax_loss_course_sanity_and_gradcheck():
    layers = rl()
    np.random.seed(231)

    def check_loss(N, T, V, p):
        x = 0.001 * np.random.randn(N, T, V)
        y = np.random.randint(V, size=(N, T))
        mask = np.random.rand(N, T) <= p
        return layers.temporal_softmax_loss(x, y, mask)[0]

    assert abs(check_loss(100, 1, 10, 1.0) - 2.3) < 0.1       # course: about 2.3
    assert abs(check_loss(100, 10, 10, 1.0) - 23) < 1.0       # course: about 23
    assert 2.2 < check_loss(5000, 10, 10, 0.1) < 2.4           # course: within 2.2-2.4
    N, T, V = 7, 8, 9
    x = np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = (np.random.rand(N, T) > 0.5)
    loss, dx = layers.temporal_softmax_loss(x, y, mask, verbose=False)
    dx_num = grad_check().eval_numerical_gradient(
        lambda x: layers.temporal_softmax_loss(x, y, mask)[0], x, verbose=False)
    assert course_rel_error(dx, dx_num) < 1e-6


@pytest.mark.parametrize("cell_type,feat_lo,feat_hi,expected_loss", [
    ("rnn", -1.5, 0.3, 9.83235591003),
    ("lstm", -0.5, 1.7, 9.82445935443),
])
def test_captioning_rnn_course_loss(cell_type, feat_lo, feat_hi, expected_loss):
    """The course's vocabulary has no <START> and the ids {0, 2, 3}: the model must take it."""
    N, D, W, H = 10, 20, 30, 40
    word_to_idx = {'<NULL>': 0, 'cat': 2, 'dog': 3}
    V, T = len(word_to_idx), 13
    model = captioning_rnn()(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H,
                             cell_type=cell_type, dtype=np.float64)
    for k, v in model.params.items():
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)
    features = np.linspace(feat_lo, feat_hi, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)
    loss, _ = model.loss(features, captions)
    assert abs(loss - expected_loss) < 1e-9


def test_captioning_rnn_course_gradcheck():
    np.random.seed(231)
    batch_size, timesteps, input_dim, wordvec_dim, hidden_dim = 2, 3, 4, 5, 6
    word_to_idx = {'<NULL>': 0, 'cat': 2, 'dog': 3}
    vocab_size = len(word_to_idx)
    captions = np.random.randint(vocab_size, size=(batch_size, timesteps))
    features = np.random.randn(batch_size, input_dim)
    model = captioning_rnn()(word_to_idx, input_dim=input_dim, wordvec_dim=wordvec_dim,
                             hidden_dim=hidden_dim, cell_type='rnn', dtype=np.float64)
    loss, grads = model.loss(features, captions)
    for name in sorted(grads):
        f = lambda _: model.loss(features, captions)[0]
        num = grad_check().eval_numerical_gradient(f, model.params[name], verbose=False, h=1e-6)
        assert course_rel_error(num, grads[name]) < 1e-5, name


# ---------------------------------------------------------------- LSTM_Captioning

def test_lstm_step_forward_course_values():
    N, D, H = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.3, 0.7, num=N * H).reshape(N, H)
    prev_c = np.linspace(-0.4, 0.9, num=N * H).reshape(N, H)
    Wx = np.linspace(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.3, 0.7, num=4 * H)
    next_h, next_c, _ = rl().lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    expected_next_h = np.asarray([
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_next_c = np.asarray([
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    assert course_rel_error(expected_next_h, next_h) < 1e-7
    assert course_rel_error(expected_next_c, next_c) < 1e-7


def test_lstm_step_backward_course_gradcheck():
    layers, num = rl(), grad_check().eval_numerical_gradient_array
    np.random.seed(231)
    N, D, H = 4, 5, 6
    x, prev_h, prev_c = np.random.randn(N, D), np.random.randn(N, H), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, 4 * H), np.random.randn(H, 4 * H), np.random.randn(4 * H)
    next_h, next_c, cache = layers.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dnext_h, dnext_c = np.random.randn(*next_h.shape), np.random.randn(*next_c.shape)
    fh = lambda _: layers.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[0]
    fc = lambda _: layers.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[1]
    grads = layers.lstm_step_backward(dnext_h, dnext_c, cache)
    for v, a in zip((x, prev_h, prev_c, Wx, Wh, b), grads):
        assert course_rel_error(num(fh, v, dnext_h) + num(fc, v, dnext_c), a) < 1e-6


def test_lstm_forward_course_values():
    N, D, H, T = 2, 5, 4, 3
    x = np.linspace(-0.4, 0.6, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.4, 0.8, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.9, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.3, 0.6, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.2, 0.7, num=4 * H)
    h, _ = rl().lstm_forward(x, h0, Wx, Wh, b)
    expected_h = np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
    assert course_rel_error(expected_h, h) < 1e-6


def test_lstm_backward_course_gradcheck():
    layers, num = rl(), grad_check().eval_numerical_gradient_array
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 6
    x, h0 = np.random.randn(N, T, D), np.random.randn(N, H)
    Wx, Wh, b = np.random.randn(D, 4 * H), np.random.randn(H, 4 * H), np.random.randn(4 * H)
    out, cache = layers.lstm_forward(x, h0, Wx, Wh, b)
    dout = np.random.randn(*out.shape)
    grads = layers.lstm_backward(dout, cache)
    f = lambda _: layers.lstm_forward(x, h0, Wx, Wh, b)[0]
    for name, v, a in zip(("dx", "dh0", "dWx", "dWh", "db"), (x, h0, Wx, Wh, b), grads):
        bound = 1e-5 if name == "dWh" else 1e-7   # course: e-8 or less, dWh e-6 or less
        assert course_rel_error(num(f, v, dout), a) < bound, name


# ---------------------------------------------------------------- GANs

def gan():
    return course_module(A3, "cs231n.gan_pytorch")


def test_gan_sample_noise_course_check():
    batch_size, dim = 3, 4
    torch.manual_seed(231)
    z = gan().sample_noise(batch_size, dim)
    np_z = z.cpu().numpy()
    assert np_z.shape == (batch_size, dim)
    assert torch.is_tensor(z)
    assert np.all(np_z >= -1.0) and np.all(np_z <= 1.0)
    assert np.any(np_z < 0.0) and np.any(np_z > 0.0)


def test_gan_parameter_counts_course_values():
    g = gan()
    assert g.count_params(g.discriminator()) == 267009
    assert g.count_params(g.generator(4)) == 1858320
    assert g.count_params(g.build_dc_classifier(128)) == 1102721
    assert g.count_params(g.build_dc_generator(4)) == 6580801


def test_gan_dc_output_shapes_course_check():
    g = gan()
    torch.manual_seed(0)
    assert g.build_dc_classifier(128)(torch.rand(128, 1, 28, 28)).shape == (128, 1)
    G = g.build_dc_generator()
    G.apply(g.initialize_weights)
    assert G(torch.randn(128, g.NOISE_DIM)).shape == (128, 784)


def test_gan_losses_course_values():
    g = gan()
    answers = dict(np.load(course_file("gan-checks-tf.npz")))
    real = torch.Tensor(answers['logits_real']).type(torch.FloatTensor)
    fake = torch.Tensor(answers['logits_fake']).type(torch.FloatTensor)
    assert course_rel_error(answers['d_loss_true'], g.discriminator_loss(real, fake).numpy()) < 1e-7
    assert course_rel_error(answers['g_loss_true'], g.generator_loss(fake).numpy()) < 1e-7
    assert course_rel_error(answers['d_loss_lsgan_true'],
                            g.ls_discriminator_loss(real, fake).numpy()) < 1e-7
    assert course_rel_error(answers['g_loss_lsgan_true'], g.ls_generator_loss(fake).numpy()) < 1e-7


# ---------------------------------------------------------------- style transfer

def styles_folder():
    from dl4cv.paths import data_dir
    folder = data_dir() / "styles"
    if not (folder / "tubingen.jpg").exists():
        msg = f"{folder} missing: run ./get_datasets.sh styles"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return folder


def test_tv_loss_course_value():
    import PIL.Image
    st = course_module(A3, "cs231n.style_transfer_pytorch")
    answers = dict(np.load(course_file("style-transfer-checks.npz")))
    img = st.preprocess(PIL.Image.open(styles_folder() / "tubingen.jpg"), size=192)
    out = st.tv_loss(img.type(torch.FloatTensor), 2e-2).cpu().numpy()
    assert course_rel_error(answers['tv_out'], out) < 1e-4
    # the course's no-loop rule
    assert not re.search(r"for \S* in", getsource(st.tv_loss))


def test_content_gram_style_course_values():
    """Needs SqueezeNet's ImageNet weights (optional data: skipped without them)."""
    from dl4cv import pretrained
    if not pretrained.squeezenet_weights_path().exists():
        pytest.skip("SqueezeNet ImageNet weights not on disk (./get_datasets.sh squeezenet)")
    st = course_module(A3, "cs231n.style_transfer_pytorch")
    answers = dict(np.load(course_file("style-transfer-checks.npz")))
    folder = styles_folder()
    cnn = pretrained.load_squeezenet(device="cpu").features
    c_feats, content_img = st.features_from_img(str(folder / "tubingen.jpg"), 192, cnn)
    feats = st.extract_features(torch.zeros_like(content_img), cnn)
    cl = st.content_loss(6e-2, c_feats[3], feats[3]).numpy()
    assert course_rel_error(answers['cl_out'], cl) < 1e-3
    s_feats, _ = st.features_from_img(str(folder / "starry_night.jpg"), 192, cnn)
    gm = st.gram_matrix(s_feats[5].clone()).numpy()
    assert course_rel_error(answers['gm_out'], gm) < 1e-3
    layers, weights = [1, 4, 6, 7], [300000, 1000, 15, 3]
    targets = [st.gram_matrix(s_feats[i].clone()) for i in layers]
    sl = st.style_loss(c_feats, layers, targets, weights).numpy()
    assert course_rel_error(answers['sl_out'], sl) < 1e-3


# ---------------------------------------------------------------- course API surface

# What the official notebooks import from each module (with the course's signatures where a
# notebook calls them with keywords or by position).
COURSE_NAMES = {
    "cs231n.rnn_layers": ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
                          "word_embedding_forward", "word_embedding_backward", "lstm_step_forward",
                          "lstm_step_backward", "lstm_forward", "lstm_backward",
                          "temporal_affine_forward", "temporal_affine_backward",
                          "temporal_softmax_loss", "sigmoid"],
    "cs231n.coco_utils": ["load_coco_data", "sample_coco_minibatch", "decode_captions", "BASE_DIR"],
    "cs231n.image_utils": ["image_from_url", "SQUEEZENET_MEAN", "SQUEEZENET_STD", "load_image"],
    "cs231n.gradient_check": ["eval_numerical_gradient", "eval_numerical_gradient_array"],
    "cs231n.net_visualization_pytorch": ["compute_saliency_maps", "make_fooling_image",
                                         "class_visualization_update_step", "preprocess",
                                         "deprocess", "rescale", "blur_image", "jitter"],
    "cs231n.style_transfer_pytorch": ["content_loss", "gram_matrix", "style_loss", "tv_loss",
                                      "preprocess", "deprocess", "rescale", "rel_error",
                                      "extract_features", "features_from_img"],
    "cs231n.gan_pytorch": ["sample_noise", "discriminator", "generator", "bce_loss",
                           "discriminator_loss", "generator_loss", "get_optimizer", "run_a_gan",
                           "ls_discriminator_loss", "ls_generator_loss", "build_dc_classifier",
                           "build_dc_generator", "preprocess_img", "deprocess_img", "rel_error",
                           "count_params", "ChunkSampler", "Flatten", "Unflatten",
                           "initialize_weights", "NOISE_DIM"],
}


@pytest.mark.parametrize("module", sorted(COURSE_NAMES))
def test_course_names_importable(module):
    mod = course_module(A3, module)
    missing = [n for n in COURSE_NAMES[module] if not hasattr(mod, n)]
    assert not missing, f"{module} lacks the course's {missing}"


def test_course_signatures():
    import inspect
    nv = course_module(A3, "cs231n.net_visualization_pytorch")
    assert list(inspect.signature(nv.class_visualization_update_step).parameters) == [
        "img", "model", "target_y", "l2_reg", "learning_rate"]
    CaptioningRNN = captioning_rnn()
    params = inspect.signature(CaptioningRNN.__init__).parameters
    assert list(params)[:7] == ["self", "word_to_idx", "input_dim", "wordvec_dim", "hidden_dim",
                                "cell_type", "dtype"]
    assert (params["input_dim"].default, params["wordvec_dim"].default,
            params["hidden_dim"].default, params["cell_type"].default) == (512, 128, 128, "rnn")
    assert inspect.signature(CaptioningRNN.sample).parameters["max_length"].default == 30
    g = gan()
    assert inspect.signature(g.generator).parameters["noise_dim"].default == 96
    assert inspect.signature(g.build_dc_generator).parameters["noise_dim"].default == 96
    st = course_module(A3, "cs231n.style_transfer_pytorch")
    assert inspect.signature(st.preprocess).parameters["size"].default == 512
    assert inspect.signature(st.gram_matrix).parameters["normalize"].default is True
