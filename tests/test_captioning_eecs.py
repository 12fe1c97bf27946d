"""EECS 498 A4 captioning: torch RNN/LSTM/attention layers against independent references
(torch.nn.LSTMCell with mapped weights, F.scaled_dot_product_attention, F.cross_entropy),
an attention captioner overfitting a small batch, and bad input."""
import math

import pytest
import torch
import torch.nn.functional as F

from dl4cv_tools.testing import course_module
from tests.torch_references import lstm_cell_from_course as lstm_cell

A4 = "eecs498/A4"
TOLS = {torch.float32: 1e-6, torch.float64: 1e-10}


def mod():
    return course_module(A4, "rnn_lstm_attention_captioning")


def rel(x, y):
    return ((x - y).abs().max() / (x.abs() + y.abs()).clamp(min=1e-12).max()).item()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::rnn_step_forward",
                       "rnn_lstm_attention_captioning.py::rnn_forward",
                       "rnn_lstm_attention_captioning.py::rnn_backward")
def test_rnn_forward_and_backward(dtype):
    m = mod()
    g = torch.Generator().manual_seed(0)
    N, T, D, H = 3, 5, 6, 4
    x, h0 = torch.randn(N, T, D, generator=g, dtype=dtype), torch.randn(N, H, generator=g, dtype=dtype)
    Wx, Wh, b = (torch.randn(D, H, generator=g, dtype=dtype) * 0.5,
                 torch.randn(H, H, generator=g, dtype=dtype) * 0.5, torch.randn(H, generator=g, dtype=dtype))
    # reference: torch.nn.RNNCell (tanh) with the transposed weights
    cell = torch.nn.RNNCell(D, H).to(dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(Wx.T)
        cell.weight_hh.copy_(Wh.T)
        cell.bias_ih.copy_(b)
        cell.bias_hh.zero_()
    nh, _ = m.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    assert rel(nh, cell(x[:, 0], h0)) < TOLS[dtype]
    h, cache = m.rnn_forward(x, h0, Wx, Wh, b)
    xs, h0s = x.clone().requires_grad_(), h0.clone().requires_grad_()
    state, outs = h0s, []
    for t in range(T):
        state = cell(xs[:, t], state)
        outs.append(state)
    ref = torch.stack(outs, 1)
    assert rel(h, ref) < TOLS[dtype]
    dh = torch.randn(N, T, H, generator=g, dtype=dtype)
    ref.backward(dh)
    dx, dh0, dWx, dWh, db = m.rnn_backward(dh, cache)
    assert rel(dx, xs.grad) < TOLS[dtype] and rel(dh0, h0s.grad) < TOLS[dtype]
    assert rel(dWx, cell.weight_ih.grad.T) < TOLS[dtype]
    assert rel(dWh, cell.weight_hh.grad.T) < TOLS[dtype]
    assert rel(db, cell.bias_ih.grad) < TOLS[dtype]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::lstm_forward")
def test_lstm_matches_lstmcell(dtype):
    m = mod()
    torch.manual_seed(1)
    N, T, D, H = 3, 4, 5, 6
    lstm = m.LSTM(D, H, dtype=dtype)
    with torch.no_grad():
        lstm.b.normal_()
    x, h0 = torch.randn(N, T, D, dtype=dtype), torch.randn(N, H, dtype=dtype)
    cell = lstm_cell(lstm.Wx.detach(), lstm.Wh.detach(), lstm.b.detach())
    h = lstm(x, h0)
    state, outs = (h0, torch.zeros_like(h0)), []
    for t in range(T):
        state = cell(x[:, t], state)
        outs.append(state[0])
    ref = torch.stack(outs, 1)
    assert rel(h, ref) < TOLS[dtype]
    # gradients through the whole sequence (autograd through our ops vs through LSTMCell)
    dh = torch.randn(N, T, H, dtype=dtype)
    h.backward(dh)
    ref.backward(dh)
    H4 = 4 * H
    order = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, H4), torch.arange(2 * H, 3 * H)])
    assert rel(lstm.Wx.grad[:, order], cell.weight_ih.grad.T) < TOLS[dtype] * 10
    assert rel(lstm.Wh.grad[:, order], cell.weight_hh.grad.T) < TOLS[dtype] * 10


