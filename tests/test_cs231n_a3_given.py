"""CS231n 2020 assignment 3's given numpy layers (assignment 2's code, one source in the repo).

- The course's names reach A3 the way its notebooks import them (`from cs231n.classifiers.rnn
  import *` brings layers + rnn_layers; layer_utils, fast_layers and im2col their own).
- A3's layers agree with torch.nn.functional in float64 (forward values and gradients).
- The release text of each given file (dl4cv_tools.release.given) compiles, has no marker line
  and, written into a copy of the A3 folder, imports and gives the same values with assignment
  2 out of reach; the leak check exempts exactly these files, for assignment 2's regions.
"""
import shutil
import sys
from pathlib import PurePosixPath

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv import given
from dl4cv.gradcheck import rel_error
from dl4cv_tools.release.given import exempt_regions, vendored_files
from dl4cv_tools.release.regions import END_RE, START_RE
from dl4cv_tools.testing import activate, course_module

A3 = "cs231n/assignment3"
A2 = "cs231n/assignment2"
TOL = 1e-10

LAYERS = ["affine_forward", "affine_backward", "relu_forward", "relu_backward",
          "batchnorm_forward", "batchnorm_backward", "spatial_batchnorm_forward",
          "spatial_batchnorm_backward", "svm_loss", "softmax_loss"]
LAYER_UTILS = ["affine_relu_forward", "affine_relu_backward", "conv_relu_forward",
               "conv_relu_backward", "conv_bn_relu_forward", "conv_bn_relu_backward",
               "conv_relu_pool_forward", "conv_relu_pool_backward",
               "affine_bn_relu_forward", "affine_bn_relu_backward",
               "affine_ln_relu_forward", "affine_ln_relu_backward"]
FAST_LAYERS = [f"{kind.format(d)}" for d in ("forward", "backward") for kind in
               ("conv_{}_im2col", "conv_{}_strides", "conv_{}_fast", "max_pool_{}_fast",
                "max_pool_{}_reshape", "max_pool_{}_im2col")]
IM2COL = ["get_im2col_indices", "im2col_indices", "col2im_indices"]
RNN_LAYERS = ["rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward",
              "word_embedding_forward", "temporal_affine_forward", "temporal_softmax_loss"]


def star(module_name):
    """The names `from <module_name> import *` binds (A3 must be the active folder)."""
    namespace = {}
    exec(f"from {module_name} import *", namespace)
    return namespace


def _course_names_present(folder):
    course_module(folder, "cs231n.classifiers.rnn")
    rnn = star("cs231n.classifiers.rnn")
    missing = [n for n in LAYERS + RNN_LAYERS + ["CaptioningRNN"] if n not in rnn]
    for module, names in (("cs231n.layer_utils", LAYER_UTILS), ("cs231n.fast_layers", FAST_LAYERS),
                          ("cs231n.im2col", IM2COL)):
        ns = star(module)
        missing += [f"{module}.{n}" for n in names if not callable(ns.get(n))]
    return missing


def test_course_names_reach_assignment3():
    assert _course_names_present(A3) == []
    # behaviour kept: the captioning model's affine layer is still rnn_layers' own
    rnn_layers = course_module(A3, "cs231n.rnn_layers")
    assert star("cs231n.classifiers.rnn")["affine_forward"] is rnn_layers.affine_forward


