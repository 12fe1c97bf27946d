"""EECS 498-007 FA2020 A1 `pytorch101.py` against independent references (issue 23).

Every student function is compared, on seeded inputs of several shapes and dtypes, with a
numpy computation, a closed form written from its docstring, or a torch operator used as a
black box (torch.bmm, torch.nn.functional.one_hot). The course's stated constraints are
checked too: the views of `slice_indexing_practice` share the input's storage; the functions
that must not modify their input leave it unchanged; `count_tensor_elements` works without
numel and `normalize_columns` without mean / std; `slice_assignment_practice` makes at most six
slice assignments of an integer; the integer-indexing exercises index their input at most
once (`_Tracked` counts the indexing operations on the input tensor).
"""
import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dl4cv_tools.testing import course_module

A1 = "eecs498/A1"   # (the markers spell it out: the verification table reads them statically)


@pytest.fixture
def pt():
    return course_module(A1, "pytorch101")


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _randint(shape, seed, low=-9, high=10):
    return torch.randint(low, high, shape, generator=_gen(seed))


def _plain(t):
    """A _Tracked result as a plain tensor (numpy / tolist comparisons)."""
    return t.as_subclass(torch.Tensor) if isinstance(t, torch.Tensor) else t


class _Tracked(torch.Tensor):
    """A tensor that logs each `t[...]` read and `t[...] = v` write made on it."""
    log = []

    def __getitem__(self, idx):
        _Tracked.log.append(("get", id(self), idx, None))
        return super().__getitem__(idx)

    def __setitem__(self, idx, value):
        _Tracked.log.append(("set", id(self), idx, value))
        return super().__setitem__(idx, value)

    def __iter__(self):
        _Tracked.log.append(("iter", id(self), None, None))
        return super().__iter__()


def _tracked(x):
    _Tracked.log = []
    return x.clone().as_subclass(_Tracked)


def _ops_on(x, kind):
    """The logged operations of one kind made on x itself."""
    return [entry for entry in _Tracked.log if entry[0] == kind and entry[1] == id(x)]


def _ops_anywhere(kind):
    """The logged operations of one kind made on x or on any tensor computed from it."""
    return [entry for entry in _Tracked.log if entry[0] == kind]


# ---- tensor basics ---------------------------------------------------------------------------
@pytest.mark.reference("eecs498/A1", "pytorch101.py::create_sample_tensor")
def test_create_sample_tensor_values(pt):
    x = pt.create_sample_tensor()
    assert torch.is_tensor(x) and tuple(x.shape) == (3, 2)
    expected = np.zeros((3, 2))
    expected[0, 1], expected[1, 0] = 10, 100
    np.testing.assert_array_equal(x.double().numpy(), expected)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::mutate_tensor")
@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_mutate_tensor_sets_in_order(pt, dtype):
    x = _randint((4, 5), 0).to(dtype)
    expected = x.numpy().copy()
    indices = [(0, 0), (3, 4), (1, 2), (3, 4), (2, 1)]   # (3, 4) twice: the last value wins
    values = [7, -3, 5, 11, 0]
    for (i, j), v in zip(indices, values):
        expected[i, j] = v
    out = pt.mutate_tensor(x, indices, values)
    assert out is x, "mutate_tensor must mutate x in place and return it"
    assert x.dtype == dtype
    np.testing.assert_array_equal(x.numpy(), expected)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::mutate_tensor")
def test_mutate_tensor_empty_lists_leave_x(pt):
    x = _randint((2, 3), 1)
    before = x.clone()
    assert pt.mutate_tensor(x, [], []) is x
    assert torch.equal(x, before)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::count_tensor_elements")
