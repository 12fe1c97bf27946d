"""CS231n 2020 assignment 2: the official notebooks' fixed-input checks, replayed on our modules.

Inputs, seeds, hard-coded expected values and thresholds are the course's (FullyConnectedNets,
BatchNormalization, Dropout, ConvolutionalNetworks). Where the course only says "around e-N",
the threshold is one order of magnitude above it, as the notebooks' dl4cv.check lines use.
"""
import numpy as np
import pytest

from dl4cv.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from dl4cv_tools.testing import course_module

A2 = "cs231n/assignment2"


@pytest.fixture(scope="module")
def L():
    """cs231n.layers, cs231n.layer_utils and cs231n.fast_layers by name (as fc_net's star
    imports give them to the course's notebooks)."""
    return course_module(A2, "cs231n.classifiers.fc_net")


@pytest.fixture(scope="module")
def cnn():
    return course_module(A2, "cs231n.classifiers.cnn")


# ---------------------------------------------------------------------------- FullyConnectedNets

def test_star_import_surface_of_fc_net_and_cnn(L, cnn):
    # the course notebooks take every layer from `from cs231n.classifiers.fc_net import *`
    for name in ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "svm_loss",
                 "softmax_loss", "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
                 "layernorm_forward", "layernorm_backward", "dropout_forward", "dropout_backward",
                 "affine_relu_forward", "affine_relu_backward", "TwoLayerNet", "FullyConnectedNet"):
        assert hasattr(L, name), name
    for name in ("conv_forward_naive", "max_pool_forward_naive", "conv_forward_fast",
                 "spatial_batchnorm_forward", "spatial_groupnorm_forward", "conv_relu_pool_forward",
                 "ThreeLayerConvNet"):
        assert hasattr(cnn, name), name


def test_affine_forward_course_values(L):
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = L.affine_forward(x, w, b)
    correct_out = np.array([[1.49834967, 1.70660132, 1.91485297],
                            [3.25553199, 3.5141327, 3.77273342]])
    assert rel_error(out, correct_out) < 1e-8  # "around e-9 or less"


def test_affine_backward_numeric(L):
    np.random.seed(231)
    x = np.random.randn(10, 2, 3)
    w = np.random.randn(6, 5)
    b = np.random.randn(5)
    dout = np.random.randn(10, 5)
    dx_num = eval_numerical_gradient_array(lambda x: L.affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: L.affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: L.affine_forward(x, w, b)[0], b, dout)
    _, cache = L.affine_forward(x, w, b)
    dx, dw, db = L.affine_backward(dout, cache)
    for num, ana in ((dx_num, dx), (dw_num, dw), (db_num, db)):
        assert rel_error(num, ana) < 1e-9  # "around e-10 or less"


def test_relu_course_values(L):
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = L.relu_forward(x)
    correct_out = np.array([[0., 0., 0., 0.],
                            [0., 0., 0.04545455, 0.13636364],
                            [0.22727273, 0.31818182, 0.40909091, 0.5]])
    assert rel_error(out, correct_out) < 1e-7  # "on the order of e-8"
    np.random.seed(231)
    x = np.random.randn(10, 10)
    dout = np.random.randn(*x.shape)
    dx_num = eval_numerical_gradient_array(lambda x: L.relu_forward(x)[0], x, dout)
    _, cache = L.relu_forward(x)
    assert rel_error(dx_num, L.relu_backward(dout, cache)) < 1e-11  # "on the order of e-12"


def test_affine_relu_sandwich_numeric(L):
    np.random.seed(231)
    x = np.random.randn(2, 3, 4)
    w = np.random.randn(12, 10)
    b = np.random.randn(10)
    dout = np.random.randn(2, 10)
    _, cache = L.affine_relu_forward(x, w, b)
    dx, dw, db = L.affine_relu_backward(dout, cache)
    f = L.affine_relu_forward
    assert rel_error(eval_numerical_gradient_array(lambda x: f(x, w, b)[0], x, dout), dx) < 1e-9
    assert rel_error(eval_numerical_gradient_array(lambda w: f(x, w, b)[0], w, dout), dw) < 1e-9
    assert rel_error(eval_numerical_gradient_array(lambda b: f(x, w, b)[0], b, dout), db) < 1e-9


