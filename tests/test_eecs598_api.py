"""The shared `eecs598` package has the public API of the course's FA2020 package (A4-A6):
names, places, signatures and defaults (a fact table below), and each helper does what the
course's did: checked against closed forms and hand-made expectations."""
import inspect
import os
import zipfile

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

import eecs598  # noqa: E402

# module -> {name: "signature"} as the course's eecs598 (A4-A6) has them
COURSE_API = {
    "eecs598": {"Solver": None, "reset_seed": "(number)", "tensor_to_image": "(tensor)",
                "visualize_dataset": "(X_data, y_data, samples_per_class, class_list)"},
    "eecs598.grad": {
        "grad_check_sparse": "(f, x, analytic_grad, num_checks=10, h=1e-07)",
        "compute_numeric_gradient": "(f, x, dLdf=None, h=1e-07)",
        "rel_error": "(x, y, eps=1e-10)"},
    "eecs598.utils": {
        "reset_seed": "(number)", "tensor_to_image": "(tensor)",
        "visualize_dataset": "(X_data, y_data, samples_per_class, class_list)",
        "decode_captions": "(captions, idx_to_word)",
        "attention_visualizer": "(img, attn_weights, token)"},
    "eecs598.vis": {
        "tensor_to_image": "(tensor)",
        "visualize_dataset": "(X_data, y_data, samples_per_class, class_list)",
        "detection_visualizer": "(img, idx_to_class, bbox=None, pred=None)"},
    "eecs598.data": {
        "_extract_tensors": "(dset, num=None, x_dtype=torch.float32)",
        "cifar10": "(num_train=None, num_test=None, x_dtype=torch.float32)",
        "preprocess_cifar10": "(cuda=True, show_examples=True, bias_trick=False, flatten=True, "
                              "validation_ratio=0.2, dtype=torch.float32)"},
    "eecs598.submit": {f"make_a{i}_submission": "(assignment_path, uniquename=None, umid=None)"
                       for i in range(1, 7)},
    "eecs598.solver": {"Solver": None},
}


def _signature(obj):
    """'(a, b=1)': parameter names and defaults only (annotations do not matter)."""
    parts = []
    for p in inspect.signature(obj).parameters.values():
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        default = "" if p.default is p.empty else "=" + repr(p.default)
        parts.append(prefix + p.name + default)
    return "(" + ", ".join(parts) + ")"


@pytest.mark.parametrize("module", sorted(COURSE_API))
def test_course_names_and_signatures(module):
    import importlib
    mod = importlib.import_module(module)
    for name, sig in COURSE_API[module].items():
        assert hasattr(mod, name), f"{module}.{name} is missing"
        if sig is not None:
            assert _signature(getattr(mod, name)) == sig, f"{module}.{name}"


def test_solver_signatures_and_defaults():
    S = eecs598.Solver
    assert str(inspect.signature(S.__init__)) == "(self, model, data, **kwargs)"
    assert str(inspect.signature(S.train)) == "(self, time_limit=None, return_best_params=True)"
    assert str(inspect.signature(S.check_accuracy)) == "(self, X, y, num_samples=None, batch_size=100)"
    assert str(inspect.signature(S.sgd)) == "(w, dw, config=None)"
    model = _LinearModel()
    s = eecs598.Solver(model, _toy_data(), verbose=False)
    assert (s.lr_decay, s.batch_size, s.num_epochs, s.num_train_samples, s.num_val_samples,
            s.device, s.checkpoint_name, s.print_every, s.print_acc_every) == \
        (1.0, 100, 10, 1000, None, "cpu", None, 10, 1)
    with pytest.raises(ValueError, match="Unrecognized"):
        eecs598.Solver(model, _toy_data(), bogus=1)


def test_rel_error_is_the_course_formula():
    from eecs598.grad import rel_error
    x = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    y = torch.tensor([1.5, -2.0, 0.0], dtype=torch.float64)
    # max |x - y| = 0.5; max (|x| + |y|) = 4.0
    assert rel_error(x, y) == pytest.approx(0.5 / 4.0, rel=1e-15)
    assert rel_error(torch.zeros(3), torch.zeros(3)) == 0.0
    assert eecs598.utils.rel_error(x, y) == rel_error(x, y)


def test_compute_numeric_gradient_closed_forms():
    from eecs598.grad import compute_numeric_gradient
    torch.manual_seed(0)
    x = torch.randn(3, 4, dtype=torch.float64)
    up = torch.randn(3, 4, dtype=torch.float64)
    g = compute_numeric_gradient(torch.sin, x, up)          # d/dx <up, sin x> = up * cos x
    assert torch.allclose(g, up * torch.cos(x), atol=1e-7)
    g = compute_numeric_gradient(lambda t: (t ** 2).sum(), x)   # scalar f, default upstream
    assert torch.allclose(g, 2 * x, atol=1e-6)
    w = torch.randn(4, 2, dtype=torch.float64)
    up = torch.randn(3, 2, dtype=torch.float64)
    g = compute_numeric_gradient(lambda t: t @ w, x, up)    # output shaped unlike x
    assert torch.allclose(g, up @ w.T, atol=1e-6)


def test_grad_check_sparse_prints_small_errors(capsys):
    from eecs598.grad import grad_check_sparse
    x = torch.randn(5, 3, dtype=torch.float64)
    errors = grad_check_sparse(lambda t: (t ** 3).sum(), x, 3 * x ** 2, num_checks=4)
    out = capsys.readouterr().out
    assert out.count("relative error") == 4 and max(errors) < 1e-6


