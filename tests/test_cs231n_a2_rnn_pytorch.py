"""CS231n 2025 assignment 2 RNN_Captioning_pytorch: the forward-only PyTorch layers and
CaptioningRNN against torch.nn modules with copied weights (float64): nn.RNNCell / nn.RNN
(tanh), nn.LSTMCell (gates reordered), F.embedding and a one-hot product, nn.Linear and
F.cross_entropy, and a greedy decode written with those modules."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dl4cv_tools.testing import course_module
from tests.torch_references import lstm_cell_from_course as lstm_cell

A2 = "cs231n/assignment2"
TOL = 1e-10


def layers():
    return course_module(A2, "cs231n.rnn_layers_pytorch")


def model_class():
    return course_module(A2, "cs231n.classifiers.rnn_pytorch").CaptioningRNN


def t64(rng, *shape, scale=1.0):
    return torch.from_numpy(rng.standard_normal(shape) * scale)


def close(a, b, tol=TOL):
    """max |a - b| / max(|b|, 1): a relative error that stays meaningful near zero."""
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a - b).abs().max() / max(float(b.abs().max()), 1.0)) < tol


def rnn_cell(Wx, Wh, b):
    """nn.RNNCell (tanh) holding the course's weights: weight_ih = Wx^T, weight_hh = Wh^T."""
    D, H = Wx.shape
    cell = nn.RNNCell(D, H, nonlinearity="tanh").double()
    with torch.no_grad():
        cell.weight_ih.copy_(Wx.T)
        cell.weight_hh.copy_(Wh.T)
        cell.bias_ih.copy_(b)
        cell.bias_hh.zero_()
    return cell


@pytest.mark.reference("cs231n/assignment2", "cs231n/rnn_layers_pytorch.py::rnn_step_forward",
                       "cs231n/rnn_layers_pytorch.py::rnn_forward")
def test_rnn_step_and_sequence_match_nn_rnncell_and_nn_rnn(rng):
    rl = layers()
    N, T, D, H = 3, 6, 5, 4
    x, h0 = t64(rng, N, T, D), t64(rng, N, H)
    Wx, Wh, b = t64(rng, D, H, scale=0.6), t64(rng, H, H, scale=0.6), t64(rng, H)
    cell = rnn_cell(Wx, Wh, b)
    with torch.no_grad():
        assert close(rl.rnn_step_forward(x[:, 0], h0, Wx, Wh, b), cell(x[:, 0], h0))
        h = rl.rnn_forward(x, h0, Wx, Wh, b)
        states, prev = [], h0
        for t in range(T):
            prev = cell(x[:, t], prev)
            states.append(prev)
        assert close(h, torch.stack(states, 1))
        # the same through nn.RNN (batch_first) with the cell's weights
        rnn = nn.RNN(D, H, batch_first=True).double()
        rnn.load_state_dict({k.replace("_ih", "_ih_l0").replace("_hh", "_hh_l0"): v
                             for k, v in cell.state_dict().items()})
        ref, last = rnn(x, h0[None])
        assert close(h, ref) and close(h[:, -1], last[0])
    # forward only: autograd must reach every input through the student's code
    args = [a.clone().requires_grad_() for a in (x, h0, Wx, Wh, b)]
    rl.rnn_forward(*args).sum().backward()
    ref_args = [a.clone().requires_grad_() for a in (x, h0, Wx, Wh, b)]
    prev, out = ref_args[1], 0
    for t in range(T):
        prev = torch.tanh(ref_args[0][:, t] @ ref_args[2] + prev @ ref_args[3] + ref_args[4])
        out = out + prev.sum()
    out.backward()
    for ours, ref in zip(args, ref_args):
        assert close(ours.grad, ref.grad)


@pytest.mark.reference("cs231n/assignment2",
                       "cs231n/rnn_layers_pytorch.py::word_embedding_forward")
