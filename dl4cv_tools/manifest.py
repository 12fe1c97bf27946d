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
# The course editions a student release can be built for, the default (today's set) first.
# A notebook belongs to its course's default edition unless its assignment says otherwise.
EDITIONS = {"cs231n": ("2020", "2025"), "eecs498": ("fa2020",)}
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
    # ((notebook, (edition, ...)), ...) for the notebooks not (only) in the default edition
    editions: tuple = ()
    # ((notebook, (file or folder relative to the assignment, ...)), ...): what only that
    # notebook uses, so it ships only in the editions that have the notebook
    own_files: tuple = ()

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
    def default_edition(self) -> str:
        return EDITIONS[self.course][0]

    def notebook_editions(self, notebook) -> tuple:
        return dict(self.editions).get(notebook, (self.default_edition,))

    def notebooks_in(self, edition=None) -> tuple:
        """The notebooks of one edition (None: the default edition), in run order."""
        edition = edition or self.default_edition
        return tuple(nb for nb in self.notebooks if edition in self.notebook_editions(nb))

    def left_out(self, edition=None) -> tuple:
        """Paths (relative to the assignment) that do not ship in `edition`: the other
        editions' notebooks and the files only they use."""
        keep = self.notebooks_in(edition)
        own = dict(self.own_files)
        kept_files = {f for nb in keep for f in own.get(nb, ())}
        out = [p for nb in self.notebooks if nb not in keep for p in (nb, *own.get(nb, ()))]
        return tuple(dict.fromkeys(p for p in out if p not in kept_files))

    def ships(self, inner, edition=None) -> bool:
        """Whether the file at `inner` (relative to the assignment folder) ships in `edition`."""
        inner = PurePosixPath(inner).as_posix()
        return not any(inner == p or inner.startswith(p.rstrip("/") + "/")
                       for p in self.left_out(edition))

    @property
    def notebook_paths(self) -> tuple:
        """The notebooks as paths relative to the repository, in run order."""
        return tuple(f"{self.path}/{nb}" for nb in self.notebooks)


# The numpy RNN layers and assignment 2's layers they build on: 2020's captioning notebooks only
A3_2020_CAPTIONING = ("cs231n/rnn_layers.py", "cs231n/classifiers/rnn.py", "cs231n/layers.py",
                      "cs231n/layer_utils.py", "cs231n/fast_layers.py", "cs231n/im2col.py",
                      "cs231n/im2col_cython.pyx", "cs231n/pool_cython.pyx")

ASSIGNMENTS = (
    Assignment("cs231n/assignment1", ("knn.ipynb", "svm.ipynb", "softmax.ipynb",
                                      "two_layer_net.ipynb", "features.ipynb")),
    # 2025 moved FullyConnectedNets to assignment 1 and added RNN captioning in PyTorch
    Assignment("cs231n/assignment2", ("FullyConnectedNets.ipynb", "BatchNormalization.ipynb",
                                      "Dropout.ipynb", "ConvolutionalNetworks.ipynb",
                                      "PyTorch.ipynb", "RNN_Captioning_pytorch.ipynb"),
               editions=(("BatchNormalization.ipynb", ("2020", "2025")),
                         ("Dropout.ipynb", ("2020", "2025")),
                         ("ConvolutionalNetworks.ipynb", ("2020", "2025")),
                         ("PyTorch.ipynb", ("2020", "2025")),
                         ("RNN_Captioning_pytorch.ipynb", ("2025",))),
               own_files=(("RNN_Captioning_pytorch.ipynb", (
                   "cs231n/rnn_layers_pytorch.py", "cs231n/classifiers/rnn_pytorch.py",
                   "cs231n/captioning_solver_pytorch.py", "cs231n/coco_utils.py",
                   "cs231n/image_utils.py")),)),
    # 2021-2025 replaced it with Transformer captioning and self-supervised learning (2025
    # adds the ViT to the former, and ends with DDPM and CLIP/DINO)
    Assignment("cs231n/assignment3", ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb",
                                      "NetworkVisualization-PyTorch.ipynb",
                                      "StyleTransfer-PyTorch.ipynb",
                                      "Generative_Adversarial_Networks_PyTorch.ipynb",
                                      "Transformer_Captioning.ipynb",
                                      "Self_Supervised_Learning.ipynb", "DDPM.ipynb",
                                      "CLIP_DINO.ipynb"),
               editions=(("Transformer_Captioning.ipynb", ("2025",)),
                         ("Self_Supervised_Learning.ipynb", ("2025",)),
                         ("DDPM.ipynb", ("2025",)),
                         ("CLIP_DINO.ipynb", ("2025",))),
               own_files=(("RNN_Captioning.ipynb", A3_2020_CAPTIONING),
                          ("LSTM_Captioning.ipynb", A3_2020_CAPTIONING),
                          ("NetworkVisualization-PyTorch.ipynb", ("cs231n/net_visualization_pytorch.py",)),
                          ("StyleTransfer-PyTorch.ipynb", ("cs231n/style_transfer_pytorch.py",)),
                          ("Generative_Adversarial_Networks_PyTorch.ipynb", ("cs231n/gan_pytorch.py",)),
                          ("Transformer_Captioning.ipynb", (
                              "cs231n/transformer_layers.py", "cs231n/classifiers/transformer.py",
                              "cs231n/captioning_solver_transformer.py",
                              "cs231n/classification_solver_vit.py")),
                          ("Self_Supervised_Learning.ipynb", ("cs231n/simclr",)),
                          ("DDPM.ipynb", ("cs231n/gaussian_diffusion.py", "cs231n/unet.py",
                                          "cs231n/ddpm_trainer.py", "cs231n/emoji_dataset.py")),
                          ("CLIP_DINO.ipynb", ("cs231n/clip_dino.py",)))),
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


def edition_assignments(edition=None) -> list:
    """The assignments that have notebooks in `edition` (None: every course's default edition,
    i.e. today's set), in manifest order."""
    return [a for a in ASSIGNMENTS
            if (edition is None or edition in EDITIONS[a.course]) and a.notebooks_in(edition)]


def edition_zip_name(path: str, edition=None) -> str:
    """"cs231n-assignment3.zip" for the default edition, "cs231n-assignment3-2025.zip" else."""
    a = get(path)
    if edition in (None, a.default_edition):
        return a.zip_name
    return f"{a.slug}-{edition}.zip"


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
