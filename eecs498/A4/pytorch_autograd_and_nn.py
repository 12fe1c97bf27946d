"""
EECS 498-007 / 598-005 (Fall 2020) A4, part 1: PyTorch autograd and nn.

Three levels of the PyTorch API on CIFAR-10 (barebones tensors with autograd, nn.Module,
nn.Sequential) and a pre-activation ResNet (PlainBlock, ResidualBlock, ResidualBottleneckBlock,
ResNetStage, ResNetStem, ResNet). Do not call `.to()` / `.cuda()` inside the blocks you
implement: the training helpers move models and data to the device.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from a4_helper import *  # noqa: F401,F403  (the course's given helpers: load_CIFAR, ...)

from dl4cv.torch_train import evaluate as _evaluate
from dl4cv.torch_train import train as _train

to_float = torch.float
to_long = torch.long


def hello():
    """A sample function to check that the environment imports this file."""
    print('Hello from pytorch_autograd_and_nn.py!')


def _default_device():
    from dl4cv.device import get_device
    return get_device()


################################################################################
# Part II. Barebones PyTorch
################################################################################
def flatten(x, start_dim=1, end_dim=-1):
    """(N, d1, ..., dM) -> (N, d1 * ... * dM) (a view when possible)."""
    return x.flatten(start_dim=start_dim, end_dim=end_dim)


def two_layer_fc(x, params):
    """
    Forward pass of a two-layer fully-connected ReLU network: fc -> ReLU -> fc.

    Inputs:
    - x: (N, d1, ..., dM) minibatch, flattened to (N, D)
    - params: [w1, b1, w2, b2] with w1: (H, D), b1: (H,), w2: (C, H), b2: (C,)

    Returns scores: (N, C). Only the forward pass: autograd gives the backward pass.
    """
    w1, b1, w2, b2 = params
    x = flatten(x)
    if x.shape[1] != w1.shape[1]:
        raise ValueError(f"x flattens to {tuple(x.shape)} but w1 has shape {tuple(w1.shape)}")
    return F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)


def three_layer_convnet(x, params):
    """
    Forward pass of a three-layer ConvNet:
      conv (channel_1 KH1xKW1 filters, zero-padding 2, with bias) -> ReLU
      -> conv (channel_2 KH2xKW2 filters, zero-padding 1, with bias) -> ReLU
      -> fully-connected (with bias) to C class scores.

    Inputs:
    - x: (N, C_in, H, W) minibatch of images
    - params: [conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b] with
      conv_w1: (channel_1, C_in, KH1, KW1), conv_b1: (channel_1,),
      conv_w2: (channel_2, channel_1, KH2, KW2), conv_b2: (channel_2,),
      fc_w: (C, channel_2 * H * W), fc_b: (C,)  (both convs keep H, W for 5x5 / 3x3 filters)

    Returns scores: (N, C)
    """
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
    if x.ndim != 4 or x.shape[1] != conv_w1.shape[1]:
        raise ValueError(f"x: {tuple(x.shape)} does not match conv_w1: {tuple(conv_w1.shape)}")
    scores = None
    # TODO: Implement the forward pass of the three-layer ConvNet described above with
    # F.conv2d, F.relu, flatten and F.linear. No softmax at the end: F.cross_entropy applies
    # it. Store the (N, C) result in `scores`.
    # *****START OF YOUR CODE*****
    h = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))
    h = F.relu(F.conv2d(h, conv_w2, conv_b2, padding=1))
    scores = F.linear(flatten(h), fc_w, fc_b)
    # *****END OF YOUR CODE*****
    return scores


def initialize_three_layer_conv_part2(dtype=torch.float, device='cpu'):
    """
    Parameters of three_layer_convnet for CIFAR-10 (C=3, 32x32, 10 classes) with
    channel_1 = 32 5x5 filters and channel_2 = 16 3x3 filters: Kaiming-normal weights,
    zero biases, all with requires_grad=True.

    Returns [conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b].
    """
    C, H, W = 3, 32, 32
    num_classes = 10
    channel_1, channel_2 = 32, 16
    kernel_size_1, kernel_size_2 = 5, 3

    conv_w1 = conv_b1 = conv_w2 = conv_b2 = fc_w = fc_b = None
    # TODO: Create the six tensors above with the given dtype and device. Weights use
    # nn.init.kaiming_normal_ on an empty tensor of the right shape, biases nn.init.zeros_.
    # Both convolutions keep the 32x32 spatial size (padding 2 for 5x5, 1 for 3x3), so the
    # fully-connected weight is (num_classes, channel_2 * H * W). Set requires_grad=True.
    # *****START OF YOUR CODE*****
    def kaiming(*shape):
        return nn.init.kaiming_normal_(torch.empty(*shape, dtype=dtype, device=device)).requires_grad_()

    def zeros(*shape):
        return nn.init.zeros_(torch.empty(*shape, dtype=dtype, device=device)).requires_grad_()

    conv_w1, conv_b1 = kaiming(channel_1, C, kernel_size_1, kernel_size_1), zeros(channel_1)
    conv_w2, conv_b2 = kaiming(channel_2, channel_1, kernel_size_2, kernel_size_2), zeros(channel_2)
    fc_w, fc_b = kaiming(num_classes, channel_2 * H * W), zeros(num_classes)
    # *****END OF YOUR CODE*****
    return [conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b]


def check_accuracy_part2(loader, model_fn, params, device=None):
    """Accuracy of `model_fn(x, params)` on every batch of `loader`; prints and returns it."""
    device = device or params[0].device
    split = 'val' if loader.dataset.train else 'test'
    print('Checking accuracy on the %s set' % split)
    num_correct, num_samples = 0, 0
    with torch.no_grad():
        for x, y in loader:
            x = x.to(device=device, dtype=params[0].dtype)
            y = y.to(device=device, dtype=to_long)
            preds = model_fn(x, params).argmax(1)
            num_correct += (preds == y).sum().item()
            num_samples += preds.shape[0]
    acc = float(num_correct) / num_samples
    print('Got %d / %d correct (%.2f%%)' % (num_correct, num_samples, 100 * acc))
    return acc


def train_part2(model_fn, params, learning_rate, loader_train=None, loader_val=None,
                print_every=100, max_iters=None):
    """
    One epoch of plain SGD (no momentum) on F.cross_entropy(model_fn(x, params), y), updating
    `params` (tensors with requires_grad=True) in place under torch.no_grad(). Prints the loss
    and validation accuracy every `print_every` iterations and at the end; returns the last
    validation accuracy. `max_iters` stops early (smoke runs).
    """
    if loader_train is None or loader_val is None:
        raise ValueError("train_part2 needs loader_train and loader_val "
                         "(e.g. from dl4cv.torch_train.cifar10_loaders)")
    device, dtype = params[0].device, params[0].dtype
    last = len(loader_train) - 1 if max_iters is None else min(len(loader_train), max_iters) - 1
    acc = None
    for t, (x, y) in enumerate(loader_train):
        x = x.to(device=device, dtype=dtype)
        y = y.to(device=device, dtype=to_long)
        loss = F.cross_entropy(model_fn(x, params), y)
        loss.backward()
        with torch.no_grad():
            for w in params:
                if w.requires_grad:
                    w -= learning_rate * w.grad
                    w.grad.zero_()
        if t % print_every == 0 or t == last:
            print('Iteration %d, loss = %.4f' % (t, loss.item()))
            acc = check_accuracy_part2(loader_val, model_fn, params)
        if t == last:
            break
    return acc


################################################################################
# Part III. PyTorch Module API
################################################################################
class TwoLayerFC(nn.Module):
    """fc -> ReLU -> fc on flattened inputs, Kaiming-normal weights and zero biases."""

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)
        nn.init.kaiming_normal_(self.fc1.weight)
        nn.init.kaiming_normal_(self.fc2.weight)
        nn.init.zeros_(self.fc1.bias)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(flatten(x))))


class ThreeLayerConvNet(nn.Module):
    """conv(channel_1 5x5, pad 2) -> ReLU -> conv(channel_2 3x3, pad 1) -> ReLU -> fc, for
    32x32 inputs (no pooling). Kaiming-normal weights, zero biases."""

    def __init__(self, in_channel, channel_1, channel_2, num_classes):
        super().__init__()
        # TODO: Create the layers (attributes conv1, conv2, fc) of the network above with
        # nn.Conv2d / nn.Linear, then initialize every weight with nn.init.kaiming_normal_ and
        # every bias with nn.init.zeros_. Inputs are 32x32 and both convolutions keep that
        # size, so the fc layer takes channel_2 * 32 * 32 features.
        # *****START OF YOUR CODE*****
        self.conv1 = nn.Conv2d(in_channel, channel_1, 5, padding=2)
        self.conv2 = nn.Conv2d(channel_1, channel_2, 3, padding=1)
        self.fc = nn.Linear(channel_2 * 32 * 32, num_classes)
        for layer in (self.conv1, self.conv2, self.fc):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
        # *****END OF YOUR CODE*****

    def forward(self, x):
        scores = None
        # TODO: Connect the layers from __init__ (ReLU after each convolution, flatten before
        # the fc layer) and store the (N, num_classes) output in `scores`.
        # *****START OF YOUR CODE*****
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        scores = self.fc(flatten(x))
        # *****END OF YOUR CODE*****
        return scores


def initialize_three_layer_conv_part3():
    """A ThreeLayerConvNet(3, 32, 16, 10) and plain SGD (lr 3e-3, weight decay 1e-4)
    -> (model, optimizer)."""
    C, num_classes = 3, 10
    channel_1, channel_2 = 32, 16
    learning_rate, weight_decay = 3e-3, 1e-4
    model = optimizer = None
    # TODO: Instantiate the model and an optim.SGD optimizer over its parameters with the
    # learning rate and L2 weight decay above (no momentum).
    # *****START OF YOUR CODE*****
    model = ThreeLayerConvNet(C, channel_1, channel_2, num_classes)
    optimizer = optim.SGD(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    # *****END OF YOUR CODE*****
    return model, optimizer


def check_accuracy_part34(loader, model, device=None):
    """Accuracy of an nn.Module on every batch of `loader`; prints and returns it."""
    print('Checking accuracy on validation set' if loader.dataset.train
          else 'Checking accuracy on test set')
    acc = _evaluate(model, loader, device=device or _default_device())
    n = getattr(loader, 'num_samples', None) or len(loader.dataset)
    print('Got %d / %d correct (%.2f)' % (round(acc * n), n, 100 * acc))
    return acc


def adjust_learning_rate(optimizer, lrd, epoch, schedule):
    """Multiply every parameter group's learning rate by `lrd` if `epoch` is in `schedule`."""
    if epoch in schedule:
        for param_group in optimizer.param_groups:
            print('lr decay from {} to {}'.format(param_group['lr'], param_group['lr'] * lrd))
            param_group['lr'] *= lrd