def test_word_embedding_matches_f_embedding_and_one_hot(rng):
    rl = layers()
    N, T, V, D = 4, 5, 7, 3
    ids = torch.from_numpy(rng.integers(0, V, (N, T)))
    ids[0, :3] = 2                                     # repeated ids
    W = t64(rng, V, D)
    out = rl.word_embedding_forward(ids, W)
    assert close(out, F.embedding(ids, W))
    assert close(out, F.one_hot(ids, V).double() @ W)
    # the gradient autograd gives through it is the one-hot scatter
    Wg = W.clone().requires_grad_()
    dout = t64(rng, N, T, D)
    rl.word_embedding_forward(ids, Wg).backward(dout)
    onehot = F.one_hot(ids, V).double().reshape(N * T, V)
    assert close(Wg.grad, onehot.T @ dout.reshape(N * T, D))


@pytest.mark.reference("cs231n/assignment2", "cs231n/rnn_layers_pytorch.py::lstm_step_forward",
                       "cs231n/rnn_layers_pytorch.py::lstm_forward")
def test_lstm_step_and_sequence_match_nn_lstmcell(rng):
    rl = layers()
    N, T, D, H = 3, 5, 4, 6
    x, h0, c0 = t64(rng, N, T, D), t64(rng, N, H), t64(rng, N, H)
    Wx, Wh, b = t64(rng, D, 4 * H, scale=0.5), t64(rng, H, 4 * H, scale=0.5), t64(rng, 4 * H)
    cell = lstm_cell(Wx, Wh, b)
    with torch.no_grad():
        next_h, next_c = rl.lstm_step_forward(x[:, 0], h0, c0, Wx, Wh, b)
        ref_h, ref_c = cell(x[:, 0], (h0, c0))
        assert close(next_h, ref_h) and close(next_c, ref_c)
        h = rl.lstm_forward(x, h0, Wx, Wh, b)
        state, states = (h0, torch.zeros(N, H, dtype=torch.float64)), []
        for t in range(T):
            state = cell(x[:, t], state)
            states.append(state[0])
        assert close(h, torch.stack(states, 1))
    # gradients through the student's sequence equal those through the cell
    xs, hs = x.clone().requires_grad_(), h0.clone().requires_grad_()
    dh = t64(rng, N, T, H)
    rl.lstm_forward(xs, hs, Wx, Wh, b).backward(dh)
    xr, hr = x.clone().requires_grad_(), h0.clone().requires_grad_()
    state, states = (hr, torch.zeros(N, H, dtype=torch.float64)), []
    for t in range(T):
        state = cell(xr[:, t], state)
        states.append(state[0])
    torch.stack(states, 1).backward(dh)
    assert close(xs.grad, xr.grad) and close(hs.grad, hr.grad)


def _nn_captioning_model(params, cell_type):
    """nn.Linear projections and nn.RNN / nn.LSTMCell with copies of the course's params."""
    W_proj, W_vocab = params["W_proj"], params["W_vocab"]
    proj = nn.Linear(*W_proj.shape).double()
    vocab = nn.Linear(*W_vocab.shape).double()
    with torch.no_grad():
        proj.weight.copy_(W_proj.T)
        proj.bias.copy_(params["b_proj"])
        vocab.weight.copy_(W_vocab.T)
        vocab.bias.copy_(params["b_vocab"])
    make = rnn_cell if cell_type == "rnn" else lstm_cell
    cell = make(params["Wx"].double(), params["Wh"].double(), params["b"].double())
    return proj, cell, vocab


def _unroll(cell, cell_type, x, h):
    """Hidden states (N, T, H) of `cell` over x (N, T, W) from h (and a zero cell state)."""
    state, states = (h, torch.zeros_like(h)), []
    for t in range(x.shape[1]):
        if cell_type == "rnn":
            state = (cell(x[:, t], state[0]), None)
        else:
            state = cell(x[:, t], state)
        states.append(state[0])
    return torch.stack(states, 1)


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.reference("cs231n/assignment2",
                       "cs231n/classifiers/rnn_pytorch.py::CaptioningRNN.loss")
