"""The SimCLR network of the assignment (given): encoder f and projection head g.

f is torchvision's ResNet-50 adapted to 32x32 images: its first convolution is 3x3 with
stride 1 and there is no max-pool, so the image is not shrunk fourfold at the start; its
classification layer is dropped, leaving a 2048-d representation h = f(x). g maps h to the
feature_dim-d vector z on which the contrastive loss is computed.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import resnet50


class Model(nn.Module):
    def __init__(self, feature_dim=128):
        super(Model, self).__init__()

        self.f = []
        for name, module in resnet50().named_children():
            if name == 'conv1':
                module = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            if not isinstance(module, (nn.Linear, nn.MaxPool2d)):
                self.f.append(module)
        # encoder
        self.f = nn.Sequential(*self.f)
        # projection head
        self.g = nn.Sequential(nn.Linear(2048, 512, bias=False), nn.BatchNorm1d(512),
                               nn.ReLU(inplace=True), nn.Linear(512, feature_dim, bias=True))

    def forward(self, x):
        """x: (N, 3, 32, 32) -> (h / ||h||: (N, 2048), z / ||z||: (N, feature_dim))."""
        feature = torch.flatten(self.f(x), start_dim=1)
        out = self.g(feature)
        return F.normalize(feature, dim=-1), F.normalize(out, dim=-1)