def train_part345(model, optimizer, epochs=1, learning_rate_decay=.1, schedule=[], verbose=True,
                  loader_train=None, loader_val=None, device=None, max_iters=None, print_every=100):
    """
    Train an nn.Module on CIFAR-10 with `optimizer`, multiplying the learning rate by
    `learning_rate_decay` at the epochs in `schedule`. With verbose, checks validation
    accuracy every `print_every` iterations, else once per epoch. The loop itself (progress bar,
    AMP + channels-last on CUDA) is dl4cv.torch_train.train, one epoch at a time.

    Returns (acc_history, iter_history): float / long tensors of the checked accuracies and the
    iterations at which they were checked.
    """
    if loader_train is None or loader_val is None:
        raise ValueError("train_part345 needs loader_train and loader_val "
                         "(e.g. from dl4cv.torch_train.cifar10_loaders)")
    device = device or _default_device()
    acc_history, iter_history = [], []
    done = 0
    for e in range(epochs):
        adjust_learning_rate(optimizer, learning_rate_decay, e, schedule)
        left = None if max_iters is None else max_iters - done
        if left is not None and left <= 0:
            break
        n_epoch = len(loader_train) if left is None else min(len(loader_train), left)
        start = done

        def check(t, loss, e=e, start=start, n_epoch=n_epoch):
            tt = start + t
            if (verbose and tt % print_every == 0) or t == n_epoch - 1:
                print('Epoch %d, Iteration %d, loss = %.4f' % (e, tt, loss.item()))
                acc_history.append(check_accuracy_part34(loader_val, model, device))
                iter_history.append(tt)
                print()

        _train(model, loader_train, 1, optimizer=optimizer, device=device, max_iters=n_epoch,
               desc=f"epoch {e}", verbose=False, progress=not verbose, callback=check)
        done += n_epoch
    return torch.tensor(acc_history, dtype=to_float), torch.tensor(iter_history, dtype=to_long)