def test_svm_and_softmax_loss_course_checks(L):
    np.random.seed(231)
    num_classes, num_inputs = 10, 50
    x = 0.001 * np.random.randn(num_inputs, num_classes)
    y = np.random.randint(num_classes, size=num_inputs)
    dx_num = eval_numerical_gradient(lambda x: L.svm_loss(x, y)[0], x, verbose=False)
    loss, dx = L.svm_loss(x, y)
    assert abs(loss - 9) < 0.5 and rel_error(dx_num, dx) < 1e-8  # "around 9", "around e-9"
    dx_num = eval_numerical_gradient(lambda x: L.softmax_loss(x, y)[0], x, verbose=False)
    loss, dx = L.softmax_loss(x, y)
    assert abs(loss - 2.3) < 0.1 and rel_error(dx_num, dx) < 1e-7  # "close to 2.3", "around e-8"


def test_two_layer_net_course_values(L):
    np.random.seed(231)
    N, D, H, C = 3, 5, 50, 7
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)
    std = 1e-3
    model = L.TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=std)
    assert abs(model.params['W1'].std() - std) < std / 10
    assert np.all(model.params['b1'] == 0)
    assert abs(model.params['W2'].std() - std) < std / 10
    assert np.all(model.params['b2'] == 0)

    model.params['W1'] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params['b1'] = np.linspace(-0.1, 0.9, num=H)
    model.params['W2'] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params['b2'] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    scores = model.loss(X)
    correct_scores = np.asarray(
        [[11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765, 16.09215096],
         [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135, 16.18839143],
         [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506, 16.2846319]])
    assert np.abs(scores - correct_scores).sum() < 1e-6
    y = np.asarray([0, 5, 1])
    loss, _ = model.loss(X, y)
    assert abs(loss - 3.4702243556) < 1e-10
    model.reg = 1.0
    loss, _ = model.loss(X, y)
    assert abs(loss - 26.5948426952) < 1e-10
    for reg in [0.0, 0.7]:
        model.reg = reg
        _, grads = model.loss(X, y)
        for name in sorted(grads):
            num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False)
            assert rel_error(num, grads[name]) < 1e-6, (reg, name)  # "around e-7 or less"


def _fc_grad_errors(model, X, y):
    _, grads = model.loss(X, y)
    return {name: rel_error(eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name],
                                                    verbose=False, h=1e-5), grads[name])
            for name in sorted(grads)}


def _fc_inputs():
    np.random.seed(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=(N,))
    return X, y, dict(input_dim=D, num_classes=C, weight_scale=5e-2, dtype=np.float64), [H1, H2]


def test_fully_connected_net_course_gradient_check(L):
    X, y, kw, hidden = _fc_inputs()
    for reg in [0, 3.14]:
        errors = _fc_grad_errors(L.FullyConnectedNet(hidden, reg=reg, **kw), X, y)
        for name, err in errors.items():
            # "on the order of e-7 or smaller; W2 on the order of e-5 is fine for reg = 0"
            assert err < (1e-4 if (reg == 0 and name == 'W2') else 1e-6), (reg, name, err)


