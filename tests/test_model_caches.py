"""Models the project trains once and caches (the CIFAR-10 fallback CNN, the MNIST scorer, the
MobileNet stand-ins) go through one helper, `dl4cv.standins.cache`: they are reused while the
data on disk stays the same, and retrained when it changes (e.g. the full data set replaces the
mirror subset)."""
import pytest
import torch

from dl4cv.paths import folder_fingerprint
from dl4cv.standins import cache, cifar_cnn, mnist_scorer, mobilenet


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DL4CV_DATA", str(tmp_path))
    return tmp_path


def test_fingerprint_follows_file_names_and_sizes(tmp_path):
    assert folder_fingerprint(tmp_path / "absent") == ""
    (tmp_path / "a.bin").write_bytes(b"12")
    first = folder_fingerprint(tmp_path)
    assert folder_fingerprint(tmp_path) == first
    (tmp_path / "a.bin").write_bytes(b"123")
    assert folder_fingerprint(tmp_path) != first


def test_fallback_cnn_is_retrained_when_cifar_changes(data_home, monkeypatch):
    trained = []
    monkeypatch.setattr(cifar_cnn, "train_fallback_cnn",
                        lambda verbose=True: trained.append(1) or (cifar_cnn.CifarCNN(), {"test_accuracy": 0.5}))
    cifar = data_home / "cifar-10-batches-py"
    cifar.mkdir()
    (cifar / "data_batch_1").write_bytes(b"x" * 10)
    cifar_cnn.load_fallback_cnn(verbose=False)
    cifar_cnn.load_fallback_cnn(verbose=False)
    assert len(trained) == 1, "a cached model for unchanged data must be reused"
    (cifar / "data_batch_2").write_bytes(b"x" * 10)   # e.g. the full set arrived
    cifar_cnn.load_fallback_cnn(verbose=False)
    assert len(trained) == 2


def test_mnist_scorer_is_retrained_when_mnist_changes(data_home, monkeypatch):
    trained = []

    def fake_train(recipe, verbose=True):
        trained.append(recipe)
        return mnist_scorer.MnistNet(), {"train_images": 1, "test_images": 1, "test_accuracy": 0.99}
    monkeypatch.setattr(mnist_scorer, "train_scorer", fake_train)
    monkeypatch.setattr(mnist_scorer, "_CACHED", {})
    folder = data_home / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"x" * 10)
    mnist_scorer.load_scorer(verbose=False)
    monkeypatch.setattr(mnist_scorer, "_CACHED", {})  # a new process: only the file cache
    mnist_scorer.load_scorer(verbose=False)
    assert len(trained) == 1
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"x" * 20)
    monkeypatch.setattr(mnist_scorer, "_CACHED", {})
    mnist_scorer.load_scorer(verbose=False)
    assert len(trained) == 2


def test_cache_helper_retrains_for_new_data_and_loads_for_same(data_home):
    """The one helper: same fingerprint -> loaded without training; changed fingerprint (the
    training data changed) -> trained again and the cache replaced; retrain=True forces it."""
    folder = data_home / "some-data"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"x" * 10)
    calls = []

    def train():
        calls.append(1)
        return {"w": torch.full((2,), float(len(calls)))}, {"run": len(calls)}
    first = cache.data_fingerprint(folder)
    state, info = cache.cached_model("toy_v1", first, train, verbose=False)
    assert calls == [1] and info["data_fingerprint"] == first and info["run"] == 1
    assert cache.cache_path("toy_v1").exists()
    state, info = cache.cached_model("toy_v1", cache.data_fingerprint(folder), train, verbose=False)
    assert calls == [1], "same training data: loaded, not trained"
    assert torch.equal(state["w"], torch.full((2,), 1.0)) and info["run"] == 1
    assert cache.load_cached("toy_v1", first)[1]["run"] == 1
    (folder / "b.bin").write_bytes(b"y")                   # the training data changed
    second = cache.data_fingerprint(folder)
    assert second != first
    assert cache.cached_model("toy_v1", second, None) == (None, None)  # no train: nothing
    state, info = cache.cached_model("toy_v1", second, train, verbose=False)
    assert calls == [1, 1] and info["run"] == 2 and info["data_fingerprint"] == second
    assert cache.load_cached("toy_v1", first) == (None, None)          # replaced
    cache.cached_model("toy_v1", second, train, verbose=False)
    assert len(calls) == 2
    cache.cached_model("toy_v1", second, train, retrain=True, verbose=False)
    assert len(calls) == 3
    cache.cache_path("toy_v1").write_bytes(b"not a checkpoint")        # unreadable: retrain
    cache.cached_model("toy_v1", second, train, verbose=False)
    assert len(calls) == 4


def test_mobilenet_standin_follows_cifar_data(data_home, monkeypatch):
    """A4 and A5 share one MobileNet stand-in: the CIFAR-10 backbone is used only when cached
    for the CIFAR-10 files on disk; otherwise the calibrated random one (also cached)."""
    monkeypatch.setenv("TORCH_HOME", str(data_home / "torch"))         # no ImageNet weights
    cifar = data_home / "cifar-10-batches-py"
    cifar.mkdir()
    (cifar / "data_batch_1").write_bytes(b"x" * 10)
    calibrated = []
    monkeypatch.setattr(mobilenet, "calibrated_random_features", lambda verbose=True: calibrated.append(1) or (
        __import__("torchvision").models.mobilenet_v2(weights=None).features.state_dict(), {}))
    assert mobilenet.backbone_source("cached") == "random"
    _, source, _ = mobilenet.mobilenet_v2_features("cached", verbose=False)
    assert source == "random" and calibrated == [1]
    ref = __import__("torchvision").models.mobilenet_v2(weights=None).features.state_dict()
    cache.save_cached(mobilenet.CIFAR_NAME, mobilenet._cifar_fingerprint(), ref,
                      {"num_train": 3, "test_accuracy": 0.4})
    features, source, info = mobilenet.mobilenet_v2_features("cached", verbose=False)
    assert source == "cifar10" and info["num_train"] == 3
    assert torch.equal(features.state_dict()["0.0.weight"], ref["0.0.weight"])
    (cifar / "data_batch_2").write_bytes(b"x")                          # other CIFAR-10 files
    assert mobilenet.backbone_source("cached") == "random"
    assert mobilenet.mobilenet_v2_features("none", verbose=False)[1] == "random"
    with pytest.raises(ValueError, match="fallback"):
        mobilenet.mobilenet_v2_features("imagenet")