################################################################################
# Part IV. PyTorch Sequential API
################################################################################
class Flatten(nn.Module):
    """`flatten` as a module, to stack inside nn.Sequential (same as nn.Flatten())."""

    def forward(self, x):
        return flatten(x)


def initialize_three_layer_conv_part4():
    """The Part III ConvNet (32 5x5 filters pad 2, ReLU, 16 3x3 filters pad 1, ReLU, fc to 10)
    as an nn.Sequential, and SGD with Nesterov momentum 0.5, lr 1e-2, weight decay 1e-4
    -> (model, optimizer)."""
    C, H, W = 3, 32, 32
    num_classes = 10
    channel_1, channel_2 = 32, 16
    kernel_size_1, pad_size_1 = 5, 2
    kernel_size_2, pad_size_2 = 3, 1
    learning_rate, weight_decay, momentum = 1e-2, 1e-4, 0.5
    model = optimizer = None
    # TODO: Build the network with nn.Sequential (conv, ReLU, conv, ReLU, Flatten, Linear; the
    # default PyTorch initialization is fine) and an optim.SGD optimizer with the
    # hyper-parameters above and nesterov=True.
    # *****START OF YOUR CODE*****
    model = nn.Sequential(
        nn.Conv2d(C, channel_1, kernel_size_1, padding=pad_size_1),
        nn.ReLU(),
        nn.Conv2d(channel_1, channel_2, kernel_size_2, padding=pad_size_2),
        nn.ReLU(),
        Flatten(),
        nn.Linear(channel_2 * H * W, num_classes),
    )
    optimizer = optim.SGD(model.parameters(), lr=learning_rate, weight_decay=weight_decay,
                          momentum=momentum, nesterov=True)
    # *****END OF YOUR CODE*****
    return model, optimizer