@pytest.mark.parametrize("shape", [(10,), (3, 4), (2, 3, 4), (1, 1, 5, 1), (0, 3), (7, 0, 2), ()])
def test_count_tensor_elements_without_numel(pt, monkeypatch, shape):
    x = torch.randn(shape, generator=_gen(2))
    before = x.clone()

    def forbidden(*args, **kwargs):
        raise AssertionError("the course forbids torch.numel / x.numel here")

    monkeypatch.setattr(torch, "numel", forbidden)
    monkeypatch.setattr(torch.Tensor, "numel", forbidden)
    n = pt.count_tensor_elements(x)
    monkeypatch.undo()
    assert isinstance(n, int) and not isinstance(n, bool), f"returned {type(n).__name__}, want int"
    assert n == int(np.prod(shape, dtype=np.int64))
    assert torch.equal(x, before)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::create_tensor_of_pi")
@pytest.mark.parametrize("M,N", [(4, 5), (1, 1), (3, 7)])
def test_create_tensor_of_pi(pt, M, N):
    x = pt.create_tensor_of_pi(M, N)
    assert torch.is_tensor(x) and tuple(x.shape) == (M, N)
    assert x.dtype.is_floating_point
    np.testing.assert_allclose(x.double().numpy(), np.full((M, N), 3.14), rtol=1e-6)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::multiples_of_ten")
@pytest.mark.parametrize("start,stop", [(5, 25), (5, 7), (10, 10), (0, 0), (-25, 3), (-9, -1),
                                        (11, 19), (1, 100), (-30, -10), (20, 31)])
def test_multiples_of_ten(pt, start, stop):
    expected = [float(v) for v in range(start, stop + 1) if v % 10 == 0]
    x = pt.multiples_of_ten(start, stop)
    assert torch.is_tensor(x) and x.dtype == torch.float64
    assert tuple(x.shape) == (len(expected),)
    assert x.tolist() == expected


# ---- indexing --------------------------------------------------------------------------------
def _same_storage(a, b):
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


@pytest.mark.reference("eecs498/A1", "pytorch101.py::slice_indexing_practice")
@pytest.mark.parametrize("shape", [(3, 5), (4, 6), (7, 9)])
def test_slice_indexing_practice_views(pt, shape):
    x = _randint(shape, 3)
    before = x.clone()
    a = x.numpy()
    out = pt.slice_indexing_practice(x)
    assert isinstance(out, tuple) and len(out) == 4
    expected = (a[-1], a[:, 2:3], a[:2, :3], a[0::2, 1::2])
    names = ("last_row", "third_col", "first_two_rows_three_cols", "even_rows_odd_cols")
    for name, got, want in zip(names, out, expected):
        assert torch.is_tensor(got), name
        assert tuple(got.shape) == want.shape, f"{name}: shape {tuple(got.shape)}, want {want.shape}"
        np.testing.assert_array_equal(got.numpy(), want, err_msg=name)
        assert _same_storage(got, x), f"{name} must be a view of x (slice indexing), not a copy"
    assert torch.equal(x, before)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::slice_assignment_practice")
@pytest.mark.parametrize("shape,dtype", [((4, 6), torch.int64), ((5, 7), torch.int64),
                                         ((6, 9), torch.float32)])
def test_slice_assignment_practice_rules(pt, shape, dtype):
    x0 = _randint(shape, 4, low=10, high=99).to(dtype)
    expected = x0.numpy().copy()
    expected[:4, :6] = [[0, 1, 2, 2, 2, 2], [0, 1, 2, 2, 2, 2],
                        [3, 4, 3, 4, 5, 5], [3, 4, 3, 4, 5, 5]]
    x = _tracked(x0)
    out = pt.slice_assignment_practice(x)
    assert out is x, "slice_assignment_practice must mutate x in place and return it"
    np.testing.assert_array_equal(_plain(x).numpy(), expected)
    writes = _ops_on(x, "set")
    assert 1 <= len(writes) <= 6, f"{len(writes)} slice assignments; the course allows at most 6"
    for _, _, idx, value in writes:
        assert isinstance(value, int) and not isinstance(value, bool), \
            f"assigned {type(value).__name__}; the course asks for an integer per slice assignment"
        parts = idx if isinstance(idx, tuple) else (idx,)
        assert all(isinstance(p, (slice, int)) for p in parts), f"not a slice assignment: {idx!r}"