def _reference_attention_lstm(x, A, Wx, Wh, Wattn, b):
    """h0 = c0 = mean of A; each step: SDPA of the previous h over the 16 locations, then an
    LSTM step whose input is [x_t, attn] (an LSTMCell with [Wx; Wattn] as input weights)."""
    N, H = A.shape[:2]
    keys = A.flatten(2).transpose(1, 2)                                  # (N, 16, H)
    cell = lstm_cell(torch.cat([Wx, Wattn]), Wh, b)
    h = A.mean(dim=(2, 3))
    c = h
    outs, weights = [], []
    for t in range(x.shape[1]):
        attn = F.scaled_dot_product_attention(h[:, None, None], keys[:, None], keys[:, None])[:, 0, 0]
        w = torch.softmax((keys @ h[:, :, None])[..., 0] / math.sqrt(H), dim=1)
        weights.append(w)
        h, c = cell(torch.cat([x[:, t], attn], dim=1), (h, c))
        outs.append(h)
    return torch.stack(outs, 1), weights


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::attention_forward",
                       "rnn_lstm_attention_captioning.py::dot_product_attention")
def test_attention_matches_sdpa_reference(dtype):
    m = mod()
    torch.manual_seed(2)
    N, T, D, H = 2, 4, 5, 6
    att = m.AttentionLSTM(D, H, dtype=dtype)
    with torch.no_grad():
        att.b.normal_()
    x, A = torch.randn(N, T, D, dtype=dtype), torch.randn(N, H, 4, 4, dtype=dtype)
    h = att(x, A)
    ref, _ = _reference_attention_lstm(x, A, att.Wx.detach(), att.Wh.detach(),
                                       att.Wattn.detach(), att.b.detach())
    assert rel(h, ref) < TOLS[dtype]
    prev_h = torch.randn(N, H, dtype=dtype)
    attn, w = m.dot_product_attention(prev_h, A)
    keys = A.flatten(2).transpose(1, 2)
    ref_attn = F.scaled_dot_product_attention(prev_h[:, None, None], keys[:, None], keys[:, None])[:, 0, 0]
    assert w.shape == (N, 4, 4)
    assert rel(attn, ref_attn) < TOLS[dtype]
    assert torch.allclose(w.sum(dim=(1, 2)), torch.ones(N, dtype=dtype))


@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::temporal_softmax_loss")
def test_temporal_softmax_loss_matches_cross_entropy():
    m = mod()
    torch.manual_seed(3)
    N, T, V, NULL = 5, 6, 9, 0
    x = torch.randn(N, T, V, dtype=torch.float64)
    y = torch.randint(0, V, (N, T))
    y[:, 3:] = NULL
    ours = m.temporal_softmax_loss(x, y, ignore_index=NULL)
    ref = F.cross_entropy(x.permute(0, 2, 1), y, ignore_index=NULL, reduction="sum") / N
    assert abs(ours.item() - ref.item()) / ref.item() < 1e-12


