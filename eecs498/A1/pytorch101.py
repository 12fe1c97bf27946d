"""
EECS 498-007 / 598-005 (Fall 2020) A1, part 1: PyTorch 101.

Short exercises on tensors: building and mutating them, slice / integer / boolean indexing,
reshaping, reductions, matrix products, broadcasting, and running a product on the GPU.
`pytorch101.ipynb` imports these functions and checks them on the course's fixed inputs.

Conventions kept from the course: functions that say "the input should not be modified" must
return new tensors (or views) and leave `x` as it was; `slice_indexing_practice` returns
*views* of `x` (they share its storage); `normalize_columns` uses the unbiased standard
deviation (divide by M - 1).
"""
import torch


def hello():
    """A sample function to check that the environment imports this file."""
    print('Hello from pytorch101.py!')


def create_sample_tensor():
    """
    A (3, 2) tensor of zeros except x[0, 1] = 10 and x[1, 0] = 100.

    Returns:
    - x: tensor of shape (3, 2) as described above.
    """
    x = None
    # TODO: Build the tensor described above (a constructor, then two element assignments).
    # *****START OF YOUR CODE*****
    x = torch.zeros(3, 2)
    x[0, 1] = 10
    x[1, 0] = 100
    # *****END OF YOUR CODE*****
    return x


def mutate_tensor(x, indices, values):
    """
    Set x[i_k, j_k] = v_k for every pair of indices = [(i0, j0), (i1, j1), ...] and
    values = [v0, v1, ...], in order, so that a pair listed twice keeps its last value.

    Inputs:
    - x: tensor of shape (H, W), mutated in place
    - indices: list of N (row, column) tuples
    - values: list of N values

    Returns:
    - x, the same tensor object
    """
    # TODO: Write each value into its position of x (in list order).
    # *****START OF YOUR CODE*****
    for (i, j), v in zip(indices, values):
        x[i, j] = v
    # *****END OF YOUR CODE*****
    return x


def count_tensor_elements(x):
    """
    The number of scalar elements of x: shape (10,) has 10, (3, 4) has 12, (2, 3, 4) has 24,
    and a zero-dimensional tensor has 1. Do not use torch.numel(x) or x.numel(); do not
    modify x.

    Inputs:
    - x: tensor of any shape

    Returns:
    - num_elements: Python int
    """
    num_elements = None
    # TODO: Compute the count from the shape of x (torch.numel and x.numel are not allowed).
    # *****START OF YOUR CODE*****
    num_elements = 1
    for size in x.shape:
        num_elements *= int(size)
    # *****END OF YOUR CODE*****
    return num_elements


def create_tensor_of_pi(M, N):
    """
    A tensor of shape (M, N) with every element equal to 3.14.

    Inputs:
    - M, N: positive integers

    Returns:
    - x: tensor of shape (M, N)
    """
    x = None
    # TODO: One line with a tensor constructor (see torch.full).
    # *****START OF YOUR CODE*****
    x = torch.full((M, N), 3.14)
    # *****END OF YOUR CODE*****
    return x