@pytest.mark.reference("eecs498/A1", "pytorch101.py::shuffle_cols")
@pytest.mark.parametrize("shape", [(4, 3), (2, 5), (6, 4)])
def test_shuffle_cols(pt, shape):
    x = _tracked(_randint(shape, 5))
    before = _plain(x).clone()
    y = pt.shuffle_cols(x)
    assert len(_ops_on(x, "get")) <= 1, "the course asks for a single indexing operation on x"
    np.testing.assert_array_equal(_plain(y).numpy(), before.numpy()[:, [0, 0, 2, 1]])
    assert torch.equal(_plain(x), before)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::reverse_rows")
@pytest.mark.parametrize("shape", [(4, 3), (1, 5), (7, 2)])
def test_reverse_rows(pt, shape):
    x = _tracked(_randint(shape, 6))
    before = _plain(x).clone()
    y = pt.reverse_rows(x)
    assert len(_ops_on(x, "get")) <= 1, "the course asks for a single indexing operation on x"
    np.testing.assert_array_equal(_plain(y).numpy(), before.numpy()[::-1])
    assert torch.equal(_plain(x), before)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::take_one_elem_per_col")
@pytest.mark.parametrize("shape", [(4, 3), (5, 6), (9, 3)])
def test_take_one_elem_per_col(pt, shape):
    x = _tracked(_randint(shape, 7))
    before = _plain(x).clone()
    a = before.numpy()
    y = pt.take_one_elem_per_col(x)
    assert len(_ops_on(x, "get")) <= 1, "the course asks for a single indexing operation on x"
    assert tuple(y.shape) == (3,)
    np.testing.assert_array_equal(_plain(y).numpy(), [a[1, 0], a[0, 1], a[3, 2]])
    assert torch.equal(_plain(x), before)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::count_negative_entries")
@pytest.mark.parametrize("shape,dtype", [((100, 100), torch.float32), ((7,), torch.int64),
                                         ((3, 4, 5), torch.float64), ((0,), torch.float32),
                                         ((2, 3), torch.int32)])
def test_count_negative_entries(pt, shape, dtype):
    x0 = (torch.randn(shape, generator=_gen(8)) * 3).round().to(dtype)   # zeros included
    x = _tracked(x0)
    n = pt.count_negative_entries(x)
    assert len(_ops_on(x, "get")) <= 1, "the course allows a single indexing operation on x"
    assert not _ops_anywhere("iter"), "the course asks for no explicit loops"
    assert int(n) == n and not isinstance(n, bool)
    assert n == int((x0.numpy() < 0).sum())
    assert torch.equal(_plain(x), x0)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::make_one_hot")
@pytest.mark.parametrize("labels", [[1, 4, 3, 2], [1, 3, 5, 7, 6, 2], [0], [0, 0, 2], [9, 3, 9]])
def test_make_one_hot_vs_functional(pt, labels):
    y = pt.make_one_hot(list(labels))
    assert torch.is_tensor(y) and y.dtype == torch.float32
    expected = F.one_hot(torch.tensor(labels)).float()   # C = 1 + max(labels)
    assert tuple(y.shape) == tuple(expected.shape)
    assert torch.equal(y, expected)


# ---- reshaping, reductions, products ----------------------------------------------------------
def _reshape_reference(a):
    """The docstring's table: row r is a[4r:4r+4] followed by a[12+4r:12+4r+4]."""
    return np.stack([np.concatenate([a[4 * r:4 * r + 4], a[12 + 4 * r:16 + 4 * r]])
                     for r in range(3)])