def test_attention_captioner_overfits_small_batch():
    m = mod()
    helper = course_module(A4, "a4_helper")
    torch.manual_seed(0)
    vocab = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "red", "blue", "cat", "dog", "on", "mat"]
    word_to_idx = {w: i for i, w in enumerate(vocab)}
    model = m.CaptioningRNN(word_to_idx, input_dim=1280, wordvec_dim=128, hidden_dim=128,
                            cell_type="attention", ignore_index=0)
    N = 8
    images = torch.randint(0, 256, (N, 3, 112, 112), dtype=torch.uint8)
    captions = torch.zeros(N, 8, dtype=torch.long)
    for i in range(N):
        words = ["a", vocab[5 + i % 2], vocab[7 + (i // 2) % 2], "on", "a", "mat"]
        captions[i, :len(words) + 2] = torch.tensor([1] + [word_to_idx[w] for w in words] + [2])
    # The backbone is frozen and deterministic: compute its features once for speed.
    feats = model.feature_extractor.extract_mobilenet_feature(images)
    assert feats.shape == (N, 1280, 4, 4)
    model.feature_extractor.extract_mobilenet_feature = lambda img, verbose=False: feats
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(200):
        loss = model(images, captions)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    sampled, attn = model.sample(images, max_length=8)
    assert attn.shape == (N, 8, 4, 4)
    assert helper.decode_captions(sampled, vocab) == helper.decode_captions(captions[:, 1:], vocab)


def test_bad_input_raises_value_error():
    m = mod()
    w2i = {"<NULL>": 0, "<START>": 1, "<END>": 2, "x": 3}
    with pytest.raises(ValueError, match="cell_type"):
        m.CaptioningRNN(w2i, input_dim=1280, cell_type="gru")
    with pytest.raises(ValueError, match="1280"):
        m.CaptioningRNN(w2i, input_dim=512, cell_type="rnn")
    with pytest.raises(ValueError, match="hidden size"):
        m.attention_forward(torch.zeros(2, 3, 4), torch.zeros(2, 7, 4, 4), torch.zeros(4, 20),
                            torch.zeros(5, 20), torch.zeros(5, 20), torch.zeros(20))
    model = m.CaptioningRNN(w2i, input_dim=1280, hidden_dim=8, wordvec_dim=8, cell_type="lstm",
                            ignore_index=0, max_caption_length=4)
    images = torch.zeros(1, 3, 112, 112, dtype=torch.uint8)
    with pytest.raises(ValueError, match="max_caption_length"):
        model(images, torch.tensor([[1, 3, 3, 3, 3, 3, 2]]))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        model(images, torch.tensor([[1, 3, 9, 2]]))
    with pytest.raises(ValueError, match="max_length"):
        model.sample(images, max_length=0)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        m.WordEmbedding(4, 3)(torch.tensor([[5]]))


@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::lstm_step_forward")
@pytest.mark.parametrize("attention", [False, True])
def test_lstm_step_forward_matches_lstmcell(attention):
    """One step against torch.nn.LSTMCell (gates mapped), float64, nonzero prev_c; with
    attention the cell's input is [x, attn] and its input weights [Wx; Wattn]."""
    m = mod()
    g = torch.Generator().manual_seed(4)
    N, D, H = 3, 5, 4
    f64 = dict(generator=g, dtype=torch.float64)
    x, prev_h, prev_c = torch.randn(N, D, **f64), torch.randn(N, H, **f64), torch.randn(N, H, **f64)
    Wx, Wh, b = 0.5 * torch.randn(D, 4 * H, **f64), 0.5 * torch.randn(H, 4 * H, **f64), torch.randn(4 * H, **f64)
    if attention:
        attn, Wattn = torch.randn(N, H, **f64), 0.5 * torch.randn(H, 4 * H, **f64)
        next_h, next_c = m.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b, attn, Wattn)
        rh, rc = lstm_cell(torch.cat([Wx, Wattn]), Wh, b)(torch.cat([x, attn], dim=1), (prev_h, prev_c))
    else:
        next_h, next_c = m.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
        rh, rc = lstm_cell(Wx, Wh, b)(x, (prev_h, prev_c))
    assert rel(next_h, rh) < 1e-12 and rel(next_c, rc) < 1e-12


@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::scaled_dot_product_attention")
def test_scaled_dot_product_attention_matches_sdpa():
    """Against F.scaled_dot_product_attention (one query per example, L keys, separate values);
    the weights against the closed form softmax(K q / sqrt(H)); gradients through both."""
    m = mod()
    g = torch.Generator().manual_seed(5)
    N, L, H, Hv = 3, 7, 6, 4
    f64 = dict(generator=g, dtype=torch.float64)
    q, k, v = torch.randn(N, H, **f64), torch.randn(N, L, H, **f64), torch.randn(N, L, Hv, **f64)
    qs, ks, vs = (t.clone().requires_grad_() for t in (q, k, v))
    qr, kr, vr = (t.clone().requires_grad_() for t in (q, k, v))
    out, w = m.scaled_dot_product_attention(qs, ks, vs)
    ref = F.scaled_dot_product_attention(qr[:, None, None], kr[:, None], vr[:, None])[:, 0, 0]
    assert out.shape == (N, Hv) and w.shape == (N, L)
    assert rel(out, ref) < 1e-12
    assert rel(w, torch.softmax((k @ q[:, :, None])[..., 0] / math.sqrt(H), dim=1)) < 1e-12
    up = torch.randn(N, Hv, **f64)
    out.backward(up)
    ref.backward(up)
    for a, b_ in ((qs, qr), (ks, kr), (vs, vr)):
        assert rel(a.grad, b_.grad) < 1e-10
