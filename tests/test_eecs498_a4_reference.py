"""EECS 498 A4 `CaptioningRNN` (rnn and lstm paths: `_initial_state`, `forward`, `sample`) and
`WordEmbedding.forward` against an independent reference built from plain torch.nn layers.

The reference follows the course's layer spec: image features -> nn.Linear(D, H) = h0;
words -> nn.Embedding(V, W); nn.RNNCell(W, H) (tanh) or nn.LSTMCell(W, H) with c0 = 0;
nn.Linear(H, V) scores; summed cross-entropy over the non-<NULL> targets / N. Our weights are
copied in (the LSTM's gate blocks i, f, o, g mapped to torch's i, f, g, o), float64, and the
loss, every parameter gradient and the greedy samples must agree, in train and in eval mode.
The MobileNet backbone is frozen, so fixed random features stand in for it (the backbone
itself is torchvision's). Parameters are found by type and shape, not by attribute name.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

A4 = "eecs498/A4"
D, W, H = 1280, 7, 6


def mod():
    return course_module(A4, "rnn_lstm_attention_captioning")


def vocab():
    words = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "dog", "on", "mat"]
    return {w: i for i, w in enumerate(words)}


def parts(m, model, V):
    """(projection Linear(D, H), WordEmbedding, RNN or LSTM module, output Linear(H, V))."""
    linears = [x for x in model.modules() if isinstance(x, nn.Linear)]
    proj = [x for x in linears if x.in_features == D and x.out_features == H]
    out = [x for x in linears if x.in_features == H and x.out_features == V]
    emb = [x for x in model.modules() if isinstance(x, m.WordEmbedding)]
    cells = [x for x in model.modules() if isinstance(x, (m.RNN, m.LSTM))]
    assert len(proj) == 1 and len(out) == 1 and len(emb) == 1 and len(cells) == 1, \
        "expected one feature projection, one output layer, one embedding and one RNN/LSTM"
    return proj[0], emb[0], cells[0], out[0]


def build(cell_type, seed=0):
    """Our captioner in float64 with random weights (biases too) and fixed stand-in features."""
    m = mod()
    w2i = vocab()
    torch.manual_seed(seed)
    model = m.CaptioningRNN(w2i, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell_type,
                            ignore_index=w2i["<NULL>"], dtype=torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn_like(p))
    N = 8
    # small features keep h0 = proj(features) out of tanh's saturation, so that sampling and
    # the loss depend on every detail of the initial state
    feats = 0.02 * torch.randn(N, D, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    model.feature_extractor.extract_mobilenet_feature = lambda img, verbose=False: feats
    images = torch.zeros(N, 3, 112, 112, dtype=torch.uint8)
    return m, model, w2i, images, feats


def reference(m, model, cell_type, V):
    """Plain torch.nn layers with our weights copied in."""
    proj, emb, rnn, out = parts(m, model, V)
    ref = nn.ModuleDict({
        "proj": nn.Linear(D, H), "emb": nn.Embedding(V, W), "out": nn.Linear(H, V),
        "cell": nn.RNNCell(W, H, nonlinearity="tanh") if cell_type == "rnn" else nn.LSTMCell(W, H),
    }).double()
    if cell_type == "rnn":
        order = torch.arange(H)
    else:  # ours: gates i, f, o, g in the 4H columns; torch: i, f, g, o
        order = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
    with torch.no_grad():
        ref["proj"].weight.copy_(proj.weight)
        ref["proj"].bias.copy_(proj.bias)
        ref["emb"].weight.copy_(emb.W_embed)
        ref["out"].weight.copy_(out.weight)
        ref["out"].bias.copy_(out.bias)
        ref["cell"].weight_ih.copy_(rnn.Wx[:, order].T)
        ref["cell"].weight_hh.copy_(rnn.Wh[:, order].T)
        ref["cell"].bias_ih.copy_(rnn.b[order])
        ref["cell"].bias_hh.zero_()
    return ref


def ref_step(ref, cell_type, x, state):
    if cell_type == "rnn":
        h = ref["cell"](x, state[0])
        return h, (h,)
    h, c = ref["cell"](x, state)
    return h, (h, c)


def ref_loss(ref, cell_type, feats, captions, null):
    h0 = ref["proj"](feats)
    state = (h0,) if cell_type == "rnn" else (h0, torch.zeros_like(h0))
    scores = []
    for t in range(captions.shape[1] - 1):
        h, state = ref_step(ref, cell_type, ref["emb"](captions[:, t]), state)
        scores.append(ref["out"](h))
    scores = torch.stack(scores, 1)
    return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), captions[:, 1:].reshape(-1),
                           ignore_index=null, reduction="sum") / captions.shape[0]


def captions_for(w2i, N):
    g = torch.Generator().manual_seed(1)
    caps = torch.randint(3, len(w2i), (N, 7), generator=g)
    caps[:, 0] = w2i["<START>"]
    caps[0, 4:] = w2i["<NULL>"]          # padding that the loss must ignore
    caps[1, 5] = w2i["<END>"]
    caps[1, 6:] = w2i["<NULL>"]
    return caps


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::CaptioningRNN.__init__",
                       "rnn_lstm_attention_captioning.py::CaptioningRNN.forward")
def test_forward_loss_and_gradients_match_torch_cells(cell_type, mode):
    m, model, w2i, images, feats = build(cell_type)
    V = len(w2i)
    ref = reference(m, model, cell_type, V)
    getattr(model, mode)()
    getattr(ref, mode)()
    caps = captions_for(w2i, images.shape[0])
    ours = model(images, caps)
    want = ref_loss(ref, cell_type, feats, caps, w2i["<NULL>"])
    torch.testing.assert_close(ours, want, rtol=1e-12, atol=1e-12)
    ours.backward()
    want.backward()
    proj, emb, rnn, out = parts(m, model, V)
    order = (torch.arange(H) if cell_type == "rnn" else
             torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)]))
    pairs = [(proj.weight.grad, ref["proj"].weight.grad), (proj.bias.grad, ref["proj"].bias.grad),
             (emb.W_embed.grad, ref["emb"].weight.grad),
             (out.weight.grad, ref["out"].weight.grad), (out.bias.grad, ref["out"].bias.grad),
             (rnn.Wx.grad[:, order].T, ref["cell"].weight_ih.grad),
             (rnn.Wh.grad[:, order].T, ref["cell"].weight_hh.grad),
             (rnn.b.grad[order], ref["cell"].bias_ih.grad)]
    for got, exp in pairs:
        torch.testing.assert_close(got, exp, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.reference("eecs498/A4",
                       "rnn_lstm_attention_captioning.py::CaptioningRNN._initial_state")
def test_initial_state_is_the_projected_features(cell_type):
    m, model, w2i, images, feats = build(cell_type)
    if not hasattr(model, "_initial_state"):
        pytest.skip("_initial_state is an optional helper")
    ref = reference(m, model, cell_type, len(w2i))
    torch.testing.assert_close(model._initial_state(images), ref["proj"](feats),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::CaptioningRNN.sample")
def test_sample_is_the_greedy_rollout_of_torch_cells(cell_type, mode):
    m, model, w2i, images, feats = build(cell_type, seed=2)
    ref = reference(m, model, cell_type, len(w2i))
    getattr(model, mode)()
    T = 9
    with torch.no_grad():
        got = model.sample(images, max_length=T)
        h0 = ref["proj"](feats)
        state = (h0,) if cell_type == "rnn" else (h0, torch.zeros_like(h0))
        word = torch.full((images.shape[0],), w2i["<START>"], dtype=torch.long)
        done = torch.zeros(images.shape[0], dtype=torch.bool)
        want = torch.full((images.shape[0], T), w2i["<NULL>"], dtype=torch.long)
        for t in range(T):
            h, state = ref_step(ref, cell_type, ref["emb"](word), state)
            word = ref["out"](h).argmax(1)
            want[:, t] = torch.where(done, want[:, t], word)
            done |= word == w2i["<END>"]
    assert got.shape == (images.shape[0], T)
    # Words after <END> are not graded (the course's decode_captions stops there).
    for i in range(images.shape[0]):
        stop = next((t + 1 for t in range(T) if want[i, t] == w2i["<END>"]), T)
        assert got[i, :stop].tolist() == want[i, :stop].tolist()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.reference("eecs498/A4", "rnn_lstm_attention_captioning.py::WordEmbedding.forward")
def test_word_embedding_matches_nn_embedding(dtype):
    m = mod()
    torch.manual_seed(0)
    layer = m.WordEmbedding(11, 5, dtype=dtype)
    ref = nn.Embedding(11, 5).to(dtype)
    with torch.no_grad():
        ref.weight.copy_(layer.W_embed)
    ids = torch.tensor([[0, 3, 10, 3], [7, 1, 0, 2]])
    got = layer(ids)
    want = ref(ids)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    upstream = torch.randn_like(got)
    got.backward(upstream)
    want.backward(upstream)
    torch.testing.assert_close(layer.W_embed.grad, ref.weight.grad, rtol=1e-12, atol=1e-6)
    one = layer(torch.tensor([4, 4, 9]))        # (N,) ids, as sample() passes them
    torch.testing.assert_close(one, ref(torch.tensor([4, 4, 9])), rtol=0, atol=0)
