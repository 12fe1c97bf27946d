"""dl4cv_tools/manifest.py, the one list of assignments and notebooks, matches the folders on
disk: every notebook of an assignment folder is listed, nothing listed is missing, and each
assignment's rubric exists and grades that assignment."""
import tomllib

from dl4cv.given import GIVEN_FROM
from dl4cv.paths import REPO_ROOT
from dl4cv_tools import manifest


def _on_disk(folder):
    return sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / folder).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def test_the_assignments_in_course_order():
    assert manifest.PATHS == ("cs231n/assignment1", "cs231n/assignment2", "cs231n/assignment3",
                              "eecs498/A1", "eecs498/A2", "eecs498/A3", "eecs498/A4", "eecs498/A5", "eecs498/A6")


def test_every_notebook_on_disk_is_listed_and_every_listed_one_exists():
    for a in manifest.ASSIGNMENTS:
        listed = list(a.notebook_paths)
        assert len(set(listed)) == len(listed), a.path
        assert sorted(listed) == _on_disk(a.path), a.path
    # no notebook in a course folder outside the listed assignments
    on_disk = [nb for course in manifest.COURSES for nb in _on_disk(course)]
    assert sorted(on_disk) == sorted(manifest.notebooks())


def test_every_assignment_folder_is_listed():
    folders = sorted(d.relative_to(REPO_ROOT).as_posix() for course in manifest.COURSES
                     for d in (REPO_ROOT / course).iterdir()
                     if d.is_dir() and any(d.glob("*.ipynb")))
    assert folders == sorted(manifest.PATHS)


def test_rubrics_and_zip_names():
    for a in manifest.ASSIGNMENTS:
        assert a.rubric.parent == REPO_ROOT / "tests" / "grading"
        assert tomllib.loads(a.rubric.read_text())["assignment"].strip("/") == a.path
        assert a.zip_name == a.path.replace("/", "-") + ".zip"
    assert sorted(p.name for p in manifest.RUBRIC_DIR.glob("*.toml")) == \
        sorted(a.rubric.name for a in manifest.ASSIGNMENTS)


def test_selection():
    assert manifest.get("eecs498/A5/").path == "eecs498/A5"
    assert [a.path for a in manifest.assignments(course="eecs498")] == [
        "eecs498/A1", "eecs498/A2", "eecs498/A3", "eecs498/A4", "eecs498/A5", "eecs498/A6"]
    a6 = manifest.get("eecs498/A6")
    assert manifest.notebooks(assignment="eecs498/A6") == list(a6.notebook_paths)


def test_editions_say_which_notebooks_and_files_ship():
    a3 = manifest.get("cs231n/assignment3")
    assert a3.notebooks_in() == ("RNN_Captioning.ipynb", "LSTM_Captioning.ipynb",
                                 "NetworkVisualization-PyTorch.ipynb", "StyleTransfer-PyTorch.ipynb",
                                 "Generative_Adversarial_Networks_PyTorch.ipynb")
    assert a3.notebooks_in("2025") == ("Transformer_Captioning.ipynb",
                                       "Self_Supervised_Learning.ipynb", "DDPM.ipynb",
                                       "CLIP_DINO.ipynb")
    assert not a3.ships("Transformer_Captioning.ipynb") and a3.ships("Transformer_Captioning.ipynb", "2025")
    assert not a3.ships("cs231n/simclr/contrastive_loss.py") and a3.ships("cs231n/simclr/model.py", "2025")
    assert not a3.ships("cs231n/rnn_layers.py", "2025") and a3.ships("cs231n/rnn_layers.py")
    assert a3.ships("cs231n/coco_utils.py") and a3.ships("cs231n/coco_utils.py", "2025")
    assert not a3.ships("cs231n/unet.py") and a3.ships("cs231n/unet.py", "2025")
    assert not a3.ships("cs231n/clip_dino.py") and a3.ships("cs231n/clip_dino.py", "2025")
    a2 = manifest.get("cs231n/assignment2")
    assert "FullyConnectedNets.ipynb" not in a2.notebooks_in("2025")
    assert a2.ships("cs231n/classifiers/fc_net.py", "2025")       # BatchNormalization uses it
    assert not a2.ships("cs231n/rnn_layers_pytorch.py") and a2.ships("cs231n/rnn_layers_pytorch.py", "2025")
    assert [a.path for a in manifest.edition_assignments("2025")] == ["cs231n/assignment2",
                                                                      "cs231n/assignment3"]
    assert [a.path for a in manifest.edition_assignments()] == list(manifest.PATHS)
    assert manifest.edition_zip_name("cs231n/assignment3", "2025") == "cs231n-assignment3-2025.zip"
    assert manifest.edition_zip_name("cs231n/assignment3") == "cs231n-assignment3.zip"


def test_every_notebook_and_own_file_of_an_edition_exists():
    for a in manifest.ASSIGNMENTS:
        assert set(dict(a.editions)) <= set(a.notebooks), a.path
        assert set(dict(a.own_files)) <= set(a.notebooks), a.path
        for nb, eds in a.editions:
            assert set(eds) <= set(manifest.EDITIONS[a.course]), (a.path, nb)
        for nb, files in a.own_files:
            for f in files:     # on disk, or given code the release writes (dl4cv.given)
                assert (REPO_ROOT / a.path / f).exists() or f"{a.path}/{f}" in GIVEN_FROM, \
                    f"{a.path}/{f} ({nb})"