################################################################################
# Part V. ResNet for CIFAR-10
################################################################################
def _check_channels(Cin, Cout, minimum=1):
    if int(Cin) < 1 or int(Cout) < minimum:
        raise ValueError(f"need Cin >= 1 and Cout >= {minimum}, got Cin={Cin}, Cout={Cout}")


class PlainBlock(nn.Module):
    """Pre-activation plain block, (N, Cin, H, W) -> (N, Cout, H', W'):
    BN -> ReLU -> 3x3 conv (Cout filters, pad 1, stride 2 if downsample) -> BN -> ReLU
    -> 3x3 conv (Cout filters, pad 1). H' = ceil(H / 2) when downsampling, else H."""

    def __init__(self, Cin, Cout, downsample=False):
        super().__init__()
        _check_channels(Cin, Cout)
        self.net = None
        # TODO: Store the six layers above, in order, as one nn.Sequential in self.net.
        # *****START OF YOUR CODE*****
        stride = 2 if downsample else 1
        self.net = nn.Sequential(
            nn.BatchNorm2d(Cin), nn.ReLU(),
            nn.Conv2d(Cin, Cout, 3, stride=stride, padding=1),
            nn.BatchNorm2d(Cout), nn.ReLU(),
            nn.Conv2d(Cout, Cout, 3, padding=1),
        )
        # *****END OF YOUR CODE*****

    def forward(self, x):
        return self.net(x)


class ResidualBlock(nn.Module):
    """R(x) = F(x) + G(x): F is a PlainBlock, G the shortcut (identity if Cin == Cout and no
    downsampling; 1x1 conv with Cout filters, stride 1 if only the channels change; 1x1 conv
    with stride 2 if F downsamples)."""

    def __init__(self, Cin, Cout, downsample=False):
        super().__init__()
        _check_channels(Cin, Cout)
        self.block = None  # F
        self.shortcut = None  # G
        # TODO: Store the plain block's layers (an nn.Sequential, as in PlainBlock) in
        # self.block and the shortcut G described above in self.shortcut (nn.Identity() or
        # an nn.Conv2d).
        # *****START OF YOUR CODE*****
        self.block = PlainBlock(Cin, Cout, downsample).net
        if Cin == Cout and not downsample:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Conv2d(Cin, Cout, 1, stride=2 if downsample else 1)
        # *****END OF YOUR CODE*****

    def forward(self, x):
        return self.block(x) + self.shortcut(x)


class ResidualBottleneckBlock(nn.Module):
    """Bottleneck residual block, F with Cout // 4 inner channels:
    BN -> ReLU -> 1x1 conv (Cout/4, stride 2 if downsample) -> BN -> ReLU -> 3x3 conv
    (Cout/4, pad 1) -> BN -> ReLU -> 1x1 conv (Cout); plus the same shortcut G as
    ResidualBlock."""

    def __init__(self, Cin, Cout, downsample=False):
        super().__init__()
        _check_channels(Cin, Cout, minimum=4)
        self.block = None
        self.shortcut = None
        # TODO: Store the nine layers of F above in an nn.Sequential in self.block and the
        # shortcut in self.shortcut.
        # *****START OF YOUR CODE*****
        stride = 2 if downsample else 1
        mid = Cout // 4
        self.block = nn.Sequential(
            nn.BatchNorm2d(Cin), nn.ReLU(), nn.Conv2d(Cin, mid, 1, stride=stride),
            nn.BatchNorm2d(mid), nn.ReLU(), nn.Conv2d(mid, mid, 3, padding=1),
            nn.BatchNorm2d(mid), nn.ReLU(), nn.Conv2d(mid, Cout, 1),
        )
        if Cin == Cout and not downsample:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Conv2d(Cin, Cout, 1, stride=stride)
        # *****END OF YOUR CODE*****

    def forward(self, x):
        return self.block(x) + self.shortcut(x)