def test_captioning_loss_matches_nn_modules_and_cross_entropy(cell_type, rng):
    """loss = sum over the T target words (ignoring <NULL>) of the cross-entropy, divided by N;
    gradients (autograd through the student's loss) equal those of the nn-module model."""
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "cat": 3, "dog": 4, "a": 5}
    N, D, W, H, T1 = 5, 6, 4, 7, 9
    model = model_class()(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H,
                          cell_type=cell_type, dtype=torch.float64)
    for k, v in model.params.items():
        model.params[k] = t64(rng, *v.shape, scale=0.5)
    features = t64(rng, N, D)
    captions = torch.from_numpy(rng.integers(1, len(word_to_idx), (N, T1)))
    captions[:, 0] = 1
    captions[1, 4:] = 0                              # padded tails are masked out
    captions[3, 6:] = 0

    for v in model.params.values():
        v.requires_grad_()
    loss = model.loss(features, captions)
    loss.backward()
    grads = {k: v.grad.clone() for k, v in model.params.items()}
    for v in model.params.values():
        v.requires_grad_(False)

    proj, cell, vocab = _nn_captioning_model(model.params, cell_type)
    embed = nn.Embedding.from_pretrained(model.params["W_embed"].clone(), freeze=False)
    h = _unroll(cell, cell_type, embed(captions[:, :-1]), proj(features))
    scores = vocab(h)
    ref = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), captions[:, 1:].reshape(-1),
                          ignore_index=0, reduction="sum") / N
    ref.backward()
    assert loss.dim() == 0 and abs(loss.item() - ref.item()) < TOL * abs(ref.item())
    ref_grads = {"W_proj": proj.weight.grad.T, "b_proj": proj.bias.grad,
                 "W_vocab": vocab.weight.grad.T, "b_vocab": vocab.bias.grad,
                 "W_embed": embed.weight.grad, "b": cell.bias_ih.grad,
                 "Wx": cell.weight_ih.grad.T, "Wh": cell.weight_hh.grad.T}
    if cell_type == "lstm":                          # back from torch's i, f, g, o to i, f, o, g
        H4 = 4 * H
        back = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, H4),
                          torch.arange(2 * H, 3 * H)]).argsort()
        ref_grads["b"] = ref_grads["b"][back]
        ref_grads["Wx"], ref_grads["Wh"] = ref_grads["Wx"][:, back], ref_grads["Wh"][:, back]
    assert set(grads) == set(ref_grads)
    for k in grads:
        assert close(grads[k], ref_grads[k]), k


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.reference("cs231n/assignment2",
                       "cs231n/classifiers/rnn_pytorch.py::CaptioningRNN.sample")
def test_sample_is_the_greedy_decode_of_the_nn_model(cell_type, rng):
    words = ["<NULL>", "<START>", "<END>", "a", "b", "c", "d"]
    word_to_idx = {w: i for i, w in enumerate(words)}
    model = model_class()(word_to_idx, input_dim=5, wordvec_dim=4, hidden_dim=6,
                          cell_type=cell_type, dtype=torch.float64)
    for k, v in model.params.items():
        model.params[k] = t64(rng, *v.shape, scale=1.5)
    features = t64(rng, 8, 5)
    L = 7
    caps = model.sample(features, max_length=L)
    assert caps.shape == (8, L) and caps.dtype == torch.long

    proj, cell, vocab = _nn_captioning_model(model.params, cell_type)
    embed = nn.Embedding.from_pretrained(model.params["W_embed"])
    with torch.no_grad():
        h = proj(features)
        c = torch.zeros_like(h)
        word = torch.full((8,), 1)
        done = torch.zeros(8, dtype=torch.bool)
        for t in range(L):
            if cell_type == "rnn":
                h = cell(embed(word), h)
            else:
                h, c = cell(embed(word), (h, c))
            word = vocab(h).argmax(1)
            # before a row's first <END>: the greedy word; after it the course allows either
            # stopping (<NULL>) or generating on
            assert torch.equal(caps[~done, t], word[~done]), t
            assert bool(((caps[done, t] == 0) | (caps[done, t] == word[done])).all())
            done |= word == 2
    # the course's default length
    assert model.sample(features[:2]).shape == (2, 30)


