"""CS231n assignment 3 captioning: numpy RNN/LSTM layers and CaptioningRNN against torch
autograd (float64), torch.nn.LSTMCell with mapped weights and F.cross_entropy."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv.gradcheck import rel_error
from dl4cv_tools.testing import course_module
from tests.torch_references import course_lstm_gate_order, lstm_cell_from_course

A3 = "cs231n/assignment3"
TOL = 1e-8


def layers():
    return course_module(A3, "cs231n.rnn_layers")


def t64(a, grad=True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


@pytest.mark.reference("cs231n/assignment3", "cs231n/rnn_layers.py::rnn_step_forward",
                       "cs231n/rnn_layers.py::rnn_step_backward",
                       "cs231n/rnn_layers.py::rnn_forward", "cs231n/rnn_layers.py::rnn_backward")
def test_rnn_step_and_sequence_match_autograd(rng):
    rl = layers()
    N, T, D, H = 3, 5, 6, 4
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)) * 0.5, rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)
    dh = rng.standard_normal((N, T, H))

    # one step
    nh, cache = rl.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    tx, th, tWx, tWh, tb = t64(x[:, 0]), t64(h0), t64(Wx), t64(Wh), t64(b)
    ref = torch.tanh(tx @ tWx + th @ tWh + tb)
    ref.backward(torch.from_numpy(dh[:, 0]))
    assert rel_error(nh, ref.detach().numpy()) < TOL
    for ours, theirs in zip(rl.rnn_step_backward(dh[:, 0], cache), (tx, th, tWx, tWh, tb)):
        assert rel_error(ours, theirs.grad.numpy()) < TOL

    # whole sequence
    h, cache = rl.rnn_forward(x, h0, Wx, Wh, b)
    tx, th, tWx, tWh, tb = t64(x), t64(h0), t64(Wx), t64(Wh), t64(b)
    prev, outs = th, []
    for t in range(T):
        prev = torch.tanh(tx[:, t] @ tWx + prev @ tWh + tb)
        outs.append(prev)
    ref = torch.stack(outs, 1)
    ref.backward(torch.from_numpy(dh))
    assert rel_error(h, ref.detach().numpy()) < TOL
    for ours, theirs in zip(rl.rnn_backward(dh, cache), (tx, th, tWx, tWh, tb)):
        assert rel_error(ours, theirs.grad.numpy()) < TOL


@pytest.mark.reference("cs231n/assignment3", "cs231n/rnn_layers.py::lstm_step_forward",
                       "cs231n/rnn_layers.py::lstm_step_backward",
                       "cs231n/rnn_layers.py::lstm_forward", "cs231n/rnn_layers.py::lstm_backward")
def test_lstm_matches_torch_lstmcell(rng):
    rl = layers()
    N, T, D, H = 3, 4, 5, 6
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)) * 0.4, rng.standard_normal((H, 4 * H)) * 0.4, rng.standard_normal(4 * H)
    dh = rng.standard_normal((N, T, H))
    cell, order = lstm_cell_from_course(Wx, Wh, b), course_lstm_gate_order(Wx.shape[1] // 4).numpy()

    # one step, with a nonzero incoming cell state and gradients into both h and c
    c0 = rng.standard_normal((N, H))
    dnext_c = rng.standard_normal((N, H))
    nh, nc, cache = rl.lstm_step_forward(x[:, 0], h0, c0, Wx, Wh, b)
    tx, th, tc = t64(x[:, 0]), t64(h0), t64(c0)
    rh, rc = cell(tx, (th, tc))
    assert rel_error(nh, rh.detach().numpy()) < TOL and rel_error(nc, rc.detach().numpy()) < TOL
    torch.autograd.backward([rh, rc], [torch.from_numpy(dh[:, 0]), torch.from_numpy(dnext_c)])
    dx, dprev_h, dprev_c, dWx, dWh, db = rl.lstm_step_backward(dh[:, 0], dnext_c, cache)
    assert rel_error(dx, tx.grad.numpy()) < TOL
    assert rel_error(dprev_h, th.grad.numpy()) < TOL
    assert rel_error(dprev_c, tc.grad.numpy()) < TOL
    assert rel_error(dWx[:, order], cell.weight_ih.grad.numpy().T) < TOL
    assert rel_error(dWh[:, order], cell.weight_hh.grad.numpy().T) < TOL
    assert rel_error(db[order], cell.bias_ih.grad.numpy()) < TOL

    # whole sequence (c0 = 0)
    cell.zero_grad()
    h, cache = rl.lstm_forward(x, h0, Wx, Wh, b)
    tx, th = t64(x), t64(h0)
    state, outs = (th, torch.zeros(N, H, dtype=torch.float64)), []
    for t in range(T):
        state = cell(tx[:, t], state)
        outs.append(state[0])
    ref = torch.stack(outs, 1)
    ref.backward(torch.from_numpy(dh))
    assert rel_error(h, ref.detach().numpy()) < TOL
    dx, dh0, dWx, dWh, db = rl.lstm_backward(dh, cache)
    assert rel_error(dx, tx.grad.numpy()) < TOL
    assert rel_error(dh0, th.grad.numpy()) < TOL
    assert rel_error(dWx[:, order], cell.weight_ih.grad.numpy().T) < TOL
    assert rel_error(dWh[:, order], cell.weight_hh.grad.numpy().T) < TOL
    assert rel_error(db[order], cell.bias_ih.grad.numpy()) < TOL


@pytest.mark.reference("cs231n/assignment3", "cs231n/rnn_layers.py::word_embedding_forward",
                       "cs231n/rnn_layers.py::word_embedding_backward",
                       "cs231n/rnn_layers.py::temporal_affine_forward",
                       "cs231n/rnn_layers.py::temporal_affine_backward")
def test_embedding_and_temporal_affine_match_autograd(rng):
    rl = layers()
    N, T, V, D, M = 3, 5, 7, 4, 6
    ids = rng.integers(0, V, (N, T))
    ids[0, :2] = 3       # repeated ids must accumulate
    W = rng.standard_normal((V, D))
    dout = rng.standard_normal((N, T, D))
    out, cache = rl.word_embedding_forward(ids, W)
    tW = t64(W)
    ref = F.embedding(torch.from_numpy(ids), tW)
    ref.backward(torch.from_numpy(dout))
    assert rel_error(out, ref.detach().numpy()) < TOL
    assert rel_error(rl.word_embedding_backward(dout, cache), tW.grad.numpy()) < TOL

    x, w, b = rng.standard_normal((N, T, D)), rng.standard_normal((D, M)), rng.standard_normal(M)
    dout = rng.standard_normal((N, T, M))
    out, cache = rl.temporal_affine_forward(x, w, b)
    tx, tw, tb = t64(x), t64(w), t64(b)
    ref = F.linear(tx, tw.T, tb)
    ref.backward(torch.from_numpy(dout))
    assert rel_error(out, ref.detach().numpy()) < TOL
    for ours, theirs in zip(rl.temporal_affine_backward(dout, cache), (tx, tw, tb)):
        assert rel_error(ours, theirs.grad.numpy()) < TOL


@pytest.mark.reference("cs231n/assignment3", "cs231n/rnn_layers.py::temporal_softmax_loss")
def test_temporal_softmax_loss_matches_cross_entropy(rng):
    rl = layers()
    N, T, V, NULL = 6, 7, 11, 0
    x = rng.standard_normal((N, T, V)) * 3
    y = rng.integers(0, V, (N, T))
    y[:, 4:] = NULL                                   # padded tails
    mask = y != NULL
    loss, dx = rl.temporal_softmax_loss(x, y, mask)
    tx = t64(x)
    ref = F.cross_entropy(tx.reshape(-1, V), torch.from_numpy(y).reshape(-1),
                          ignore_index=NULL, reduction="sum") / N
    ref.backward()
    assert abs(loss - ref.item()) / abs(ref.item()) < TOL
    assert rel_error(dx, tx.grad.numpy()) < TOL
    # an arbitrary mask: per-element cross-entropy weighted by it
    mask = rng.random((N, T)) > 0.4
    loss, dx = rl.temporal_softmax_loss(x, y, mask)
    tx = t64(x)
    ce = F.cross_entropy(tx.reshape(-1, V), torch.from_numpy(y).reshape(-1), reduction="none")
    ref = (ce * torch.from_numpy(mask.reshape(-1)).double()).sum() / N
    ref.backward()
    assert abs(loss - ref.item()) / abs(ref.item()) < TOL
    assert rel_error(dx, tx.grad.numpy()) < TOL


def _torch_captioning_loss(params, features, captions, cell_type, null):
    """The captioning loss written directly with torch ops (independent of the numpy code)."""
    p = {k: t64(v) for k, v in params.items()}
    cin, cout = torch.from_numpy(captions[:, :-1]).long(), torch.from_numpy(captions[:, 1:]).long()
    h = torch.from_numpy(features) @ p["W_proj"] + p["b_proj"]
    c = torch.zeros_like(h)
    x = p["W_embed"][cin]
    H = h.shape[1]
    hs = []
    for t in range(cin.shape[1]):
        a = x[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"]
        if cell_type == "rnn":
            h = torch.tanh(a)
        else:
            i, f, o, g = a.split(H, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    scores = torch.stack(hs, 1) @ p["W_vocab"] + p["b_vocab"]
    loss = F.cross_entropy(scores.reshape(-1, scores.shape[2]), cout.reshape(-1),
                           ignore_index=null, reduction="sum") / features.shape[0]
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in p.items()}


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.reference("cs231n/assignment3", "cs231n/classifiers/rnn.py::CaptioningRNN.loss")
def test_captioning_rnn_loss_and_grads_match_autograd(cell_type, rng):
    rnn = course_module(A3, "cs231n.classifiers.rnn")
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3, "<START>": 1, "<END>": 4, "a": 5}
    N, D, W, H, T = 4, 6, 5, 7, 8
    model = rnn.CaptioningRNN(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H,
                              cell_type=cell_type, dtype=np.float64)
    for k in model.params:
        model.params[k] = rng.standard_normal(model.params[k].shape) * 0.5
    features = rng.standard_normal((N, D))
    captions = rng.integers(0, len(word_to_idx), (N, T))
    captions[:, 0] = 1
    captions[1, 5:] = 0
    loss, grads = model.loss(features, captions)
    ref_loss, ref_grads = _torch_captioning_loss(model.params, features, captions, cell_type, 0)
    assert abs(loss - ref_loss) / abs(ref_loss) < TOL
    assert set(grads) == set(model.params)
    for k in grads:
        assert rel_error(grads[k], ref_grads[k]) < TOL, k


@pytest.mark.reference("cs231n/assignment3", "cs231n/classifiers/rnn.py::CaptioningRNN.sample")
def test_sample_is_greedy_argmax(rng):
    """sample() must pick, at every step, the argmax word of a direct torch rollout."""
    rnn = course_module(A3, "cs231n.classifiers.rnn")
    word_to_idx = {w: i for i, w in enumerate(["<NULL>", "<START>", "<END>", "a", "b", "c"])}
    model = rnn.CaptioningRNN(word_to_idx, input_dim=4, wordvec_dim=3, hidden_dim=5,
                              cell_type="lstm", dtype=np.float64)
    features = rng.standard_normal((3, 4))
    caps = model.sample(features, max_length=6)
    assert caps.shape == (3, 6)
    p = {k: torch.from_numpy(v) for k, v in model.params.items()}
    h = torch.from_numpy(features) @ p["W_proj"] + p["b_proj"]
    c = torch.zeros_like(h)
    word = torch.full((3,), 1)
    done = torch.zeros(3, dtype=torch.bool)
    for t in range(6):
        a = p["W_embed"][word] @ p["Wx"] + h @ p["Wh"] + p["b"]
        i, f, o, g = a.split(5, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        word = (h @ p["W_vocab"] + p["b_vocab"]).argmax(1)
        # before a row's first <END>: the greedy word; after it the course allows either
        # stopping (<NULL>) or generating on
        live = ~done.numpy()
        np.testing.assert_array_equal(caps[live, t], word.numpy()[live])
        assert np.all((caps[~live, t] == 0) | (caps[~live, t] == word.numpy()[~live]))
        done |= word == 2


def test_bad_input_raises_value_error(rng):
    rl = layers()
    rnn = course_module(A3, "cs231n.classifiers.rnn")
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "x": 3}
    with pytest.raises(ValueError, match="cell_type"):
        rnn.CaptioningRNN(word_to_idx, cell_type="gru")
    model = rnn.CaptioningRNN(word_to_idx, input_dim=6, hidden_dim=4, cell_type="lstm")
    feats = rng.standard_normal((2, 6))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        model.loss(feats, np.array([[1, 3, 7, 2], [1, 3, 2, 0]]))
    with pytest.raises(ValueError, match="input_dim"):
        model.loss(rng.standard_normal((2, 5)), np.array([[1, 3, 2, 0], [1, 3, 2, 0]]))
    with pytest.raises(ValueError, match="max_length"):
        model.sample(feats, max_length=0)
    # the course's own vocabulary (no <START>, ids 0, 2, 3) is accepted; only sampling needs <START>
    no_start = rnn.CaptioningRNN({"<NULL>": 0, "cat": 2, "dog": 3}, input_dim=6, hidden_dim=4)
    with pytest.raises(ValueError, match="<START>"):
        no_start.sample(feats)
    with pytest.raises(ValueError, match="<NULL>"):
        rnn.CaptioningRNN({"<START>": 0, "cat": 1})
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        rl.word_embedding_forward(np.array([[0, 5]]), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="targets"):
        rl.temporal_softmax_loss(np.zeros((1, 2, 3)), np.array([[0, 3]]), np.ones((1, 2), bool))
    with pytest.raises(ValueError, match="Wh"):
        rl.lstm_forward(np.zeros((2, 3, 4)), np.zeros((2, 5)), np.zeros((4, 20)),
                        np.zeros((5, 5)), np.zeros(20))
    cu = course_module(A3, "cs231n.coco_utils")
    with pytest.raises(ValueError, match="caption ids"):
        cu.decode_captions(np.array([0, 9]), ["<NULL>", "<START>"])


@pytest.mark.reference("cs231n/assignment3", "cs231n/rnn_layers.py::_lstm_gate_grads")
def test_lstm_gate_grads_match_autograd(rng):
    """The optional helper on its own: from fixed gate activations a and prev_c, torch computes
    the gates (sigmoid i, f, o; tanh g), next_c = f prev_c + i g, next_h = o tanh(next_c) and
    backpropagates dnext_h, dnext_c; the helper must give d a and d prev_c (float64)."""
    rl = layers()
    N, H = 4, 5
    a, prev_c = t64(rng.standard_normal((N, 4 * H))), t64(rng.standard_normal((N, H)))
    dnext_h, dnext_c = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    i, f, o = (torch.sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
    g = torch.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_c = torch.tanh(next_c)
    next_h = o * tanh_c
    torch.autograd.backward([next_h, next_c], [torch.from_numpy(dnext_h), torch.from_numpy(dnext_c)])
    gates = torch.cat([i, f, o, g], dim=1).detach().numpy()
    da, dprev_c = rl._lstm_gate_grads(dnext_h, dnext_c, prev_c.detach().numpy(), gates,
                                      tanh_c.detach().numpy())
    assert rel_error(da, a.grad.numpy()) < TOL
    assert rel_error(dprev_c, prev_c.grad.numpy()) < TOL
