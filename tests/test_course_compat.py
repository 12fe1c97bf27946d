"""dl4cv_tools/course_compat.py on a tiny fake course: neutralised Colab/shell lines, the temporary
folder laid out as the courses expect their data, the classification of failing cells (api,
data, gpu, cascade, ...), the markdown summary, and no write into the repository or the data.
Everything here is written by the test (a fake repository, data folder and course notebook)."""
import gzip
import json
from pathlib import Path

import nbformat
import pytest

from dl4cv.paths import REPO_ROOT
from dl4cv_tools import course_compat as compat


@pytest.fixture
def fake(tmp_path):
    """A fake repository (cs231n/assignment3, eecs498/A4, A6 and eecs598) and data folder."""
    repo, data = tmp_path / "repo", tmp_path / "data"
    a3 = repo / "cs231n" / "assignment3"
    (a3 / "cs231n").mkdir(parents=True)
    (a3 / "cs231n" / "__init__.py").write_text("")
    (a3 / "cs231n" / "layers.py").write_text("def double(x):\n    return 2 * x\n")
    (a3 / "ours.ipynb").write_text("{}")                       # our notebooks are not copied
    for a in ("A4", "A6"):
        (repo / "eecs498" / a).mkdir(parents=True)
        (repo / "eecs498" / a / "helper.py").write_text("def hello():\n    return 'hi'\n")
    (repo / "eecs498" / "eecs598").mkdir()
    (repo / "eecs498" / "eecs598" / "__init__.py").write_text("")
    (data / "cifar-10-batches-py").mkdir(parents=True)
    (data / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"cifar")
    (data / "imagenet_val_25.npz").write_bytes(b"npz")
    (data / "styles").mkdir()
    (data / "styles" / "tubingen.jpg").write_bytes(b"jpg")
    (data / "mnist").mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (data / "mnist" / f"{name}.gz").write_bytes(gzip.compress(name.encode()))
    shipped = data / "course_files" / "cs231n" / "assignment3"
    shipped.mkdir(parents=True)
    (shipped / "style-transfer-checks.npz").write_bytes(b"checks")
    (shipped / "style-transfer-checks.npz.ok").write_text("ok")
    (shipped / "cs231n" / "notebook_images").mkdir(parents=True)
    (shipped / "cs231n" / "notebook_images" / "kitten.jpg").write_bytes(b"kitten")
    (data / "cache").mkdir()
    (data / "cache" / "model.pt").write_bytes(b"model")
    return repo, data


def _tree(root):
    return sorted((p.relative_to(root).as_posix(), p.is_symlink(), p.read_bytes() if p.is_file() else None)
                  for p in root.rglob("*"))


def test_neutralise_comments_out_colab_and_shell_lines_only():
    source = ("from google.colab import drive\ndrive.mount('/content/drive')\n!bash get_datasets.sh\n"
              "%cd drive/My\\ Drive\n    os.chdir(path)\nx = torch.zeros(3, device='cuda')\n"
              "%matplotlib inline\ny = x.cuda().type(torch.cuda.FloatTensor)")
    out = compat.neutralise(source, cuda_to_cpu=False).splitlines()
    assert [ln.strip().startswith("pass  # [compat]") for ln in out] == [True] * 5 + [False] * 3
    assert out[4] == "    pass  # [compat] os.chdir(path)"          # indentation kept
    assert out[5:] == ["x = torch.zeros(3, device='cuda')", "%matplotlib inline",
                       "y = x.cuda().type(torch.cuda.FloatTensor)"]
    moved = compat.neutralise(source, cuda_to_cpu=True).splitlines()
    assert moved[5] == "x = torch.zeros(3, device='cpu')"
    assert moved[7] == "y = x.cpu().type(torch.FloatTensor)"
    # the Colab Drive mount point becomes the copy's drive folder
    path = "CHECKS = '/content/drive/My Drive/{}/{}'.format(FOLDERNAME, 'checks.npz')"
    assert compat.neutralise(path, False, "/tmp/x/drive/My Drive") == \
        "CHECKS = '/tmp/x/drive/My Drive/{}/{}'.format(FOLDERNAME, 'checks.npz')"
    assert compat.neutralise("%cp -r gan-checks-tf.npz /content/", False, "/d").startswith("pass")