def test_reset_seed_repeats_random_draws():
    import random
    eecs598.reset_seed(3)
    a = (random.random(), torch.rand(2).tolist())
    eecs598.reset_seed(3)
    assert a == (random.random(), torch.rand(2).tolist())


def test_tensor_to_image():
    img = torch.tensor([[[0.0, 1.0]], [[0.5, 0.25]], [[1.0, 0.0]]])   # (3, 1, 2)
    out = eecs598.tensor_to_image(img)
    assert out.dtype == np.uint8 and out.shape == (1, 2, 3)
    assert out[0, 0].tolist() == [0, 128, 255] and out[0, 1].tolist() == [255, 64, 0]


def test_decode_captions():
    from eecs598.utils import decode_captions
    words = ["<NULL>", "<START>", "<END>", "a", "cat"]
    caps = torch.tensor([[1, 3, 4, 2, 4, 0], [1, 4, 0, 0, 0, 0]])
    assert decode_captions(caps, words) == ["<START> a cat <END>", "<START> cat"]
    assert decode_captions(caps[0], words) == "<START> a cat <END>"


def test_attention_visualizer_layout():
    from eecs598.utils import attention_visualizer
    img = torch.zeros(3, 16, 16)
    img[0] = 255                                              # a red image
    weights = torch.zeros(4, 4)
    weights[0, 0] = 1.0
    out = attention_visualizer(img, weights, "cat")
    assert out.shape == (16 + 25, 16, 3)
    body = out[25:]
    assert body[8, 8].tolist() == pytest.approx([0.0, 0.0, 0.5])   # BGR: red in the last channel
    assert body[0, 0].tolist() == pytest.approx([0.5, 0.5, 1.0])   # + half the attention weight


def test_visualize_and_detection_visualizer_run():
    X = torch.rand(20, 3, 8, 8)
    y = torch.arange(20) % 2
    grid = eecs598.visualize_dataset(X, y, 3, ["a", "b"])
    assert grid.dtype == np.uint8 and grid.shape == (2 * 10 + 2, 3 * 10 + 2, 3)
    img = np.zeros((30, 40, 3), dtype=np.uint8)
    eecs598.vis.detection_visualizer(img, {0: "cat"}, bbox=torch.tensor([[2., 3., 20., 25., 0.]]),
                                     pred=torch.tensor([[1., 1., 10., 10., 0., 0.9]]))


def test_make_submission_zips(tmp_path):
    from eecs598 import submit
    for name in submit._A4_FILES:
        (tmp_path / name).write_text(name)
    path = submit.make_a4_submission(str(tmp_path), uniquename="jdoe", umid="12345678")
    assert os.path.basename(path) == "jdoe_12345678_A4.zip"
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted(submit._A4_FILES)
    assert len(submit._A4_FILES) == 15 and len(submit._A5_FILES) == 6 and len(submit._A6_FILES) == 9
    assert submit._A1_FILES == ["pytorch101.py", "pytorch101.ipynb", "knn.py", "knn.ipynb"]
    with pytest.raises(ValueError, match="Could not find file"):
        submit.make_a5_submission(str(tmp_path), uniquename="jdoe", umid="1")


class _LinearModel:
    """A softmax classifier with the Solver's model API (params dict, loss(X, y=None))."""

    def __init__(self):
        torch.manual_seed(0)
        self.params = {"W": 0.01 * torch.randn(2, 2, dtype=torch.float64)}

    def loss(self, X, y=None):
        W = self.params["W"].clone().requires_grad_()
        scores = X @ W
        if y is None:
            return scores.detach()
        loss = torch.nn.functional.cross_entropy(scores, y)
        loss.backward()
        return loss.detach(), {"W": W.grad}


def _toy_data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(400, 2, dtype=torch.float64, generator=g)
    y = (X[:, 0] > 0).long()
    return {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:], "y_val": y[300:]}


def test_solver_trains_a_separable_problem():
    torch.manual_seed(0)
    model = _LinearModel()
    solver = eecs598.Solver(model, _toy_data(), optim_config={"learning_rate": 0.5},
                            num_epochs=5, batch_size=50, verbose=False)
    solver.train()
    assert solver.best_val_acc > 0.9
    assert len(solver.loss_history) == 5 * 6 and len(solver.val_acc_history) == 6
    assert solver.check_accuracy(_toy_data()["X_val"], _toy_data()["y_val"]) == solver.best_val_acc


def test_cifar10_tensors():
    from dl4cv.data.cifar10 import default_root
    if not (default_root() / "data_batch_1").exists():
        if os.environ.get("CI"):
            pytest.fail("CIFAR-10 is missing in CI (./get_datasets.sh cifar10)")
        pytest.skip("CIFAR-10 not on disk")
    x_train, y_train, x_test, y_test = eecs598.data.cifar10(num_train=50, num_test=20)
    assert x_train.shape == (50, 3, 32, 32) and x_train.dtype == torch.float32
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0 and y_test.shape == (20,)
    d = eecs598.data.preprocess_cifar10(cuda=False, show_examples=False, bias_trick=True)
    assert d["X_train"].shape[1] == 3073 and torch.all(d["X_train"][:, -1] == 1)
    assert len(d["X_val"]) == len(d["y_val"]) and len(d["X_train"]) > 3 * len(d["X_val"])
