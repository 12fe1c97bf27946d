"""SimCLR's contrastive loss (NT-Xent) in PyTorch: a loop version and a vectorized one.

A batch of N images gives 2N augmented views; row k of `out_left` and row k of `out_right`
(k = 0..N-1) are the two views of image k, a positive pair. Stacked as `out = [out_left;
out_right]` (2N, D), the views k and k+N form the pair. With sim the cosine similarity and
tau the temperature,

    l(i, j) = -log( exp(sim(z_i, z_j) / tau) / sum_{m != i} exp(sim(z_i, z_m) / tau) )
    L = 1/(2N) * sum_k [ l(k, k+N) + l(k+N, k) ]
"""
import numpy as np
import torch


def sim(z_i, z_j):
    """Cosine similarity (normalized dot product) of two vectors.

    Inputs:
    - z_i: (D,) or (1, D) tensor.
    - z_j: tensor of the same shape.

    Returns:
    - norm_dot_product: a scalar tensor, z_i . z_j / (||z_i|| ||z_j||).
    """
    norm_dot_product = None
    # TODO: divide the dot product of z_i and z_j by the product of their Euclidean norms
    # (torch.linalg.norm computes a norm).
    # *****START OF YOUR CODE*****
    norm_dot_product = torch.sum(z_i * z_j) / (torch.linalg.norm(z_i) * torch.linalg.norm(z_j))
    # *****END OF YOUR CODE*****
    return norm_dot_product


def simclr_loss_naive(out_left, out_right, tau):
    """The contrastive loss L of a batch, one positive pair at a time.

    Inputs:
    - out_left: (N, D) tensor, projection-head outputs z of the left views.
    - out_right: (N, D) tensor, those of the right views; (out_left[k], out_right[k]) is a
      positive pair for every k.
    - tau: scalar temperature; a smaller tau sharpens the softmax over similarities.

    Returns:
    - total_loss: scalar tensor, L as defined at the top of this file.
    """
    N = out_left.shape[0]
    out = torch.cat([out_left, out_right], dim=0)   # (2N, D): views k and k+N are a pair

    total_loss = 0
    for k in range(N):
        z_k, z_k_N = out[k], out[k + N]
        # TODO: add l(k, k+N) and l(k+N, k) to total_loss. The denominator of l(i, j) sums
        # exp(sim(z_i, z_m) / tau) over every view m of the batch except i itself.
        # *****START OF YOUR CODE*****
        for i, z_i, z_pair in ((k, z_k, z_k_N), (k + N, z_k_N, z_k)):
            denom = 0
            for m in range(2 * N):
                if m != i:
                    denom = denom + torch.exp(sim(z_i, out[m]) / tau)
            total_loss = total_loss - torch.log(torch.exp(sim(z_i, z_pair) / tau) / denom)
        # *****END OF YOUR CODE*****

    # Average over the 2N views of the batch.
    total_loss = total_loss / (2 * N)
    return total_loss


def sim_positive_pairs(out_left, out_right):
    """Cosine similarity of each positive pair.

    Inputs:
    - out_left: (N, D) tensor; out_right: (N, D) tensor (rows k form a positive pair).

    Returns:
    - pos_pairs: (N, 1) tensor; row k is sim(out_left[k], out_right[k]).
    """
    pos_pairs = None
    # TODO: compute every row's cosine similarity at once, without a loop
    # (torch.linalg.norm takes a dim argument).
    # *****START OF YOUR CODE*****
    dots = torch.sum(out_left * out_right, dim=1, keepdim=True)
    norms = torch.linalg.norm(out_left, dim=1, keepdim=True) * torch.linalg.norm(out_right, dim=1, keepdim=True)
    pos_pairs = dots / norms
    # *****END OF YOUR CODE*****
    return pos_pairs


def compute_sim_matrix(out):
    """Cosine similarity of every pair of views in a batch.

    Inputs:
    - out: (2N, D) tensor, one row per augmented view.

    Returns:
    - sim_matrix: (2N, 2N) tensor; sim_matrix[i, j] = sim(out[i], out[j]).
    """
    sim_matrix = None
    # TODO: compute the whole matrix with one matrix product, without a loop.
    # *****START OF YOUR CODE*****
    unit = out / torch.linalg.norm(out, dim=1, keepdim=True)
    sim_matrix = unit @ unit.t()
    # *****END OF YOUR CODE*****
    return sim_matrix


def simclr_loss_vectorized(out_left, out_right, tau, device='cuda'):
    """The contrastive loss L of a batch without loops; inputs and output as in
    simclr_loss_naive. `device` is where the mask below is built: the device of the inputs.
    """
    N = out_left.shape[0]
    out = torch.cat([out_left, out_right], dim=0)   # (2N, D)
    sim_matrix = compute_sim_matrix(out)            # (2N, 2N)

    # TODO Step 1: exponential = exp(sim_matrix / tau), (2N, 2N). The given lines then drop
    # each row's diagonal entry (a view is not its own negative); sum what is left of each
    # row into denom, (2N, 1).
    exponential = None
    # *****START OF YOUR CODE*****
    exponential = torch.exp(sim_matrix / tau)
    # *****END OF YOUR CODE*****

    # Keep every entry but the diagonal: the mask is True off the diagonal.
    mask = (torch.ones_like(exponential, device=device) - torch.eye(2 * N, device=device)).to(device).bool()
    exponential = exponential.masked_select(mask).view(2 * N, -1)   # (2N, 2N-1)

    denom = None
    # *****START OF YOUR CODE*****
    denom = exponential.sum(dim=1, keepdim=True)
    # *****END OF YOUR CODE*****

    # TODO Step 2: the similarity of each view with its positive partner, (2N, 1): views
    # k and k+N (read it from sim_matrix, or use sim_positive_pairs).
    # *****START OF YOUR CODE*****
    pos = sim_positive_pairs(out_left, out_right)   # (N, 1), the same for both orders
    pos = torch.cat([pos, pos], dim=0)              # (2N, 1)
    # *****END OF YOUR CODE*****

    # TODO Step 3: numerator = exp(positive similarity / tau), (2N, 1).
    numerator = None
    # *****START OF YOUR CODE*****
    numerator = torch.exp(pos / tau)
    # *****END OF YOUR CODE*****

    # TODO Step 4: the loss, the mean over the 2N views of -log(numerator / denom).
    loss = None
    # *****START OF YOUR CODE*****
    loss = torch.mean(-torch.log(numerator / denom))
    # *****END OF YOUR CODE*****
    return loss


def rel_error(x, y):
    """The course's relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