def test_a_bash_cell_is_commented_out_whole():
    source = "%%bash\nDIR=pretrained_model/\nif [ ! -d \"$DIR\" ]; then\n    mkdir \"$DIR\"\nfi"
    out = compat.neutralise(source, cuda_to_cpu=False)
    compile(out, "cell", "exec")                                      # valid Python now
    assert out.splitlines()[0] == "pass  # [compat] %%bash"
    assert all(ln.startswith("# [compat] ") for ln in out.splitlines()[1:])
    assert compat.neutralise("x = 1\n%%bash", False).startswith("x = 1\n")   # only as a cell magic


def test_missing_coco_is_replaced_by_the_standin_and_named(fake, tmp_path):
    repo, data = fake
    (data / "synthetic_coco_captioning").mkdir()
    (data / "synthetic_coco_captioning" / "coco2014_captions.h5").write_bytes(b"h5")
    work = compat.prepare_folder("assignment3", tmp_path / "scratch", "", repo, data)
    captions = Path("coco_captioning") / "coco2014_captions.h5"
    assert (work / "cs231n" / "datasets" / captions).read_bytes() == b"h5"
    env = compat.kernel_environment(tmp_path / "kernel", data)
    assert (Path(env["DL4CV_DATA"]) / captions).read_bytes() == b"h5"
    assert compat.standins_used(data) == [
        "- `coco_captioning`: the project's stand-in `synthetic_coco_captioning` (same format; "
        "the real data set is missing)"]
    # torchvision's root of the self-supervised notebook, CIFAR10(root='data')
    assert (work / "data" / "cifar-10-batches-py" / "data_batch_1").read_bytes() == b"cifar"
    (data / "coco_captioning").mkdir()                                # the real one wins
    assert compat.real_or_standin(data, "coco_captioning") == data / "coco_captioning"
    assert compat.standins_used(data) == []


def test_cs231n_layout(fake, tmp_path):
    repo, data = fake
    work = compat.prepare_folder("assignment3", tmp_path / "scratch", "", repo, data)
    assert work == tmp_path / "scratch" / "assignment3"
    assert (work / "cs231n" / "layers.py").is_file() and not (work / "ours.ipynb").exists()
    datasets = work / "cs231n" / "datasets"
    assert (datasets / "cifar-10-batches-py").is_symlink()
    assert (datasets / "cifar-10-batches-py" / "data_batch_1").read_bytes() == b"cifar"
    assert (datasets / "imagenet_val_25.npz").read_bytes() == b"npz"
    assert not (datasets / "coco_captioning").exists()               # not in this data folder
    # torchvision's MNIST layout, unpacked, where the GAN notebook asks for it
    raw = datasets / "MNIST_data" / "MNIST" / "raw"
    assert (raw / "train-images-idx3-ubyte").read_bytes() == b"train-images-idx3-ubyte"
    assert (work / "styles" / "tubingen.jpg").read_bytes() == b"jpg"
    assert (work / "style-transfer-checks.npz").read_bytes() == b"checks"
    assert not (work / "style-transfer-checks.npz.ok").exists()
    assert (work / "cs231n" / "notebook_images" / "kitten.jpg").read_bytes() == b"kitten"
    # FOLDERNAME = '...' names the assignment's Drive folder: a link back to the copy
    again = compat.prepare_folder("assignment3", tmp_path / "again",
                                  'FOLDERNAME = "cs231n/assignments/assignment3/"\n', repo, data)
    drive = again / "drive" / "My Drive" / "cs231n" / "assignments" / "assignment3"
    assert drive.resolve() == again.resolve() and (drive / "style-transfer-checks.npz").is_file()


def test_eecs_layout_and_drive_folder(fake, tmp_path):
    repo, data = fake
    source = ("# GOOGLE_DRIVE_PATH_AFTER_MYDRIVE = '2020FA/A4'\n"        # a comment: not this one
              "GOOGLE_DRIVE_PATH_AFTER_MYDRIVE = 'Colab Notebooks/EECS498/A4'\n")
    work = compat.prepare_folder("A4", tmp_path / "scratch", source, repo, data)
    assert (work / "helper.py").is_file() and (work / "eecs598" / "__init__.py").is_file()
    assert (work / "datasets" / "cifar-10-batches-py" / "data_batch_1").is_file()
    assert (work / "datasets" / "imagenet_val_25.npz").is_file() and (work / "imagenet_val_25.npz").is_file()
    assert (work / "styles" / "tubingen.jpg").is_file()
    assert (work / "style-transfer-checks.npz").read_bytes() == b"checks"
    drive = work / "drive" / "My Drive" / "Colab Notebooks" / "EECS498" / "A4"
    assert drive.resolve() == work.resolve() and (drive / "helper.py").is_file()
    assert not (work / "drive" / "My Drive" / "2020FA").exists()
    a6 = compat.prepare_folder("A6", tmp_path / "scratch", "", repo, data)
    assert (a6 / "MNIST_data" / "MNIST" / "raw" / "train-labels-idx1-ubyte").is_file()
    assert not (a6 / "drive").exists() and not (a6 / "styles").exists()