def test_sgd_momentum_course_values():
    optim = course_module(A2, "cs231n.optim")
    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    v = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    config = {'learning_rate': 1e-3, 'velocity': v}
    next_w, _ = optim.sgd_momentum(w, dw, config=config)
    expected_next_w = np.asarray([
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
    expected_velocity = np.asarray([
        [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
        [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
        [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
        [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])
    assert rel_error(next_w, expected_next_w) < 1e-7  # "around e-8 or less"
    assert rel_error(expected_velocity, config['velocity']) < 1e-7


def test_rmsprop_course_values():
    optim = course_module(A2, "cs231n.optim")
    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    cache = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    config = {'learning_rate': 1e-2, 'cache': cache}
    next_w, _ = optim.rmsprop(w, dw, config=config)
    expected_next_w = np.asarray([
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
    expected_cache = np.asarray([
        [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
        [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
        [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
        [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])
    assert rel_error(expected_next_w, next_w) < 1e-6  # "around e-7 or less"
    assert rel_error(expected_cache, config['cache']) < 1e-6


def test_adam_course_values():
    optim = course_module(A2, "cs231n.optim")
    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    m = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    v = np.linspace(0.7, 0.5, num=N * D).reshape(N, D)
    config = {'learning_rate': 1e-2, 'm': m, 'v': v, 't': 5}
    next_w, _ = optim.adam(w, dw, config=config)
    expected_next_w = np.asarray([
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
    expected_v = np.asarray([
        [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
        [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
        [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
        [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
    expected_m = np.asarray([
        [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
        [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
        [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
        [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])
    assert rel_error(expected_next_w, next_w) < 1e-6  # "around e-7 or less"
    assert rel_error(expected_v, config['v']) < 1e-6
    assert rel_error(expected_m, config['m']) < 1e-6


# ---------------------------------------------------------------------------- BatchNormalization

def _two_layer_activations(N, D1=50, D2=60, D3=3):
    np.random.seed(231)
    X = np.random.randn(N, D1)
    W1 = np.random.randn(D1, D2)
    W2 = np.random.randn(D2, D3)
    return np.maximum(0, X.dot(W1)).dot(W2)


def test_batchnorm_forward_train_statistics(L):
    a = _two_layer_activations(200)
    a_norm, _ = L.batchnorm_forward(a, np.ones(3), np.zeros(3), {'mode': 'train'})
    assert np.abs(a_norm.mean(axis=0)).max() < 1e-4 and np.abs(a_norm.std(axis=0) - 1).max() < 1e-4
    gamma, beta = np.asarray([1.0, 2.0, 3.0]), np.asarray([11.0, 12.0, 13.0])
    a_norm, _ = L.batchnorm_forward(a, gamma, beta, {'mode': 'train'})
    assert np.abs(a_norm.mean(axis=0) - beta).max() < 1e-4
    assert np.abs(a_norm.std(axis=0) - gamma).max() < 1e-4


def test_batchnorm_forward_test_time_statistics(L):
    np.random.seed(231)
    N, D1, D2, D3 = 200, 50, 60, 3
    W1 = np.random.randn(D1, D2)
    W2 = np.random.randn(D2, D3)
    bn_param = {'mode': 'train'}
    gamma, beta = np.ones(D3), np.zeros(D3)
    for t in range(50):
        X = np.random.randn(N, D1)
        L.batchnorm_forward(np.maximum(0, X.dot(W1)).dot(W2), gamma, beta, bn_param)
    bn_param['mode'] = 'test'
    X = np.random.randn(N, D1)
    a_norm, _ = L.batchnorm_forward(np.maximum(0, X.dot(W1)).dot(W2), gamma, beta, bn_param)
    # "close to zero / one, but noisier" (the course's run: |mean| <= 0.11, |std - 1| <= 0.03)
    assert np.abs(a_norm.mean(axis=0)).max() < 0.2 and np.abs(a_norm.std(axis=0) - 1).max() < 0.2


def _norm_backward_numeric(forward, backward, param):
    np.random.seed(231)
    N, D = 4, 5
    x = 5 * np.random.randn(N, D) + 12
    gamma = np.random.randn(D)
    beta = np.random.randn(D)
    dout = np.random.randn(N, D)
    dx_num = eval_numerical_gradient_array(lambda x: forward(x, gamma, beta, param)[0], x, dout)
    da_num = eval_numerical_gradient_array(lambda a: forward(x, a, beta, param)[0], gamma.copy(), dout)
    db_num = eval_numerical_gradient_array(lambda b: forward(x, gamma, b, param)[0], beta.copy(), dout)
    _, cache = forward(x, gamma, beta, param)
    dx, dgamma, dbeta = backward(dout, cache)
    return rel_error(dx_num, dx), rel_error(da_num, dgamma), rel_error(db_num, dbeta)


def test_batchnorm_backward_numeric(L):
    errs = _norm_backward_numeric(L.batchnorm_forward, L.batchnorm_backward, {'mode': 'train'})
    assert max(errs) < 1e-8, errs  # "between 1e-13 and 1e-8"


def test_batchnorm_backward_alt_matches(L):
    np.random.seed(231)
    N, D = 100, 500
    x = 5 * np.random.randn(N, D) + 12
    gamma = np.random.randn(D)
    beta = np.random.randn(D)
    dout = np.random.randn(N, D)
    _, cache = L.batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    for a, b in zip(L.batchnorm_backward(dout, cache), L.batchnorm_backward_alt(dout, cache)):
        assert rel_error(a, b) < 1e-8  # "nearly identical"


@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_fc_net_with_normalization_course_gradient_check(L, normalization):
    X, y, kw, hidden = _fc_inputs()
    # "1e-4~1e-10 for W, 1e-08~1e-10 for b, 1e-08~1e-09 for beta and gammas"; the course's own
    # run prints W1 1.1e-04 and b1, b2 2.7e-07 (batchnorm, reg 0): one order of margin for W, b
    limits = {'W': 1e-3, 'b': 1e-6, 'gamma': 1e-8, 'beta': 1e-8}
    if normalization == "layernorm":
        limits['gamma'] = 1e-5  # the course gives no figure for layernorm; gamma1 is 3.4e-06 here
    for reg in [0, 3.14]:
        model = L.FullyConnectedNet(hidden, reg=reg, normalization=normalization, **kw)
        for name, err in _fc_grad_errors(model, X, y).items():
            assert err < limits[name.rstrip('0123456789')], (reg, name, err)


def test_layernorm_forward_statistics(L):
    a = _two_layer_activations(4)
    a_norm, _ = L.layernorm_forward(a, np.ones(3), np.zeros(3), {'mode': 'train'})
    assert np.abs(a_norm.mean(axis=1)).max() < 1e-4 and np.abs(a_norm.std(axis=1) - 1).max() < 1e-4
    a_norm, _ = L.layernorm_forward(a, np.full(3, 3.0), np.full(3, 5.0), {'mode': 'train'})
    assert np.abs(a_norm.mean(axis=1) - 5).max() < 1e-4 and np.abs(a_norm.std(axis=1) - 3).max() < 1e-4


def test_layernorm_backward_numeric(L):
    errs = _norm_backward_numeric(L.layernorm_forward, L.layernorm_backward, {})
    assert max(errs) < 1e-8, errs  # "between 1e-12 and 1e-8"


# ---------------------------------------------------------------------------- Dropout

def test_dropout_forward_course_statistics(L):
    np.random.seed(231)
    x = np.random.randn(500, 500) + 10
    for p in [0.25, 0.4, 0.7]:
        out, _ = L.dropout_forward(x, {'mode': 'train', 'p': p})
        out_test, _ = L.dropout_forward(x, {'mode': 'test', 'p': p})
        assert abs(out.mean() - x.mean()) < 0.1
        assert out_test.mean() == x.mean() and (out_test == 0).mean() == 0
        assert abs((out == 0).mean() - (1 - p)) < 0.01


def test_dropout_backward_numeric(L):
    np.random.seed(231)
    x = np.random.randn(10, 10) + 10
    dout = np.random.randn(*x.shape)
    dropout_param = {'mode': 'train', 'p': 0.2, 'seed': 123}
    out, cache = L.dropout_forward(x, dropout_param)
    dx = L.dropout_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda xx: L.dropout_forward(xx, dropout_param)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-9  # "around e-10 or less"


def test_fc_net_with_dropout_course_gradient_check(L):
    X, y, kw, hidden = _fc_inputs()
    losses = []
    for dropout in [1, 0.75, 0.5]:
        model = L.FullyConnectedNet(hidden, dropout=dropout, seed=123, **kw)
        losses.append(model.loss(X, y)[0])
        for name, err in _fc_grad_errors(model, X, y).items():
            # "around e-6 or less; for dropout=1, W2 on the order of e-5 is fine"
            assert err < (1e-4 if (dropout == 1 and name == 'W2') else 1e-5), (dropout, name, err)
    # a seeded dropout layer reseeds numpy's global generator, as the course's does: the nets
    # built after it draw the same weights as in the course's run, whose initial losses these are
    np.testing.assert_allclose(losses, [2.3004790897684924, 2.302371489704412, 2.3042759220785896],
                               rtol=1e-10)


# ---------------------------------------------------------------------------- ConvolutionalNetworks

def test_conv_forward_naive_course_values(L):
    x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=np.prod(x_shape)).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=np.prod(w_shape)).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = L.conv_forward_naive(x, w, b, {'stride': 2, 'pad': 1})
    correct_out = np.array([[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                             [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                             [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
                            [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                             [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                             [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]])
    assert rel_error(out, correct_out) < 1e-7  # "around e-8"


def test_conv_backward_naive_numeric(L):
    np.random.seed(231)
    x = np.random.randn(4, 3, 5, 5)
    w = np.random.randn(2, 3, 3, 3)
    b = np.random.randn(2,)
    dout = np.random.randn(4, 2, 5, 5)
    cp = {'stride': 1, 'pad': 1}
    f = L.conv_forward_naive
    _, cache = f(x, w, b, cp)
    dx, dw, db = L.conv_backward_naive(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(lambda x: f(x, w, b, cp)[0], x, dout)) < 1e-7
    assert rel_error(dw, eval_numerical_gradient_array(lambda w: f(x, w, b, cp)[0], w, dout)) < 1e-7
    assert rel_error(db, eval_numerical_gradient_array(lambda b: f(x, w, b, cp)[0], b, dout)) < 1e-7


def test_max_pool_naive_course_checks(L):
    x_shape = (2, 3, 4, 4)
    x = np.linspace(-0.3, 0.4, num=np.prod(x_shape)).reshape(x_shape)
    pool_param = {'pool_width': 2, 'pool_height': 2, 'stride': 2}
    out, _ = L.max_pool_forward_naive(x, pool_param)
    correct_out = np.array([[[[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
                             [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
                             [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]]],
                            [[[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
                             [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
                             [[0.32631579, 0.34105263], [0.38526316, 0.4]]]])
    assert rel_error(out, correct_out) < 1e-7  # "on the order of e-8"
    np.random.seed(231)
    x = np.random.randn(3, 2, 8, 8)
    dout = np.random.randn(3, 2, 4, 4)
    dx_num = eval_numerical_gradient_array(lambda x: L.max_pool_forward_naive(x, pool_param)[0], x, dout)
    _, cache = L.max_pool_forward_naive(x, pool_param)
    assert rel_error(L.max_pool_backward_naive(dout, cache), dx_num) < 1e-11  # "order of e-12"


def test_fast_layers_match_naive_course_inputs(L):
    np.random.seed(231)
    x = np.random.randn(100, 3, 31, 31)
    w = np.random.randn(25, 3, 3, 3)
    b = np.random.randn(25,)
    dout = np.random.randn(100, 25, 16, 16)
    cp = {'stride': 2, 'pad': 1}
    out_naive, cache_naive = L.conv_forward_naive(x, w, b, cp)
    out_fast, cache_fast = L.conv_forward_fast(x, w, b, cp)
    assert rel_error(out_naive, out_fast) < 1e-8  # "around e-9 or less"
    for a, f in zip(L.conv_backward_naive(dout, cache_naive), L.conv_backward_fast(dout, cache_fast)):
        assert rel_error(a, f) < 1e-8
    np.random.seed(231)
    x = np.random.randn(100, 3, 32, 32)
    dout = np.random.randn(100, 3, 16, 16)
    pp = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
    out_naive, cache_naive = L.max_pool_forward_naive(x, pp)
    out_fast, cache_fast = L.max_pool_forward_fast(x, pp)
    assert rel_error(out_naive, out_fast) < 1e-10  # "close to 0.0"
    assert rel_error(L.max_pool_backward_naive(dout, cache_naive),
                     L.max_pool_backward_fast(dout, cache_fast)) < 1e-10


def test_conv_sandwich_layers_numeric(L):
    cp = {'stride': 1, 'pad': 1}
    pp = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
    np.random.seed(231)
    x, w, b = np.random.randn(2, 3, 16, 16), np.random.randn(3, 3, 3, 3), np.random.randn(3,)
    dout = np.random.randn(2, 3, 8, 8)
    f = lambda x, w, b: L.conv_relu_pool_forward(x, w, b, cp, pp)[0]
    grads = L.conv_relu_pool_backward(dout, L.conv_relu_pool_forward(x, w, b, cp, pp)[1])
    nums = (eval_numerical_gradient_array(lambda x: f(x, w, b), x, dout),
            eval_numerical_gradient_array(lambda w: f(x, w, b), w, dout),
            eval_numerical_gradient_array(lambda b: f(x, w, b), b, dout))
    assert max(rel_error(n, g) for n, g in zip(nums, grads)) < 1e-7  # "around e-8 or less"
    np.random.seed(231)
    x, w, b = np.random.randn(2, 3, 8, 8), np.random.randn(3, 3, 3, 3), np.random.randn(3,)
    dout = np.random.randn(2, 3, 8, 8)
    f = lambda x, w, b: L.conv_relu_forward(x, w, b, cp)[0]
    grads = L.conv_relu_backward(dout, L.conv_relu_forward(x, w, b, cp)[1])
    nums = (eval_numerical_gradient_array(lambda x: f(x, w, b), x, dout),
            eval_numerical_gradient_array(lambda w: f(x, w, b), w, dout),
            eval_numerical_gradient_array(lambda b: f(x, w, b), b, dout))
    assert max(rel_error(n, g) for n, g in zip(nums, grads)) < 1e-7


def test_three_layer_convnet_course_sanity_and_gradients(cnn):
    np.random.seed(0)
    model = cnn.ThreeLayerConvNet()
    X = np.random.randn(50, 3, 32, 32)
    y = np.random.randint(10, size=50)
    loss, _ = model.loss(X, y)
    assert abs(loss - np.log(10)) < 0.01  # about log(C) with small weights
    model.reg = 0.5
    assert model.loss(X, y)[0] > loss  # regularization raises it

    np.random.seed(231)
    X = np.random.randn(2, 3, 16, 16)
    y = np.random.randint(10, size=2)
    model = cnn.ThreeLayerConvNet(num_filters=3, filter_size=3, input_dim=(3, 16, 16), hidden_dim=7,
                                  dtype=np.float64)
    _, grads = model.loss(X, y)
    for name in sorted(grads):
        num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False, h=1e-6)
        assert rel_error(num, grads[name]) < 1e-1, name  # "up to the order of e-2"


def test_spatial_batchnorm_course_checks(L):
    np.random.seed(231)
    N, C, H, W = 2, 3, 4, 5
    x = 4 * np.random.randn(N, C, H, W) + 10
    out, _ = L.spatial_batchnorm_forward(x, np.ones(C), np.zeros(C), {'mode': 'train'})
    assert np.abs(out.mean(axis=(0, 2, 3))).max() < 1e-4
    assert np.abs(out.std(axis=(0, 2, 3)) - 1).max() < 1e-4
    gamma, beta = np.asarray([3, 4, 5]), np.asarray([6, 7, 8])
    out, _ = L.spatial_batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    assert np.abs(out.mean(axis=(0, 2, 3)) - beta).max() < 1e-4
    assert np.abs(out.std(axis=(0, 2, 3)) - gamma).max() < 1e-4

    np.random.seed(231)
    N, C, H, W = 10, 4, 11, 12
    bn_param = {'mode': 'train'}
    for t in range(50):
        L.spatial_batchnorm_forward(2.3 * np.random.randn(N, C, H, W) + 13, np.ones(C), np.zeros(C), bn_param)
    bn_param['mode'] = 'test'
    a_norm, _ = L.spatial_batchnorm_forward(2.3 * np.random.randn(N, C, H, W) + 13, np.ones(C), np.zeros(C),
                                            bn_param)
    assert np.abs(a_norm.mean(axis=(0, 2, 3))).max() < 0.2
    assert np.abs(a_norm.std(axis=(0, 2, 3)) - 1).max() < 0.2

    np.random.seed(231)
    N, C, H, W = 2, 3, 4, 5
    x = 5 * np.random.randn(N, C, H, W) + 12
    gamma, beta = np.random.randn(C), np.random.randn(C)
    dout = np.random.randn(N, C, H, W)
    bn_param = {'mode': 'train'}
    # the course's lambdas read gamma and beta from the enclosing scope; the numeric gradient
    # perturbs those very arrays in place
    f = lambda _: L.spatial_batchnorm_forward(x, gamma, beta, bn_param)[0]
    nums = [eval_numerical_gradient_array(f, a, dout) for a in (x, gamma, beta)]
    _, cache = L.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    grads = L.spatial_batchnorm_backward(dout, cache)
    assert max(rel_error(n, g) for n, g in zip(nums, grads)) < 1e-6  # "1e-12~1e-06"


def test_spatial_groupnorm_course_checks(L):
    np.random.seed(231)
    N, C, H, W, G = 2, 6, 4, 5, 2
    x = 4 * np.random.randn(N, C, H, W) + 10
    out, _ = L.spatial_groupnorm_forward(x, np.ones((1, C, 1, 1)), np.zeros((1, C, 1, 1)), G,
                                         {'mode': 'train'})
    out_g = out.reshape((N * G, -1))
    assert np.abs(out_g.mean(axis=1)).max() < 1e-4 and np.abs(out_g.std(axis=1) - 1).max() < 1e-4

    np.random.seed(231)
    x = 5 * np.random.randn(N, C, H, W) + 12
    gamma, beta = np.random.randn(1, C, 1, 1), np.random.randn(1, C, 1, 1)
    dout = np.random.randn(N, C, H, W)
    f = lambda _: L.spatial_groupnorm_forward(x, gamma, beta, G, {})[0]
    nums = [eval_numerical_gradient_array(f, a, dout) for a in (x, gamma, beta)]
    _, cache = L.spatial_groupnorm_forward(x, gamma, beta, G, {})
    grads = L.spatial_groupnorm_backward(dout, cache)
    assert max(rel_error(n, g) for n, g in zip(nums, grads)) < 1e-7  # "1e-12~1e-07"