class ResNetStem(nn.Module):
    """3x3 conv (Cout filters, pad 1, stride 1) -> ReLU: more channels, same H x W."""

    def __init__(self, Cin=3, Cout=8):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(Cin, Cout, kernel_size=3, padding=1, stride=1), nn.ReLU())

    def forward(self, x):
        return self.net(x)


class ResNetStage(nn.Module):
    """`num_blocks` blocks: block(Cin, Cout, downsample), then num_blocks - 1 block(Cout, Cout)."""

    def __init__(self, Cin, Cout, num_blocks, downsample=True, block=ResidualBlock):
        super().__init__()
        if num_blocks < 1:
            raise ValueError(f"a stage needs num_blocks >= 1, got {num_blocks}")
        blocks = [block(Cin, Cout, downsample)]
        for _ in range(num_blocks - 1):
            blocks.append(block(Cout, Cout))
        self.net = nn.Sequential(*blocks)

    def forward(self, x):
        return self.net(x)


class ResNet(nn.Module):
    """
    ResNetStem(Cin, stage_args[0][0]) -> one ResNetStage per entry of stage_args, each a tuple
    (num_in_channels, num_out_channels, num_blocks, do_downsample), built from `block`
    -> global average pooling (in forward, so any input size works) -> linear to num_classes.
    """

    def __init__(self, stage_args, Cin=3, block=ResidualBlock, num_classes=10):
        super().__init__()
        stage_args = [tuple(a) for a in stage_args]
        if not stage_args or any(len(a) != 4 for a in stage_args):
            raise ValueError("stage_args must be a non-empty list of "
                             f"(Cin, Cout, num_blocks, downsample) tuples, got {stage_args}")
        for prev, nxt in zip(stage_args, stage_args[1:]):
            if prev[1] != nxt[0]:
                raise ValueError(f"stage {prev} outputs {prev[1]} channels but the next stage "
                                 f"{nxt} expects {nxt[0]}")
        self.cnn = None
        # TODO: Build the convolutional part: a ResNetStem from Cin to the first stage's
        # input channels, then a ResNetStage(*args, block=block) per entry of stage_args,
        # all wrapped in one nn.Sequential stored in self.cnn.
        # *****START OF YOUR CODE*****
        self.cnn = nn.Sequential(
            ResNetStem(Cin, stage_args[0][0]),
            *[ResNetStage(*args, block=block) for args in stage_args],
        )
        # *****END OF YOUR CODE*****
        self.fc = nn.Linear(stage_args[-1][1], num_classes)

    def forward(self, x):
        scores = None
        # TODO: Run self.cnn, average-pool over all spatial positions (so the classifier
        # sees (N, stage_args[-1][1]) whatever H x W is), then apply self.fc.
        # *****START OF YOUR CODE*****
        scores = self.fc(self.cnn(x).mean(dim=(2, 3)))
        # *****END OF YOUR CODE*****
        return scores


# The course's network specifications: stage_args entries are
# (num_in_channels, num_out_channels, num_blocks, do_downsample).
networks = {
    'plain32': {
        'block': PlainBlock,
        'stage_args': [
            (8, 8, 5, False),
            (8, 16, 5, True),
            (16, 32, 5, True),
        ],
    },
    'resnet32': {
        'block': ResidualBlock,
        'stage_args': [
            (8, 8, 5, False),
            (8, 16, 5, True),
            (16, 32, 5, True),
        ],
    },
    'resnet47': {
        'block': ResidualBottleneckBlock,
        'stage_args': [
            (32, 32, 5, False),
            (32, 64, 5, True),
            (64, 128, 5, True),
        ],
    },
}


def get_resnet(name):
    """One of the `networks` specifications as a ResNet."""
    if name not in networks:
        raise ValueError(f"unknown network {name!r}; choose one of {sorted(networks)}")
    return ResNet(**networks[name])