def _failure(ename, evalue, tb=""):
    return {"ename": ename, "evalue": evalue, "traceback": tb}


@pytest.mark.parametrize("failure, earlier, expected", [
    (_failure("ImportError", "cannot import name 'svm_loss' from 'cs231n.layers'"), [], "api"),
    (_failure("TypeError", "affine_forward() takes 3 positional arguments but 4 were given"), [], "api"),
    (_failure("FileNotFoundError", "No such file: 'cs231n/datasets/coco_captioning'"), [], "data"),
    (_failure("RuntimeError", "Dataset not found. You can use download=True to download it"), [], "data"),
    (_failure("RuntimeError", "Found no NVIDIA driver on your system"), [], "gpu"),
    (_failure("AssertionError", "Torch not compiled with CUDA enabled"), [], "gpu"),
    (_failure("ModuleNotFoundError", "No module named 'tensorflow'"), [], "env"),
    (_failure("ModuleNotFoundError", "No module named 'cs231n.gan_tf'"), [], "api"),
    (_failure("ModuleNotFoundError", "No module named 'pandas'"), [], "env"),   # SSL setup cell
    (_failure("ModuleNotFoundError", "No module named 'sklearn'"), [], "env"),  # CLIP_DINO's PCA
    # our optional import re-raised with its install command (CLIP_DINO's DavisDataset)
    (_failure("ImportError", "tensorflow_datasets is not installed: pip install tensorflow-datasets",
              "ModuleNotFoundError: No module named 'tensorflow_datasets'\n\nThe above exception "
              "was the direct cause of the following exception:\n\nImportError: ..."), [], "env"),
    (_failure("ImportError", "cs231n.clip_dino is broken",
              "ModuleNotFoundError: No module named 'cs231n.helpers'\n\nImportError: ..."), [], "api"),
    (_failure("CellTimeoutError", "A cell timed out"), [], "time"),
    (_failure("FileNotFoundError", "[Errno 2] 'drive/My Drive/x'"), [], "colab"),
    (_failure("NameError", "name 'model' is not defined"), ["model = build()\n"], "cascade"),
    (_failure("NameError", "name 'model' is not defined"), ["other = 1\n"], "api"),
    # the notebook's own helper (defined in a cell that failed) was shadowed by one of ours
    (_failure("TypeError", "features_from_img() missing 1 required positional argument: 'cnn'"),
     ["cnn = load()\ndef features_from_img(path, size):\n    pass\n"], "cascade"),
    (_failure("TypeError", "features_from_img() missing 1 required positional argument: 'cnn'"),
     ["cnn = load()\n"], "api"),
])
def test_classify(failure, earlier, expected):
    assert compat.classify(failure, earlier) == expected


@pytest.mark.parametrize("failure, earlier_classes, expected", [
    (_failure("AssertionError", "", "assert torch.__version__ == '1.5'"), [], "env"),
    (_failure("AttributeError", "'_SingleProcessDataLoaderIter' object has no attribute 'next'"),
     [], "env"),
    (_failure("IndexError", "index 49000 is out of bounds for axis 0 with size 5170"), [], "data"),
    (_failure("ModuleNotFoundError", "No module named 'cv2'"), [], "env"),
    (_failure("KeyError", "20"), ["time"], "cascade"),
    (_failure("KeyError", "20"), [], "api"),
    (_failure("ZeroDivisionError", "division by zero"), ["data"], "cascade"),   # empty ious
    (_failure("ZeroDivisionError", "division by zero"), [], "api"),
    (_failure("AttributeError", "'NoneType' object has no attribute 'predict'"), ["data"], "cascade"),
    (_failure("AttributeError", "'NoneType' object has no attribute 'predict'"), [], "api"),
])
def test_classify_after_earlier_failures(failure, earlier_classes, expected):
    assert compat.classify(failure, [], earlier_classes) == expected