@pytest.mark.reference("eecs498/A1", "pytorch101.py::reshape_practice")
@pytest.mark.parametrize("seed", [0, 1])
def test_reshape_practice(pt, seed):
    x0 = torch.randn(24, generator=_gen(seed))
    x = _tracked(x0)
    y = pt.reshape_practice(x)
    assert tuple(y.shape) == (3, 8)
    np.testing.assert_array_equal(_plain(y).numpy(), _reshape_reference(x0.numpy()))
    assert not _ops_on(x, "get"), "reshape_practice should use reshaping operations, not indexing"
    assert torch.equal(_plain(x), x0)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::zero_row_min")
@pytest.mark.parametrize("shape,dtype", [((2, 3), torch.int64), ((5, 8), torch.float32),
                                         ((1, 4), torch.float64), ((6, 1), torch.float32)])
def test_zero_row_min(pt, shape, dtype):
    # a random permutation per row: no ties, so "the minimum" is one element
    x = torch.stack([torch.randperm(shape[1], generator=_gen(9 + r)) for r in range(shape[0])])
    x = (x * 3 - 5).to(dtype)
    before = x.clone()
    a = x.numpy()
    expected = a.copy()
    expected[np.arange(shape[0]), a.argmin(axis=1)] = 0
    y = pt.zero_row_min(x)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.numpy(), expected)
    assert torch.equal(x, before), "zero_row_min must return a copy and leave x unchanged"


@pytest.mark.reference("eecs498/A1", "pytorch101.py::zero_row_min")
def test_zero_row_min_no_loops(pt):
    """No explicit loop: a loop over the 6 rows would write 6 times or iterate the tensor."""
    x0 = torch.stack([torch.randperm(5, generator=_gen(20 + r)) for r in range(6)]).float()
    x = _tracked(x0)
    y = pt.zero_row_min(x)
    assert not _ops_anywhere("iter"), "the course asks for no explicit loops"
    assert len(_ops_anywhere("set")) <= 1, "one indexed write sets every row's minimum"
    assert int((_plain(y) == 0).sum()) == 6
    assert torch.equal(_plain(x), x0)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::batched_matrix_multiply")
@pytest.mark.parametrize("use_loop", [True, False])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_batched_matrix_multiply_vs_bmm(pt, use_loop, dtype):
    g = _gen(10)
    for B, N, M, P in [(2, 3, 5, 4), (1, 1, 1, 1), (6, 4, 7, 2)]:
        x = torch.randn(B, N, M, generator=g, dtype=dtype)
        y = torch.randn(B, M, P, generator=g, dtype=dtype)
        x0, y0 = x.clone(), y.clone()
        z = pt.batched_matrix_multiply(x, y, use_loop=use_loop)
        assert z.dtype == dtype and tuple(z.shape) == (B, N, P)
        expected = torch.bmm(x.double(), y.double())
        tol = 1e-12 if dtype == torch.float64 else 1e-5
        torch.testing.assert_close(z.double(), expected, rtol=tol, atol=tol)
        assert torch.equal(x, x0) and torch.equal(y, y0)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::batched_matrix_multiply")
def test_batched_matrix_multiply_default_is_loop(pt):
    sig = inspect.signature(pt.batched_matrix_multiply)
    assert list(sig.parameters) == ["x", "y", "use_loop"]
    assert sig.parameters["use_loop"].default is True