def test_course_api_and_bad_input(rng):
    rl = layers()
    CaptioningRNN = model_class()
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "x": 3}
    with pytest.raises(ValueError, match="cell_type"):
        CaptioningRNN(word_to_idx, cell_type="gru")
    model = CaptioningRNN(word_to_idx, input_dim=6, hidden_dim=4)
    assert set(model.params) == {"W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab",
                                 "b_vocab"}
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float32
               for v in model.params.values())
    lstm = CaptioningRNN(word_to_idx, input_dim=6, wordvec_dim=5, hidden_dim=4,
                         cell_type="lstm")
    assert lstm.params["Wx"].shape == (5, 16) and lstm.params["b"].shape == (16,)
    feats = t64(rng, 2, 6).float()
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        model.loss(feats, torch.tensor([[1, 3, 7, 2], [1, 3, 2, 0]]))
    with pytest.raises(ValueError, match="input_dim"):
        model.loss(t64(rng, 2, 5).float(), torch.tensor([[1, 3, 2, 0], [1, 3, 2, 0]]))
    with pytest.raises(ValueError, match="max_length"):
        model.sample(feats, max_length=0)
    no_start = CaptioningRNN({"<NULL>": 0, "cat": 2, "dog": 3}, input_dim=6, hidden_dim=4)
    with pytest.raises(ValueError, match="<START>"):
        no_start.sample(feats)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        rl.word_embedding_forward(torch.tensor([[0, 5]]), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="Wh"):
        rl.lstm_forward(torch.zeros(2, 3, 4), torch.zeros(2, 5), torch.zeros(4, 20),
                        torch.zeros(5, 5), torch.zeros(20))
    with pytest.raises(ValueError, match="targets"):
        rl.temporal_softmax_loss(torch.zeros(1, 2, 3), torch.tensor([[0, 2, 1]]),
                                 torch.ones(1, 2, dtype=torch.bool))


def test_solver_trains_the_params_in_place_with_adam():
    """The given CaptioningSolverPytorch: Adam on model.params, one loss per iteration,
    requires_grad on only while training, unknown keywords refused."""
    solver_mod = course_module(A2, "cs231n.captioning_solver_pytorch")
    CaptioningRNN = model_class()
    rng = np.random.default_rng(0)
    words = ["<NULL>", "<START>", "<END>", "a", "b"]
    caps = rng.integers(3, 5, (20, 6)).astype(np.int32)
    caps[:, 0], caps[:, -1] = 1, 2
    data = {"train_captions": caps, "train_image_idxs": np.arange(20, dtype=np.int32),
            "train_features": rng.standard_normal((20, 8)).astype(np.float32),
            "train_urls": np.array([f"u{i}" for i in range(20)]),
            "idx_to_word": words, "word_to_idx": {w: i for i, w in enumerate(words)}}
    torch.manual_seed(0)
    np.random.seed(0)
    model = CaptioningRNN(data["word_to_idx"], input_dim=8, wordvec_dim=6, hidden_dim=10)
    before = {k: v.clone() for k, v in model.params.items()}
    with pytest.raises(ValueError, match="bogus"):
        solver_mod.CaptioningSolverPytorch(model, data, bogus=1)
    solver = solver_mod.CaptioningSolverPytorch(model, data, learning_rate=1e-2, num_epochs=30,
                                                batch_size=10, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 60 and solver.epoch == 30
    assert float(solver.loss_history[-1]) < 0.5 * float(solver.loss_history[0])
    assert all(not v.requires_grad for v in model.params.values())
    assert all(not torch.equal(before[k], v) for k, v in model.params.items())
