"""Captioning benchmarks: the numpy LSTM (CS231n assignment 3) against torch autograd."""
import numpy as np
import torch

from dl4cv_tools.bench import case
from dl4cv_tools.testing import course_module


@case("cs231n lstm_forward+lstm_backward vs torch autograd (N=100, T=17, D=512, H=512, f64)",
      min_ratio=0.5)
def lstm_forward_backward():
    rl = course_module("cs231n/assignment3", "cs231n.rnn_layers")
    rng = np.random.default_rng(0)
    N, T, D, H = 100, 17, 512, 512
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    Wx = rng.standard_normal((D, 4 * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, 4 * H)) / np.sqrt(H)
    b = rng.standard_normal(4 * H) * 0.1
    dh = rng.standard_normal((N, T, H))

    def ours():
        h, cache = rl.lstm_forward(x, h0, Wx, Wh, b)
        return rl.lstm_backward(dh, cache)

    tx, th0 = (torch.tensor(a, requires_grad=True) for a in (x, h0))
    tWx, tWh, tb = (torch.tensor(a, requires_grad=True) for a in (Wx, Wh, b))
    tdh = torch.from_numpy(dh)

    def reference():
        # the same computation (course gate order i, f, o, g), differentiated by autograd
        for p in (tx, th0, tWx, tWh, tb):
            p.grad = None
        h, c = th0, torch.zeros_like(th0)
        xw = tx @ tWx + tb
        outs = []
        for t in range(T):
            a = xw[:, t] + h @ tWh
            i, f, o = torch.sigmoid(a[:, :3 * H]).split(H, dim=1)
            c = f * c + i * torch.tanh(a[:, 3 * H:])
            h = o * torch.tanh(c)
            outs.append(h)
        torch.stack(outs, 1).backward(tdh)
        return tx.grad

    return ours, reference


@case("cs231n CaptioningRNN.loss (lstm, N=50, T=16, D=512, W=256, H=512, V=1004, f32)")
def captioning_loss():
    rnn = course_module("cs231n/assignment3", "cs231n.classifiers.rnn")
    words = ["<NULL>", "<START>", "<END>", "<UNK>"] + [f"w{i}" for i in range(1000)]
    model = rnn.CaptioningRNN({w: i for i, w in enumerate(words)}, input_dim=512,
                              wordvec_dim=256, hidden_dim=512, cell_type="lstm")
    rng = np.random.default_rng(0)
    features = rng.standard_normal((50, 512)).astype(np.float32)
    captions = rng.integers(0, 1004, (50, 17))
    captions[:, 0] = 1
    return (lambda: model.loss(features, captions)), None