@pytest.mark.parametrize("norm", ["bn", "ln"])
def test_course_affine_norm_relu_sandwiches_agree_with_torch(norm):
    """affine_{bn,ln}_relu (the course's A3 layer_utils names) against F.linear, F.batch_norm /
    F.layer_norm and F.relu in float64, forward and backward."""
    lu = star_after(A3, "cs231n.layer_utils")
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((8, 5)), rng.standard_normal((5, 6)), rng.standard_normal(6)
    gamma, beta, dout = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal((8, 6))
    param = {"mode": "train"} if norm == "bn" else {}
    out, cache = lu[f"affine_{norm}_relu_forward"](x, w, b, gamma, beta, param)
    grads = lu[f"affine_{norm}_relu_backward"](dout, cache)
    tx, tw, tb, tg, tbe = (t(a) for a in (x, w, b, gamma, beta))
    a = F.linear(tx, tw.T, tb)
    a = (F.batch_norm(a, None, None, tg, tbe, training=True, eps=1e-5) if norm == "bn"
         else F.layer_norm(a, (6,), tg, tbe, eps=1e-5))
    ref = F.relu(a)
    ref.backward(torch.tensor(dout))
    assert rel_error(out, ref.detach().numpy()) < TOL
    for ours, theirs in zip(grads, (tx, tw, tb, tg, tbe)):
        # db is exactly zero in theory under batchnorm (the mean is subtracted): absolute tolerance
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def star_after(folder, module_name):
    course_module(folder, module_name)
    return star(module_name)


# ---------------------------------------------------------------- values against torch

def t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def _inputs():
    rng = np.random.default_rng(231)
    return {
        "x_aff": rng.standard_normal((4, 3, 2, 2)), "w_aff": rng.standard_normal((12, 5)),
        "b_aff": rng.standard_normal(5), "x_bn": rng.standard_normal((16, 6)) * 3 + 1,
        "gamma": rng.standard_normal(6), "beta": rng.standard_normal(6),
        "scores": rng.standard_normal((10, 7)), "labels": rng.integers(0, 7, 10),
        "x_conv": rng.standard_normal((2, 3, 8, 8)), "w_conv": rng.standard_normal((4, 3, 3, 3)),
        "b_conv": rng.standard_normal(4), "d_aff": rng.standard_normal((4, 5)),
        "d_bn": rng.standard_normal((16, 6)), "d_pool": rng.standard_normal((2, 4, 4, 4)),
    }


def _values(layers, layer_utils):
    """Forward outputs and gradients of the four checked layers, as a flat dict of arrays."""
    v, out = _inputs(), {}
    out["affine"], cache = layers.affine_forward(v["x_aff"], v["w_aff"], v["b_aff"])
    out["affine_dx"], out["affine_dw"], out["affine_db"] = layers.affine_backward(v["d_aff"], cache)
    out["bn"], cache = layers.batchnorm_forward(v["x_bn"], v["gamma"], v["beta"], {"mode": "train"})
    out["bn_dx"], out["bn_dgamma"], out["bn_dbeta"] = layers.batchnorm_backward(v["d_bn"], cache)
    out["loss"], out["loss_dx"] = layers.softmax_loss(v["scores"], v["labels"])
    cp, pp = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
    out["crp"], cache = layer_utils.conv_relu_pool_forward(v["x_conv"], v["w_conv"], v["b_conv"],
                                                           cp, pp)
    out["crp_dx"], out["crp_dw"], out["crp_db"] = layer_utils.conv_relu_pool_backward(v["d_pool"],
                                                                                      cache)
    return out


def _torch_values():
    v, out = _inputs(), {}
    x, w, b = t(v["x_aff"]), t(v["w_aff"]), t(v["b_aff"])
    y = F.linear(x.reshape(4, -1), w.T, b)
    y.backward(torch.tensor(v["d_aff"]))
    out.update(affine=y, affine_dx=x.grad, affine_dw=w.grad, affine_db=b.grad)
    x, g, be = t(v["x_bn"]), t(v["gamma"]), t(v["beta"])
    y = F.batch_norm(x, None, None, g, be, training=True, eps=1e-5)
    y.backward(torch.tensor(v["d_bn"]))
    out.update(bn=y, bn_dx=x.grad, bn_dgamma=g.grad, bn_dbeta=be.grad)
    s = t(v["scores"])
    loss = F.cross_entropy(s, torch.tensor(v["labels"]))
    loss.backward()
    out.update(loss=loss, loss_dx=s.grad)
    x, w, b = t(v["x_conv"]), t(v["w_conv"]), t(v["b_conv"])
    y = F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2, 2)
    y.backward(torch.tensor(v["d_pool"]))
    out.update(crp=y, crp_dx=x.grad, crp_dw=w.grad, crp_db=b.grad)
    return {k: val.detach().numpy() for k, val in out.items()}