def _forbid_mean_std(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the course forbids torch.mean / torch.std and x.mean / x.std here")
    for owner in (torch, torch.Tensor):
        monkeypatch.setattr(owner, "mean", forbidden)
        monkeypatch.setattr(owner, "std", forbidden)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::normalize_columns")
@pytest.mark.parametrize("shape,dtype", [((3, 3), torch.float32), ((10, 4), torch.float64),
                                         ((50, 7), torch.float32), ((2, 5), torch.float64)])
def test_normalize_columns_vs_numpy(pt, monkeypatch, shape, dtype):
    g = _gen(11)
    # columns with their own scales and offsets
    scale = torch.rand(shape[1], generator=g, dtype=torch.float64) * 10
    offset = torch.randn(shape[1], generator=g, dtype=torch.float64) * 5
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * scale + offset).to(dtype)
    before = x.clone()
    a = x.double().numpy()
    expected = (a - a.mean(axis=0)) / a.std(axis=0, ddof=1)   # unbiased, as the course defines
    _forbid_mean_std(monkeypatch)
    y = pt.normalize_columns(x)
    monkeypatch.undo()
    assert y.dtype == dtype and tuple(y.shape) == shape
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    np.testing.assert_allclose(y.double().numpy(), expected, rtol=tol, atol=tol)
    assert torch.equal(x, before), "normalize_columns must return a new tensor"


@pytest.mark.reference("eecs498/A1", "pytorch101.py::normalize_columns")
def test_normalize_columns_no_loops(pt):
    """No loop over the 8 columns (no iteration, no per-column indexing)."""
    x0 = torch.randn(6, 8, generator=_gen(30), dtype=torch.float64)
    x = _tracked(x0)
    y = pt.normalize_columns(x)
    assert not _ops_anywhere("iter"), "the course asks for no explicit loops or comprehensions"
    assert len(_ops_anywhere("get")) <= 3, "indexing per column is a loop the course rules out"
    a = x0.numpy()
    np.testing.assert_allclose(_plain(y).numpy(), (a - a.mean(0)) / a.std(0, ddof=1), rtol=1e-10)


@pytest.mark.reference("eecs498/A1", "pytorch101.py::mm_on_gpu")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mm_on_gpu_matches_and_returns_cpu(pt, dtype):
    g = _gen(12)
    x = torch.randn(33, 17, generator=g, dtype=dtype)
    w = torch.randn(17, 9, generator=g, dtype=dtype)
    y = pt.mm_on_gpu(x, w)
    assert torch.is_tensor(y) and y.device == torch.device("cpu")
    assert tuple(y.shape) == (33, 9) and y.dtype == dtype
    # float32 on a GPU may use TF32 matmuls: a loose tolerance there, as the course's 5e-2
    tol = 1e-10 if dtype == torch.float64 else 1e-2
    np.testing.assert_allclose(y.double().numpy(), x.double().numpy() @ w.double().numpy(),
                               rtol=tol, atol=tol)
    assert x.device.type == "cpu" and w.device.type == "cpu"


@pytest.mark.reference("eecs498/A1", "pytorch101.py::mm_on_gpu")
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_mm_on_gpu_multiplies_on_the_gpu(pt, monkeypatch):
    """With a GPU, the product is computed there: torch.Tensor.mm sees CUDA operands."""
    seen = []
    real_mm = torch.Tensor.mm

    def spy(a, b, *args, **kwargs):
        seen.append((a.device.type, b.device.type))
        return real_mm(a, b, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "mm", spy)
    monkeypatch.setattr(torch, "mm", spy)
    monkeypatch.setattr(torch, "matmul", spy)
    monkeypatch.setattr(torch.Tensor, "matmul", spy)
    monkeypatch.setattr(torch.Tensor, "__matmul__", spy)
    y = pt.mm_on_gpu(torch.ones(4, 3), torch.ones(3, 2))
    monkeypatch.undo()
    assert seen and all(dev == ("cuda", "cuda") for dev in seen), seen
    assert y.device.type == "cpu" and torch.equal(y, torch.full((4, 2), 3.0))


def test_mm_on_cpu_given(pt):
    x, w = torch.randn(5, 4, generator=_gen(13)), torch.randn(4, 3, generator=_gen(14))
    y = pt.mm_on_cpu(x, w)
    assert y.device.type == "cpu"
    torch.testing.assert_close(y, x @ w)


def test_hello_prints(pt, capsys):
    pt.hello()
    assert capsys.readouterr().out.strip() == "Hello from pytorch101.py!"
