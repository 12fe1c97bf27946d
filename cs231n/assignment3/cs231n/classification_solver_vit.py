"""Trains an image classifier (the Vision Transformer) with Adam on torch datasets (given code).

    solver = ClassificationSolverViT(train_data, test_data, model, num_epochs=2,
                                     learning_rate=1e-4, weight_decay=0.0, batch_size=64)
    solver.train(device)
    solver.results['best_test_acc']

`train_data` / `test_data` yield (image tensor (C, H, W), int label); `model(x)` returns class
scores (N, num_classes).
"""
import torch
from tqdm.auto import tqdm


def train_val(model, data_loader, train_optimizer, epoch, epochs, device='cpu'):
    """One pass over data_loader: a training epoch when train_optimizer is given, otherwise
    an evaluation. Returns (mean loss, top-1 accuracy, top-5 accuracy); the top-5 figure is
    not computed and stays 0 (as in the course)."""
    is_train = train_optimizer is not None
    model.train() if is_train else model.eval()
    loss_criterion = torch.nn.CrossEntropyLoss()

    total_loss, total_correct_1, total_correct_5, total_num = 0.0, 0.0, 0.0, 0
    data_bar = tqdm(data_loader)
    with (torch.enable_grad() if is_train else torch.no_grad()):
        for data, target in data_bar:
            data, target = data.to(device), target.to(device)
            out = model(data)
            loss = loss_criterion(out, target)

            if is_train:
                train_optimizer.zero_grad()
                loss.backward()
                train_optimizer.step()

            total_num += data.size(0)
            total_loss += loss.item() * data.size(0)
            total_correct_1 += (out.argmax(dim=-1) == target).float().sum().item()

            data_bar.set_description('{} Epoch: [{}/{}] Loss: {:.4f} ACC@1: {:.3f}%'.format(
                'Train' if is_train else 'Test', epoch, epochs, total_loss / total_num,
                total_correct_1 / total_num))

    return total_loss / total_num, total_correct_1 / total_num, total_correct_5 / total_num


class ClassificationSolverViT:
    def __init__(self, train_data, test_data, model, **kwargs):
        """
        Required: train_data, test_data (torch datasets), model (nn.Module).
        Optional keywords: learning_rate (1e-4), weight_decay (0.0), batch_size (64),
        num_epochs (2).
        """
        self.model = model
        self.train_data = train_data
        self.test_data = test_data

        self.learning_rate = kwargs.pop("learning_rate", 1.e-4)
        self.weight_decay = kwargs.pop("weight_decay", 0.0)
        self.batch_size = kwargs.pop("batch_size", 64)
        self.num_epochs = kwargs.pop("num_epochs", 2)

        self.optimizer = torch.optim.Adam(self.model.parameters(), self.learning_rate,
                                          weight_decay=self.weight_decay)
        self.loss_criterion = torch.nn.CrossEntropyLoss()

        self._reset()

    def _reset(self):
        self.epoch = 0
        self.results = {'train_loss': [], 'train_acc@1': [], 'test_loss': [], 'test_acc@1': []}

    def train(self, device='cpu'):
        """Train for num_epochs (shuffled minibatches), evaluating on the test set after every
        epoch; results['best_test_acc'] is the best test accuracy (a fraction)."""
        train_loader = torch.utils.data.DataLoader(self.train_data, batch_size=self.batch_size,
                                                   shuffle=True)
        test_loader = torch.utils.data.DataLoader(self.test_data, batch_size=self.batch_size,
                                                  shuffle=False)
        self.model.to(device)
        self.loss_criterion.to(device)

        best_acc = 0.0
        for epoch in range(self.num_epochs):
            train_loss, train_acc_1, _ = train_val(self.model, train_loader, self.optimizer,
                                                   epoch, self.num_epochs, device)
            self.results['train_loss'].append(train_loss)
            self.results['train_acc@1'].append(train_acc_1)

            test_loss, test_acc_1, _ = train_val(self.model, test_loader, None, epoch,
                                                 self.num_epochs, device)
            self.results['test_loss'].append(test_loss)
            self.results['test_acc@1'].append(test_acc_1)
            best_acc = max(best_acc, test_acc_1)

        self.results["best_test_acc"] = best_acc
