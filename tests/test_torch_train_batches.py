"""dl4cv.torch_train.flipped_batches: one epoch covers every image once, each either as it is
or mirrored left-right, about half of them mirrored, and a seeded run repeats exactly."""
import torch

from dl4cv.torch_train import flipped_batches


def test_flipped_batches_cover_every_image_once_plain_or_mirrored():
    X = torch.randn(103, 3, 4, 5, dtype=torch.float64)
    y = torch.arange(103)
    batches = list(flipped_batches(X, y, 10, torch.Generator().manual_seed(0)))
    assert [len(b[1]) for b in batches] == [10] * 10 + [3]
    xs, ys = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    assert sorted(ys.tolist()) == list(range(103))
    plain = (xs == X[ys]).flatten(1).all(1)
    mirrored = (xs == X[ys].flip(3)).flatten(1).all(1)
    assert (plain ^ mirrored).all()
    assert 30 < mirrored.sum() < 73          # Binomial(103, 1/2): 5+ standard deviations
    again = list(flipped_batches(X, y, 10, torch.Generator().manual_seed(0)))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(batches, again))
