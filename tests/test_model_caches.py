"""Models the project trains once and caches (the CIFAR-10 fallback CNN, the MNIST scorer) are
reused while the data on disk stays the same, and retrained when it changes (e.g. the full
data set replaces the mirror subset)."""
import pytest

from dl4cv import mnist_scorer, pretrained
from dl4cv.paths import folder_fingerprint


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
    monkeypatch.setattr(pretrained, "train_fallback_cnn",
                        lambda verbose=True: trained.append(1) or (pretrained.CifarCNN(), {"test_accuracy": 0.5}))
    cifar = data_home / "cifar-10-batches-py"
    cifar.mkdir()
    (cifar / "data_batch_1").write_bytes(b"x" * 10)
    pretrained.load_fallback_cnn(verbose=False)
    pretrained.load_fallback_cnn(verbose=False)
    assert len(trained) == 1, "a cached model for unchanged data must be reused"
    (cifar / "data_batch_2").write_bytes(b"x" * 10)   # e.g. the full set arrived
    pretrained.load_fallback_cnn(verbose=False)
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