def _a3_values():
    return _values(course_module(A3, "cs231n.layers"), course_module(A3, "cs231n.layer_utils"))


def test_assignment3_layers_agree_with_torch():
    ours, ref = _a3_values(), _torch_values()
    for key in ref:
        assert np.shape(ours[key]) == np.shape(ref[key]), key
        assert rel_error(ours[key], ref[key]) < TOL, key


# ---------------------------------------------------------------- the release's copies

@pytest.fixture(scope="module")
def vendored():
    return vendored_files(given.paths.REPO_ROOT, A3)


def test_vendored_files_are_exactly_the_given_targets(vendored):
    assert sorted(vendored) == sorted(t for t in given.GIVEN_FROM if t.startswith(A3 + "/"))
    # the other way round, assignment 2 (CS231n 2025 RNN_Captioning_pytorch) ships assignment
    # 3's captioning data helpers
    assert sorted(vendored_files(given.paths.REPO_ROOT, A2)) == [
        f"{A2}/cs231n/coco_utils.py", f"{A2}/cs231n/image_utils.py"]


def _code_lines(text):
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_vendored_text_compiles_without_markers_and_keeps_the_code(vendored, tmp_path):
    for target, data in vendored.items():
        text = data.decode()
        source = given.paths.REPO_ROOT / given.GIVEN_FROM[target]
        assert source.as_posix().endswith(given.GIVEN_FROM[target])
        lines = text.splitlines()
        assert lines[0].startswith("#") and given.GIVEN_FROM[target] in lines[0]
        assert not [ln for ln in lines if START_RE.match(ln) or END_RE.match(ln)], target
        # every statement of the source, solutions included, is there, in order
        assert _code_lines(text) == _code_lines(source.read_text()), target
        if target.endswith(".py"):
            compile(text, target, "exec")
    cython_main = pytest.importorskip("Cython.Compiler.Main")
    pyx_targets = [t for t in vendored if t.endswith(".pyx")]
    assert {PurePosixPath(t).name for t in pyx_targets} >= {"im2col_cython.pyx", "pool_cython.pyx"}
    for target in pyx_targets:  # each vendored extension still compiles
        pyx = tmp_path / PurePosixPath(target).name
        pyx.write_bytes(vendored[target])
        result = cython_main.compile(str(pyx), cython_main.CompilationOptions(language_level=3))
        assert result.num_errors == 0 and pyx.with_suffix(".c").is_file(), target


@pytest.fixture
def a2_out_of_reach(monkeypatch, tmp_path):
    """REPO_ROOT points at an empty folder and the cached alias packages are gone, so
    dl4cv.given cannot load assignment 2."""
    monkeypatch.setattr(given.paths, "REPO_ROOT", tmp_path / "no-repository")
    for name in [n for n in sys.modules if n.startswith("_given_")]:
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in [n for n in sys.modules if n.startswith("_given_")]:
        del sys.modules[name]  # loaded (if at all) from the fake root: not to be reused
    activate(A3)  # the next test's A3 modules come from the repository again


def test_without_assignment2_the_loader_names_the_fix(a2_out_of_reach):
    with pytest.raises(ImportError) as err:
        given.load_given(f"{A3}/cs231n/layers.py")
    message = str(err.value)
    assert "\n" not in message
    assert "cs231n/assignment2/cs231n" in message and "git checkout" in message


@pytest.fixture(scope="module")
def expected():
    """A3's values from the repository's thin files (assignment 2 loaded), taken before
    a2_out_of_reach (a module fixture is set up before the function ones)."""
    return _a3_values()


