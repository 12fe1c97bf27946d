"""The assignments and their notebooks: the one list that every tool reads.

The runner, the release, the grader, course_compat and the tests take the assignment folders,
their notebooks (in the order the course hands them out, which is the order they run in), the
rubric that grades each assignment and the name of its zip from here, instead of each keeping
a list or walking the course folders. tests/test_manifest.py checks that this list and the
folders on disk agree (every notebook listed, nothing listed missing).
"""
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dl4cv.paths import REPO_ROOT

COURSES = ("cs231n", "eecs498")
# Rubrics live beside the tests they select (tests/grading/<course>-<assignment>.toml).
RUBRIC_DIR = REPO_ROOT / "tests" / "grading"


def slug(path: str) -> str:
    """"cs231n/assignment2" -> "cs231n-assignment2" (any assignment folder, fixtures too)."""
    return "-".join(PurePosixPath(path).parts[-2:])


def zip_name(path: str) -> str:
    """The release zip of an assignment folder: "cs231n-assignment2.zip"."""
    return slug(path) + ".zip"


@dataclass(frozen=True)
class Assignment:
    path: str               # the folder, relative to the repository: "cs231n/assignment2"
    notebooks: tuple        # notebook file names in the folder, in run order

    @property
    def course(self) -> str:
        return PurePosixPath(self.path).parts[0]

    @property
    def slug(self) -> str:
        return slug(self.path)

    @property
    def zip_name(self) -> str:
        return zip_name(self.path)

    @property
    def rubric(self) -> Path:
        return RUBRIC_DIR / f"{self.slug}.toml"

    @property
    def notebook_paths(self) -> tuple:
        """The notebooks as paths relative to the repository, in run order."""
        return tuple(f"{self.path}/{nb}" for nb in self.notebooks)


ASSIGNMENTS = (
    Assignment("cs231n/assignment1", ("knn.ipynb", "svm.ipynb", "softmax.ipynb",
                                      "two_layer_net.ipynb", "features.ipynb")),
    Assignment("cs231n/assignment2", ("FullyConnectedNets.ipynb", "BatchNormalization.ipynb",
                                      "Dropout.ipynb", "ConvolutionalNetworks.ipynb",
                                      "PyTorch.ipynb")),
    Assignment("cs231n/assignment3", ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb",
                                      "NetworkVisualization-PyTorch.ipynb",
                                      "StyleTransfer-PyTorch.ipynb",
                                      "Generative_Adversarial_Networks_PyTorch.ipynb")),
    Assignment("eecs498/A1", ("pytorch101.ipynb", "knn.ipynb")),
    Assignment("eecs498/A2", ("linear_classifier.ipynb", "two_layer_net.ipynb")),
    Assignment("eecs498/A3", ("fully_connected_networks.ipynb", "convolutional_networks.ipynb")),
    Assignment("eecs498/A4", ("pytorch_autograd_and_nn.ipynb",
                              "rnn_lstm_attention_captioning.ipynb",
                              "network_visualization.ipynb", "style_transfer.ipynb")),
    Assignment("eecs498/A5", ("single_stage_detector_yolo.ipynb",
                              "two_stage_detector_faster_rcnn.ipynb")),
    Assignment("eecs498/A6", ("variational_autoencoders.ipynb",
                              "generative_adversarial_networks.ipynb")),
)
PATHS = tuple(a.path for a in ASSIGNMENTS)


def get(path) -> Assignment:
    """The assignment of folder `path` ("cs231n/assignment2", trailing slash allowed)."""
    key = PurePosixPath(str(path).strip("/")).as_posix()
    for a in ASSIGNMENTS:
        if a.path == key:
            return a
    raise KeyError(f"no assignment {path!r} in the manifest (known: {', '.join(PATHS)})")


def assignments(course=None, assignment=None) -> list:
    """The assignments of one course, one assignment, or all, in manifest order."""
    if assignment is not None:
        return [get(assignment)]
    return [a for a in ASSIGNMENTS if course in (None, a.course)]


def notebooks(course=None, assignment=None) -> list:
    """Notebook paths relative to the repository, in run order."""
    return [nb for a in assignments(course, assignment) for nb in a.notebook_paths]