def test_one_line_data_error_counts_as_a_failure():
    # dl4cv prints a missing data set as one line instead of raising an error output
    cell = {"outputs": [{"output_type": "stream", "name": "stdout", "text":
                         "loading\nDataMissingError: COCO not found: run `./get_datasets.sh coco`\n"}]}
    (ename, evalue, _), = compat.cell_errors(cell)
    assert ename == "DataMissingError" and "get_datasets.sh coco" in evalue
    assert compat.classify(_failure(ename, evalue), []) == "data"


COURSE_CELLS = [
    "from google.colab import drive\ndrive.mount('/content/drive')",           # neutralised
    "!bash get_datasets.sh",                                                   # neutralised
    "from cs231n.layers import double\nassert double(2) == 4\nprint('ok')",    # passes
    "from cs231n.layers import triple",                                        # api (ImportError)
    "open('cs231n/datasets/coco_captioning/coco2014_vocab.json')",             # data
    "raise RuntimeError('Found no NVIDIA driver on your system')",              # gpu
    "print(triple(3))",                                                        # cascade
    "import os, sys\nopen('written_by_the_notebook.txt', 'w').write('x')\n"   # writes to the
    "from dl4cv.paths import build_dir, data_dir\n"                            # temporary folder
    "build_dir().mkdir(parents=True, exist_ok=True)\n(build_dir() / 'fig.png').write_text('x')\n"
    "(data_dir() / 'cache' / 'new_model.pt').write_text('x')\n"
    "assert os.environ['PYTHONDONTWRITEBYTECODE'] == '1'",
]


def test_a_course_notebook_run_end_to_end(fake, tmp_path):
    repo, data = fake
    course = tmp_path / "course" / "assignment3"
    course.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# fake course notebook")] +
                                  [nbformat.v4.new_code_cell(c) for c in COURSE_CELLS])
    nbformat.write(nb, course / "fake.ipynb")
    before_repo, before_data = _tree(repo), _tree(data)
    out, summary = tmp_path / "out", tmp_path / "summary" / "compat.md"
    status = compat.main([str(tmp_path / "course"), "--out", str(out), "--summary", str(summary),
                          "--timeout", "60", "--repo", str(repo), "--data", str(data)])
    assert status == 1                                       # one api failure
    results = json.loads((out / "compat.json").read_text())
    assert [r["notebook"] for r in results] == ["assignment3/fake.ipynb"]
    got = [(f["cell"], f["class"], f["ename"]) for f in results[0]["failures"]]
    assert got == [(4, "api", "ImportError"), (5, "data", "FileNotFoundError"),
                   (6, "gpu", "RuntimeError"), (7, "cascade", "NameError")]
    assert results[0]["code_cells"] == len(COURSE_CELLS)
    table = summary.read_text()
    assert "| assignment3/fake.ipynb | 8 | 4 | 1 | 1 | 1 | 0 | 0 | 0 | 1 |" in table
    assert "- assignment3/fake.ipynb cell 5: data: FileNotFoundError" in table
    assert "API failures (to fix):" in table and "cell 4: ImportError" in table
    # nothing written into the (fake) repository or data folder: the notebook wrote its files,
    # figures and model cache into the temporary folder, which is gone
    assert _tree(repo) == before_repo and _tree(data) == before_data


def test_default_output_is_the_ignored_build_folder():
    args = compat.build_parser().parse_args(["somewhere"])
    assert args.out == REPO_ROOT / "build" / "compat" and args.summary is None
    assert "/build/" in (REPO_ROOT / ".gitignore").read_text().splitlines()


def test_a_missing_name_from_a_failed_cell_is_a_cascade_even_in_a_cuda_cell():
    failure = _failure("NameError", "name 'np' is not defined",
                       "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')")
    assert compat.classify(failure, ["import numpy as np\nassert torch.__version__ == '1.5'\n"]) == "cascade"


def test_a_name_a_failed_star_import_would_have_brought_is_a_cascade():
    failure = _failure("NameError", "name 'GenerateGrid' is not defined")
    assert compat.classify(failure, ["import cv2\nfrom a5_helper import *\n"]) == "cascade"
    assert compat.classify(failure, ["import cv2\n"]) == "api"
