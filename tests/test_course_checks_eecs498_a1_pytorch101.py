"""The course's own checks of EECS 498-007 FA2020 A1 pytorch101.ipynb, replayed on our module.

Fixed inputs, expected values and tolerances as the official notebook has them; each test
calls only the function it checks (a check that the course runs on another function's output,
such as mutate_tensor on create_sample_tensor's tensor, starts here from that tensor's stated
value), so a broken function fails only its own checks. The notebook's random inputs are
seeded here (the course seeds only count_negative_entries, with 598).
"""
import pytest
import torch

from dl4cv_tools.testing import course_module


@pytest.fixture
def pt():
    return course_module("eecs498/A1", "pytorch101")


def _same_storage(orig, actual):
    return orig.untyped_storage().data_ptr() == actual.untyped_storage().data_ptr()


def _course_slice_check(orig, actual, expected):
    """The notebook's `check(orig, actual, expected)`: same elements and same storage."""
    if not torch.is_tensor(actual):
        return False
    expected = torch.tensor(expected)
    return bool((actual == expected).all().item()) and _same_storage(orig, actual)


def test_course_hello(pt, capsys):
    pt.hello()
    assert capsys.readouterr().out == "Hello from pytorch101.py!\n"


def test_course_create_sample_tensor(pt):
    x = pt.create_sample_tensor()
    assert x.shape == (3, 2)
    assert x.tolist() == [[0, 10], [100, 0], [0, 0]]


def test_course_mutate_tensor(pt):
    x = torch.tensor([[0., 10.], [100., 0.], [0., 0.]])   # create_sample_tensor's value
    pt.mutate_tensor(x, [(0, 0), (1, 0), (1, 1)], [4, 5, 6])
    assert x.shape == (3, 2)
    assert x[0, 0].item() == 4
    assert x[1, 0].item() == 5
    assert x[1, 1].item() == 6


def test_course_count_tensor_elements(pt):
    x = torch.tensor([[4., 10.], [5., 6.], [0., 0.]])
    assert pt.count_tensor_elements(x) == 6


def test_course_create_tensor_of_pi(pt):
    x = pt.create_tensor_of_pi(4, 5)
    assert torch.is_tensor(x)
    assert x.shape == (4, 5)
    assert (x == 3.14).all().item() == 1


def test_course_multiples_of_ten(pt):
    x = pt.multiples_of_ten(5, 25)
    assert x.dtype == torch.float64
    assert x.shape == (2,)
    assert x.tolist() == [10, 20]
    x = pt.multiples_of_ten(5, 7)
    assert x.dtype == torch.float64
    assert x.shape == (0,)


def test_course_slice_indexing_practice(pt):
    # the course's tensor (its comment says 9 at [1, 3]; the tensor itself has 8)
    x = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 8, 10], [11, 12, 13, 14, 15]])
    out = pt.slice_indexing_practice(x)
    assert _course_slice_check(x, out[0], [11, 12, 13, 14, 15])
    assert _course_slice_check(x, out[1], [[3], [8], [13]])
    assert _course_slice_check(x, out[2], [[1, 2, 3], [6, 7, 8]])
    assert _course_slice_check(x, out[3], [[2, 4], [12, 14]])


def test_course_slice_assignment_practice(pt):
    x = torch.zeros(5, 7, dtype=torch.int64)
    pt.slice_assignment_practice(x)
    assert x.tolist() == [
        [0, 1, 2, 2, 2, 2, 0],
        [0, 1, 2, 2, 2, 2, 0],
        [3, 4, 3, 4, 5, 5, 0],
        [3, 4, 3, 4, 5, 5, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ]


X43 = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]


def test_course_shuffle_cols(pt):
    y = pt.shuffle_cols(torch.tensor(X43))
    assert torch.is_tensor(y) and y.tolist() == [[1, 1, 3, 2], [4, 4, 6, 5], [7, 7, 9, 8],
                                                 [10, 10, 12, 11]]


def test_course_reverse_rows(pt):
    y = pt.reverse_rows(torch.tensor(X43))
    assert torch.is_tensor(y) and y.tolist() == [[10, 11, 12], [7, 8, 9], [4, 5, 6], [1, 2, 3]]


def test_course_take_one_elem_per_col(pt):
    y = pt.take_one_elem_per_col(torch.tensor(X43))
    assert torch.is_tensor(y) and y.tolist() == [4, 2, 12]


def test_course_count_negative_entries(pt):
    torch.manual_seed(598)
    x0 = torch.tensor([[-1, -1, 0], [0, 1, 2], [3, 4, 5]])
    x1 = torch.tensor([0, 1, 2, 3])
    x2 = torch.randn(100, 100)
    assert pt.count_negative_entries(x0) == 2
    assert pt.count_negative_entries(x1) == 0
    assert pt.count_negative_entries(x2) == 4984


def _course_check_one_hot(x, y):
    """The notebook's check_one_hot (which, as written there, returns after the first row);
    here every row is checked."""
    C = y.shape[1]
    for i, n in enumerate(x):
        if n >= C:
            return False
        for j in range(C):
            if y[i, j].item() != (1.0 if j == n else 0.0):
                return False
    return True


@pytest.mark.parametrize("x", [[1, 4, 3, 2], [1, 3, 5, 7, 6, 2]])
def test_course_make_one_hot(pt, x):
    y = pt.make_one_hot(x)
    assert _course_check_one_hot(x, y)


def test_course_reshape_practice(pt):
    y = pt.reshape_practice(torch.arange(24))
    assert y.tolist() == [[0, 1, 2, 3, 12, 13, 14, 15],
                          [4, 5, 6, 7, 16, 17, 18, 19],
                          [8, 9, 10, 11, 20, 21, 22, 23]]


def test_course_zero_row_min(pt):
    y0 = pt.zero_row_min(torch.tensor([[10, 20, 30], [2, 5, 1]]))
    assert torch.is_tensor(y0) and y0.tolist() == [[0, 20, 30], [2, 5, 0]]
    y1 = pt.zero_row_min(torch.tensor([[2, 5, 10, -1], [1, 3, 2, 4], [5, 6, 2, 10]]))
    assert torch.is_tensor(y1) and y1.tolist() == [[2, 5, 10, 0], [0, 3, 2, 4], [5, 6, 0, 10]]


@pytest.mark.parametrize("use_loop", [True, False])
def test_course_batched_matrix_multiply(pt, use_loop):
    torch.manual_seed(0)
    B, N, M, P = 2, 3, 5, 4
    x = torch.randn(B, N, M)
    y = torch.randn(B, M, P)
    z_expected = torch.stack([x[0] @ y[0], x[1] @ y[1]])
    z = pt.batched_matrix_multiply(x, y, use_loop=use_loop)
    assert (z - z_expected).abs().max().item() < 1e-6


def test_course_normalize_columns(pt):
    x = torch.tensor([[0., 30., 600.], [1., 10., 200.], [-1., 20., 400.]])
    y = pt.normalize_columns(x)
    assert y.tolist() == [[0., 1., 1.], [1., -1., -1.], [-1., 0., 0.]]
    assert x.tolist() == [[0., 30., 600.], [1., 10., 200.], [-1., 20., 400.]]


def test_course_mm_on_gpu(pt):
    torch.manual_seed(0)
    x = torch.rand(512, 4096)
    w = torch.rand(4096, 4096)
    y0 = pt.mm_on_cpu(x, w)
    y1 = pt.mm_on_gpu(x, w)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    assert y1.device == torch.device("cpu")
    assert (y0 - y1).abs().max().item() < 5e-2