def multiples_of_ten(start, stop):
    """
    The multiples of ten from start to stop, both ends included, in increasing order, as a
    tensor of dtype torch.float64; an empty tensor of shape (0,) when there are none.

    Inputs:
    - start, stop: integers with start <= stop

    Returns:
    - x: float64 tensor of shape (K,)
    """
    assert start <= stop
    x = None
    # TODO: Build x (torch.arange helps).
    # *****START OF YOUR CODE*****
    first = -(-start // 10) * 10  # the smallest multiple of ten >= start
    x = torch.arange(first, max(first, stop + 1), 10, dtype=torch.float64)  # empty if first > stop
    # *****END OF YOUR CODE*****
    return x


def slice_indexing_practice(x):
    """
    Four sub-tensors of x, each made with ONE slice-indexing expression, so that each is a
    view sharing x's storage. x is not modified.

    Input:
    - x: tensor of shape (M, N) with M >= 3 and N >= 5

    Returns a tuple of:
    - last_row: (N,), the last row of x (one-dimensional)
    - third_col: (M, 1), the third column of x (two-dimensional)
    - first_two_rows_three_cols: (2, 3), the first two rows and first three columns
    - even_rows_odd_cols: the elements of x in even-numbered rows (0, 2, ...) and
      odd-numbered columns (1, 3, ...), two-dimensional
    """
    assert x.shape[0] >= 3
    assert x.shape[1] >= 5
    last_row = None
    third_col = None
    first_two_rows_three_cols = None
    even_rows_odd_cols = None
    # TODO: One slice-indexing expression per output (an integer index drops a dimension, a
    # length-one slice keeps it).
    # *****START OF YOUR CODE*****
    last_row = x[-1, :]
    third_col = x[:, 2:3]
    first_two_rows_three_cols = x[:2, :3]
    even_rows_odd_cols = x[::2, 1::2]
    # *****END OF YOUR CODE*****
    out = (
        last_row,
        third_col,
        first_two_rows_three_cols,
        even_rows_odd_cols,
    )
    return out


def slice_assignment_practice(x):
    """
    Mutate the first 4 rows and 6 columns of x in place so that they read

        [0 1 2 2 2 2]
        [0 1 2 2 2 2]
        [3 4 3 4 5 5]
        [3 4 3 4 5 5]

    Rules (the course's): mutate x in place and return it; leave every other element
    unchanged; only use slice assignments of an integer (x[a:b, c:d] = k); at most 6 of them.

    Inputs:
    - x: tensor of shape (M, N) with M >= 4 and N >= 6

    Returns: x
    """
    # TODO: At most six slice assignments, each of a single integer.
    # *****START OF YOUR CODE*****
    x[:2, 0:1] = 0
    x[:2, 1:2] = 1
    x[:2, 2:6] = 2
    x[2:4, 0:3:2] = 3
    x[2:4, 1:4:2] = 4
    x[2:4, 4:6] = 5
    # *****END OF YOUR CODE*****
    return x


def shuffle_cols(x):
    """
    A tensor y of shape (M, 4) whose columns are x's columns 0, 0, 2, 1 in that order.
    Use a single integer-array indexing operation on x; x is not modified.

    Input:
    - x: tensor of shape (M, N) with N >= 3

    Returns:
    - y: tensor of shape (M, 4)
    """
    y = None
    # TODO: One integer-array index of x.
    # *****START OF YOUR CODE*****
    y = x[:, [0, 0, 2, 1]]
    # *****END OF YOUR CODE*****
    return y


def reverse_rows(x):
    """
    x with its rows in reverse order (y[0] = x[-1], y[1] = x[-2], ...), built with a single
    integer-array indexing operation on x; x is not modified.

    Input:
    - x: tensor of shape (M, N)

    Returns:
    - y: tensor of shape (M, N)
    """
    y = None
    # TODO: One integer-array index of x.
    # *****START OF YOUR CODE*****
    y = x[torch.arange(x.shape[0] - 1, -1, -1)]
    # *****END OF YOUR CODE*****
    return y


def take_one_elem_per_col(x):
    """
    One element from each of the first three columns, with a single integer-array indexing
    operation on x (x is not modified):
    - y[0] is the second element of column 0 (x[1, 0])
    - y[1] is the first element of column 1 (x[0, 1])
    - y[2] is the fourth element of column 2 (x[3, 2])

    Input:
    - x: tensor of shape (M, N) with M >= 4 and N >= 3

    Returns:
    - y: tensor of shape (3,)
    """
    y = None
    # TODO: One integer-array index of x with a row index array and a column index array.
    # *****START OF YOUR CODE*****
    y = x[[1, 0, 3], [0, 1, 2]]
    # *****END OF YOUR CODE*****
    return y


def count_negative_entries(x):
    """
    The number of negative elements of x, with no explicit loop and at most one indexing
    operation on x (boolean masks help); x is not modified.

    Input:
    - x: tensor of any shape

    Returns:
    - num_neg: Python int
    """
    num_neg = 0
    # TODO: Count the negative entries of x.
    # *****START OF YOUR CODE*****
    num_neg = x[x < 0].shape[0]
    # *****END OF YOUR CODE*****
    return num_neg


def make_one_hot(x):
    """
    One-hot rows for a list of Python integers.

    Input:
    - x: list of N non-negative integers

    Returns:
    - y: float32 tensor of shape (N, C) with C = 1 + max(x); y[n, x[n]] = 1, all other
      elements 0.
    """
    y = None
    # TODO: Allocate y and set one element per row.
    # *****START OF YOUR CODE*****
    y = torch.zeros(len(x), 1 + max(x), dtype=torch.float32)
    y[torch.arange(len(x)), torch.tensor(x)] = 1
    # *****END OF YOUR CODE*****
    return y


def reshape_practice(x):
    """
    Rearrange a (24,) tensor into (3, 8):

        y = [[x[0], x[1], x[2],  x[3],  x[12], x[13], x[14], x[15]],
             [x[4], x[5], x[6],  x[7],  x[16], x[17], x[18], x[19]],
             [x[8], x[9], x[10], x[11], x[20], x[21], x[22], x[23]]]

    using only reshaping operations (view, t, transpose, permute, contiguous, reshape, ...);
    x is not modified.

    Input:
    - x: tensor of shape (24,)

    Returns:
    - y: tensor of shape (3, 8)
    """
    y = None
    # TODO: A chain of reshaping operations (an intermediate rank-3 tensor helps).
    # *****START OF YOUR CODE*****
    y = x.view(2, 3, 4).transpose(0, 1).reshape(3, 8)
    # *****END OF YOUR CODE*****
    return y


def zero_row_min(x):
    """
    A copy of x in which the minimum of every row is set to 0, e.g.
    [[10, 20, 30], [2, 5, 1]] -> [[0, 20, 30], [2, 5, 0]]. Use reductions and indexing, no
    explicit loop; x is not modified.

    Inputs:
    - x: tensor of shape (M, N)

    Returns:
    - y: tensor of shape (M, N)
    """
    y = None
    # TODO: Copy x, find each row's minimum position, zero it (clone, argmin).
    # *****START OF YOUR CODE*****
    y = x.clone()
    y[torch.arange(x.shape[0]), x.argmin(dim=1)] = 0
    # *****END OF YOUR CODE*****
    return y


def batched_matrix_multiply(x, y, use_loop=True):
    """
    z[i] = x[i] @ y[i] for every i of the batch.

    With use_loop=True, loop explicitly over the batch dimension B; with use_loop=False,
    compute it with a single PyTorch operator and no explicit loop (torch.stack, bmm).

    Inputs:
    - x: tensor of shape (B, N, M)
    - y: tensor of shape (B, M, P)
    - use_loop: whether to use an explicit Python loop

    Returns:
    - z: tensor of shape (B, N, P), of the dtype of x
    """
    z = None
    # TODO: Both paths, the loop over B and the single operator.
    # *****START OF YOUR CODE*****
    if use_loop:
        z = torch.stack([x[i].mm(y[i]) for i in range(x.shape[0])])
    else:
        z = torch.bmm(x, y)
    # *****END OF YOUR CODE*****
    return z


def normalize_columns(x):
    """
    y[i, j] = (x[i, j] - mu_j) / sigma_j, with mu_j the mean of column j and sigma_j its
    standard deviation with M - 1 in the denominator:

        mu_j = sum_i x[i, j] / M,    sigma_j = sqrt(sum_i (x[i, j] - mu_j)**2 / (M - 1))

    Return a new tensor (x is not modified). No explicit Python loops or comprehensions; only
    +, -, *, /, **, sqrt, the sum reduction and reshapes for broadcasting; torch.mean,
    torch.std, x.mean and x.std are not allowed.

    Input:
    - x: tensor of shape (M, N)

    Returns:
    - y: tensor of shape (M, N), of the dtype of x
    """
    y = None
    # TODO: Column means and unbiased standard deviations by sums and broadcasting.
    # *****START OF YOUR CODE*****
    M = x.shape[0]
    centered = x - x.sum(dim=0) / M
    sigma = (centered ** 2).sum(dim=0).div(M - 1).sqrt()
    y = centered / sigma
    # *****END OF YOUR CODE*****
    return y


def mm_on_cpu(x, w):
    """
    (Given; do not edit.) The matrix product x @ w on the CPU.

    Input:
    - x: tensor of shape (A, B), on the CPU
    - w: tensor of shape (B, C), on the CPU

    Returns:
    - y: tensor of shape (A, C), on the CPU
    """
    y = x.mm(w)
    return y


_noted_cpu_fallback = []


def _gpu_device():
    """(Given.) The device mm_on_gpu multiplies on: CUDA when PyTorch sees a GPU. Without one
    it falls back to the CPU, says so once, and mm_on_gpu then matches mm_on_cpu in speed."""
    if torch.cuda.is_available():
        return torch.device('cuda')
    if not _noted_cpu_fallback:
        print('mm_on_gpu: no GPU available, so it runs on the CPU (no speed-up to expect).')
        _noted_cpu_fallback.append(True)
    return torch.device('cpu')


def mm_on_gpu(x, w):
    """
    The matrix product x @ w computed on the GPU: (i) move both inputs to the GPU, (ii)
    multiply there, (iii) return the result on the CPU, so that it can replace mm_on_cpu.

    The course moves tensors with `.cuda()`; here `device` (from the given `_gpu_device()`)
    is the GPU when there is one, and the CPU otherwise, so write `.to(device)`, which on a GPU
    is the same as `.cuda()`.

    Input:
    - x: tensor of shape (A, B), on the CPU
    - w: tensor of shape (B, C), on the CPU

    Returns:
    - y: tensor of shape (A, C), on the CPU
    """
    device = _gpu_device()
    y = None
    # TODO: Move x and w to `device`, multiply them there, bring the product back to the CPU.
    # *****START OF YOUR CODE*****
    y = x.to(device).mm(w.to(device)).cpu()
    # *****END OF YOUR CODE*****
    return y
