"""Training and evaluation loops for SimCLR: one epoch of contrastive training (`train`), one
epoch of supervised training or testing (`train_val`), and the weighted k-nearest-neighbour
accuracy of the learned representation (`test`).

The course's module also imports pandas and thop (for `profile`/`clever_format`) without
using them here; they are not dl4cv requirements, so they are imported only when installed.
"""
import torch
import torch.optim as optim  # noqa: F401  (the course's import)
from torch.utils.data import DataLoader  # noqa: F401  (the course's import)
from tqdm import tqdm

from .contrastive_loss import *  # noqa: F401,F403

try:  # optional: the course's notebook uses thop to print FLOPs; nothing here needs them
    import pandas as pd  # noqa: F401
    from thop import profile, clever_format  # noqa: F401
except ImportError:
    pass


def train(model, data_loader, train_optimizer, epoch, epochs, batch_size=32, temperature=0.5, device='cuda'):
    """One epoch of SimCLR training of `model` (see model.py).

    Inputs:
    - model: the Model of model.py; model(x) -> (h, z), both L2-normalized.
    - data_loader: yields (x_i, x_j, target): two augmented views (B, 3, 32, 32) and labels.
    - train_optimizer: the torch.optim optimizer of model's parameters.
    - epoch, epochs: the current epoch number and the total (for the progress bar).
    - batch_size: the loader's batch size (weights each batch in the average).
    - temperature: tau of simclr_loss_vectorized.
    - device: where the model lives.

    Returns:
    - the average loss of the epoch.
    """
    model.train()
    total_loss, total_num, train_bar = 0.0, 0, tqdm(data_loader)
    for data_pair in train_bar:
        x_i, x_j, target = data_pair
        x_i, x_j = x_i.to(device), x_j.to(device)

        out_left, out_right, loss = None, None, None
        # TODO: run both views through the model and keep its second output (the projection
        # z) as out_left and out_right; then loss = simclr_loss_vectorized of the two at
        # this temperature, on `device`.
        # *****START OF YOUR CODE*****
        out_left = model(x_i)[1]
        out_right = model(x_j)[1]
        loss = simclr_loss_vectorized(out_left, out_right, temperature, device=device)
        # *****END OF YOUR CODE*****

        train_optimizer.zero_grad()
        loss.backward()
        train_optimizer.step()

        total_num += batch_size
        total_loss += loss.item() * batch_size
        train_bar.set_description('Train Epoch: [{}/{}] Loss: {:.4f}'.format(epoch, epochs, total_loss / total_num))

    return total_loss / total_num


def train_val(model, data_loader, train_optimizer, epoch, epochs, device='cuda'):
    """One epoch of supervised training (train_optimizer given) or of testing (None) of a
    classifier; data_loader yields (x, y). Returns (loss, top-1 %, top-5 %)."""
    is_train = train_optimizer is not None
    model.train() if is_train else model.eval()
    criterion = torch.nn.CrossEntropyLoss()

    total_loss, correct_1, correct_5, total_num = 0.0, 0.0, 0.0, 0
    data_bar = tqdm(data_loader)
    with (torch.enable_grad() if is_train else torch.no_grad()):
        for data, target in data_bar:
            data, target = data.to(device), target.to(device)
            out = model(data)
            loss = criterion(out, target)

            if is_train:
                train_optimizer.zero_grad()
                loss.backward()
                train_optimizer.step()

            total_num += data.size(0)
            total_loss += loss.item() * data.size(0)
            ranked = torch.argsort(out, dim=-1, descending=True)
            hits = ranked[:, :5] == target.unsqueeze(dim=-1)
            correct_1 += hits[:, :1].any(dim=-1).float().sum().item()
            correct_5 += hits.any(dim=-1).float().sum().item()
            data_bar.set_description('{} Epoch: [{}/{}] Loss: {:.4f} ACC@1: {:.2f}% ACC@5: {:.2f}%'.format(
                'Train' if is_train else 'Test', epoch, epochs, total_loss / total_num,
                correct_1 / total_num * 100, correct_5 / total_num * 100))

    return total_loss / total_num, correct_1 / total_num * 100, correct_5 / total_num * 100


def test(model, memory_data_loader, test_data_loader, epoch, epochs, c, temperature=0.5, k=200, device='cuda'):
    """Weighted k-nearest-neighbour accuracy of the representation h.

    Every test image votes with its k most similar memory (training) images, each vote
    weighted by exp(cosine similarity / temperature); the class with the largest total wins.
    The loaders yield (x, x', target) (CIFAR10Pair with the test transform); c is the number
    of classes. Returns (top-1 %, top-5 %).
    """
    model.eval()
    total_top1, total_top5, total_num, feature_bank = 0.0, 0.0, 0, []
    with torch.no_grad():
        for data, _, target in tqdm(memory_data_loader, desc='Feature extracting'):
            feature, out = model(data.to(device))
            feature_bank.append(feature)
        feature_bank = torch.cat(feature_bank, dim=0).t().contiguous()          # (D, M)
        feature_labels = torch.tensor(memory_data_loader.dataset.targets, device=feature_bank.device)  # (M,)
        test_bar = tqdm(test_data_loader)
        for data, _, target in test_bar:
            data, target = data.to(device), target.to(device)
            feature, out = model(data)
            B = data.size(0)
            total_num += B
            sim_matrix = torch.mm(feature, feature_bank)                          # (B, M) cosine
            sim_weight, sim_indices = sim_matrix.topk(k=k, dim=-1)                # (B, k)
            sim_labels = torch.gather(feature_labels.expand(B, -1), dim=-1, index=sim_indices)
            sim_weight = (sim_weight / temperature).exp()
            one_hot = torch.zeros(B * k, c, device=device).scatter(dim=-1, index=sim_labels.view(-1, 1), value=1.0)
            pred_scores = torch.sum(one_hot.view(B, -1, c) * sim_weight.unsqueeze(dim=-1), dim=1)  # (B, c)
            pred_labels = pred_scores.argsort(dim=-1, descending=True)
            total_top1 += (pred_labels[:, :1] == target.unsqueeze(dim=-1)).any(dim=-1).float().sum().item()
            total_top5 += (pred_labels[:, :5] == target.unsqueeze(dim=-1)).any(dim=-1).float().sum().item()
            test_bar.set_description('Test Epoch: [{}/{}] Acc@1:{:.2f}% Acc@5:{:.2f}%'.format(
                epoch, epochs, total_top1 / total_num * 100, total_top5 / total_num * 100))

    return total_top1 / total_num * 100, total_top5 / total_num * 100
