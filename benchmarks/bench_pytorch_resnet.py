"""EECS 498 A4 ResNets (pytorch_autograd_and_nn) against the same architecture written with
stock torch.nn layers, and training throughput of the shared loop (dl4cv.torch_train)."""
import torch

from dl4cv_tools.bench import case
from dl4cv_tools.testing import course_module
from dl4cv import torch_train as tt

N = 128


def _pair(name, kind):
    pnn = course_module("eecs498/A4", "pytorch_autograd_and_nn")
    torch.manual_seed(0)
    ours = pnn.get_resnet(name)
    ref = tt.stock_preresnet(pnn.networks[name]["stage_args"], kind)
    tt.copy_weights_by_position(ours, ref)
    x = torch.randn(N, 3, 32, 32)

    def step(model):
        def run():
            model.zero_grad(set_to_none=True)
            model(x).sum().backward()
        return run
    return step(ours), step(ref)


@case("A4 resnet32 fwd+bwd vs stock torch.nn PreResNet (N=128, 3x32x32, f32)",
      min_ratio=1 / 1.1, items=N, repeats=5, warmup=1)
def resnet32_vs_stock():
    return _pair("resnet32", "residual")


@case("A4 resnet47 (bottleneck) fwd+bwd vs stock torch.nn (N=128, 3x32x32, f32)",
      min_ratio=1 / 1.1, items=N, repeats=5, warmup=1)
def resnet47_vs_stock():
    return _pair("resnet47", "bottleneck")


@case("A4 resnet32 training images/s: dl4cv.torch_train.train, flip+crop, SGD (4 x 128 images)",
      items=4 * N, repeats=3, warmup=1)
def resnet32_train_throughput():
    pnn = course_module("eecs498/A4", "pytorch_autograd_and_nn")
    torch.manual_seed(0)
    model = pnn.get_resnet("resnet32")
    loader = tt.TensorLoader(torch.randn(4 * N, 3, 32, 32), torch.randint(0, 10, (4 * N,)), N,
                             shuffle=True, augment=True)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9, weight_decay=1e-4)
    return (lambda: tt.train(model, loader, 1, optimizer=opt, progress=False, verbose=False)), None


@case("flip+crop augmentation of a 128-image CIFAR batch: vectorized vs per-image loop",
      items=N)
def augmentation_vs_loop():
    x = torch.randn(N, 3, 32, 32)

    def per_image():
        out = torch.empty_like(x)
        xp = torch.nn.functional.pad(x, (4, 4, 4, 4))
        for i in range(N):
            dy, dx = torch.randint(0, 9, (2,)).tolist()
            img = xp[i, :, dy:dy + 32, dx:dx + 32]
            out[i] = img.flip(2) if torch.rand(()) < 0.5 else img
        return out
    return (lambda: tt.random_flip_crop(x)), per_image