def test_vendored_copy_imports_and_agrees_without_assignment2(vendored, expected, tmp_path,
                                                              a2_out_of_reach):
    folder = tmp_path / "assignment3"
    shutil.copytree(activate(A3) / "cs231n", folder / "cs231n",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    for target, data in vendored.items():
        (folder / PurePosixPath(target).relative_to(A3)).write_bytes(data)
    assert _course_names_present(folder) == []
    layers = course_module(folder, "cs231n.layers")
    layer_utils = course_module(folder, "cs231n.layer_utils")
    assert layers.__file__.startswith(str(folder)) and layer_utils.__file__.startswith(str(folder))
    assert not [n for n in sys.modules if n.startswith("_given_")]  # A2 was never loaded
    ours = _values(layers, layer_utils)
    for key in expected:
        np.testing.assert_array_equal(ours[key], expected[key], err_msg=key)


def test_exempt_regions_names_assignment2_for_the_given_files_only():
    for target, source in given.GIVEN_FROM.items():
        # each given file may hold the regions of the assignment its source lives in
        home = A3 if source.startswith(A3 + "/") else A2
        assert home != "/".join(target.split("/")[:2])
        assert exempt_regions(target) == home
        assert exempt_regions(f"cs231n-assignment3.zip:{target}") == home
    folder = activate(A3)
    others = [p.relative_to(folder.parents[1]).as_posix() for p in folder.rglob("*") if p.is_file()]
    others = [p for p in others if p not in given.GIVEN_FROM]
    assert f"{A3}/cs231n/rnn_layers.py" in others
    assert [p for p in others if exempt_regions(p) is not None] == []
    assert exempt_regions("cs231n/assignment2/cs231n/layers.py") is None


# ---------------------------------------------------------------- assignment 2's copies

def test_assignment2_vendored_captioning_helpers_import_without_assignment3(tmp_path,
                                                                           monkeypatch):
    """A2's coco_utils / image_utils (A3's code, CS231n 2025's RNN_Captioning_pytorch layout):
    the release text names its source, keeps every statement, and, written into a copy of the
    A2 package, imports and decodes captions with assignment 3 out of reach."""
    vendored = vendored_files(given.paths.REPO_ROOT, A2)
    for target, data in vendored.items():
        text = data.decode()
        source = given.paths.REPO_ROOT / given.GIVEN_FROM[target]
        assert given.GIVEN_FROM[target].startswith(A3 + "/")
        assert text.splitlines()[0].startswith("#") and given.GIVEN_FROM[target] in text
        assert _code_lines(text) == _code_lines(source.read_text()), target
        compile(text, target, "exec")
    folder = tmp_path / "assignment2"
    shutil.copytree(activate(A2) / "cs231n", folder / "cs231n",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    for target, data in vendored.items():
        (folder / PurePosixPath(target).relative_to(A2)).write_bytes(data)
    monkeypatch.setattr(given.paths, "REPO_ROOT", tmp_path / "no-repository")
    for name in [n for n in sys.modules if n.startswith("_given_")]:
        monkeypatch.delitem(sys.modules, name)
    try:
        coco = course_module(folder, "cs231n.coco_utils")
        images = course_module(folder, "cs231n.image_utils")
        solver = course_module(folder, "cs231n.captioning_solver_pytorch")
        assert coco.__file__.startswith(str(folder)) and images.__file__.startswith(str(folder))
        assert solver.sample_coco_minibatch is coco.sample_coco_minibatch
        assert not [n for n in sys.modules if n.startswith("_given_")]  # A3 never loaded
        words = ["<NULL>", "<START>", "<END>", "a", "cat"]
        assert coco.decode_captions(np.array([1, 3, 4, 2, 0]), words) == "<START> a cat <END>"
        img = np.full((2, 2, 3), 128, np.uint8)
        np.testing.assert_allclose(images.deprocess_image(images.preprocess_image(img)), img,
                                   atol=1)
    finally:
        for name in [n for n in sys.modules if n.startswith("_given_")]:
            del sys.modules[name]
        activate(A3)
