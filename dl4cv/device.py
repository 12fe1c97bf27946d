"""One place that picks the device: $DL4CV_DEVICE, else CUDA when available, else CPU."""
import os

import torch


def get_device() -> torch.device:
    wanted = os.environ.get("DL4CV_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
