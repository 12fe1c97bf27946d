"""dl4cv.pretrained: the imagenet_val_25.npz format (generated sample round trip), the real
SqueezeNet loading path (with stand-in weights), the fallback CNN, and a short style transfer."""
import numpy as np
import pytest
import torch

from dl4cv import pretrained
from dl4cv.standins import cifar_cnn
from dl4cv.errors import DataMissingError
from dl4cv_tools.testing import course_module


def test_imagenet_val_sample_round_trip(tmp_path):
    path = cifar_cnn.write_imagenet_val_sample(tmp_path / "imagenet_val_25.npz", num=6, seed=1)
    with np.load(path, allow_pickle=True) as f:      # exactly the course file's keys
        assert sorted(f.files) == sorted(["X", "y", "label_map"])
    X, y, names = pretrained.load_imagenet_val(num=4, path=path)
    assert X.shape == (4, 224, 224, 3) and X.dtype == np.uint8
    assert y.shape == (4,) and isinstance(names, dict) and len(names) == 1000
    assert all(int(c) in cifar_cnn.CIFAR_TO_IMAGENET for c in y)
    X2, _, _ = pretrained.load_imagenet_val(path=path)
    assert len(X2) == 6
    np.testing.assert_array_equal(X2[:4], X)
    with pytest.raises(ValueError):
        pretrained.load_imagenet_val(num=0, path=path)


def test_missing_files_name_the_fix(tmp_path):
    with pytest.raises(DataMissingError, match="get_datasets.sh imagenet_val"):
        pretrained.load_imagenet_val(path=tmp_path / "nope.npz")
    with pytest.raises(DataMissingError, match="get_datasets.sh squeezenet"):
        pretrained.load_squeezenet(weights_path=tmp_path / "nope.pth")


def test_squeezenet_loading_path(tmp_path):
    """The real path loads a torchvision squeezenet1_1 state dict (stand-in random weights)."""
    import torchvision
    torch.manual_seed(0)
    ref = torchvision.models.squeezenet1_1(weights=None).eval()
    torch.save(ref.state_dict(), tmp_path / pretrained.SQUEEZENET_FILE)
    net = pretrained.load_squeezenet(weights_path=tmp_path / pretrained.SQUEEZENET_FILE)
    assert not any(p.requires_grad for p in net.parameters()) and not net.training
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(net(x), ref(x))
    checked = pretrained.SizeChecked(net, 224)
    with pytest.raises(ValueError, match=r"\(N, 3, 224, 224\)"):
        checked(x)
    assert pretrained.min_input_size(net.features) > 16


def test_fallback_cnn_learns():
    vm = pretrained.load_vision_model(device="cpu", verbose=False, fallback=True)
    assert vm.is_fallback and vm.image_size == 32 and len(vm.class_names) == 10
    assert vm.test_accuracy > 0.45            # chance is 0.10
    assert "CIFAR-10" in vm.notice and "get_datasets.sh squeezenet" in vm.notice
    X, y, _ = pretrained.load_images(vm, num=12)
    assert X.shape == (12, 32, 32, 3) and len(set(y[:10].tolist())) == 10
    from dl4cv.images import preprocess
    x = torch.cat([preprocess(img, size=32) for img in X])
    assert (vm.model(x).argmax(1).numpy() == y).all()     # chosen images are classified right


@pytest.mark.parametrize("folder,name", [("cs231n/assignment3", "cs231n.style_transfer_pytorch"),
                                         ("eecs498/A4", "style_transfer")], ids=["cs231n", "eecs498"])
def test_style_transfer_lowers_loss(folder, name):
    st = course_module(folder, name)
    from dl4cv.paths import data_dir
    cnn, _, content_layer, style_layers = pretrained.load_feature_network(
        device="cpu", verbose=False, fallback=True)
    styles = data_dir() / "styles"
    if not (styles / "tubingen.jpg").exists():
        pytest.skip("style images not on disk")
    img, hist = st.style_transfer(styles / "tubingen.jpg", styles / "starry_night.jpg", 48, 48,
                                  content_layer, 5e-2, style_layers, [1e5] * len(style_layers),
                                  1e-2, cnn=cnn, num_iterations=40, show_progress=False)
    assert img.shape[:2] == (1, 3) and min(img.shape[2:]) == 48
    # (Adam with lr 3 overshoots on the first steps; after 40 the style loss is far lower)
    assert hist["style"][-1] < 0.5 * hist["style"][0]
    # feature inversion: from noise, the content loss falls
    img, hist = st.style_transfer(styles / "tubingen.jpg", styles / "starry_night.jpg", 48, 48,
                                  content_layer, 5e-2, style_layers, [0] * len(style_layers),
                                  1e-2, init_random=True, cnn=cnn, num_iterations=30,
                                  show_progress=False)
    assert hist["content"][-1] < 0.5 * hist["content"][0]
    with pytest.raises(ValueError, match="too small"):
        st.style_transfer(styles / "tubingen.jpg", styles / "starry_night.jpg", 4, 48,
                          content_layer, 5e-2, style_layers, [1.0] * len(style_layers), 1e-2,
                          cnn=cnn, num_iterations=1, show_progress=False)
