"""The student release of the real assignments (whatever cs231n/assignment*, eecs498/A* hold):
it builds (the marker contract holds), nothing leaks, every region is a stub, the zips are
byte-identical run to run, and every released module imports."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from dl4cv.given import GIVEN_FROM
from dl4cv.paths import REPO_ROOT
from dl4cv_tools import manifest, release
from dl4cv_tools.release.given import vendored_files

ASSIGNMENTS = list(manifest.PATHS)
pytestmark = pytest.mark.skipif(not ASSIGNMENTS, reason="no assignment folders yet")


@pytest.fixture
def built(tmp_path):
    return release.build(tmp_path / "release")   # raises on any leak or contract break


def _sources_digest():
    return sorted((str(p), p.stat().st_mtime_ns) for a in ASSIGNMENTS
                  for p in (REPO_ROOT / a).rglob("*") if p.is_file())


def test_one_zip_per_assignment_byte_identical(tmp_path):
    for attempt in range(3):    # (retried only if someone edits the sources meanwhile)
        before = _sources_digest()
        first = release.build(tmp_path / f"first{attempt}")
        again = release.build(tmp_path / f"again{attempt}")
        if _sources_digest() == before:
            break
    assert sorted(z.name for z in first.zips) == sorted(release.zip_name(a) for a in ASSIGNMENTS)
    for z1, z2 in zip(sorted(first.zips), sorted(again.zips)):
        assert z1.read_bytes() == z2.read_bytes(), z1.name
    assert release.check_release(first) == []


def test_zips_ship_the_runtime_but_no_tooling_experiments_or_rubrics(built):
    """A student gets the runtime package `dl4cv`, never the maintainer tooling (dl4cv_tools/),
    experiments/, benchmarks/, tests/ or the rubrics, and a pyproject.toml that installs
    what the zip holds."""
    import tomllib
    import zipfile
    never = ("dl4cv_tools/", "experiments/", "tests/", "benchmarks/", "grading/")
    for z in built.zips:
        with zipfile.ZipFile(z) as zf:
            names = zf.namelist()
            pyproject = tomllib.loads(zf.read("pyproject.toml").decode())
        assert "dl4cv/__init__.py" in names and "dl4cv/checks.py" in names, z.name
        bad = [n for n in names if n.startswith(never) or "/grading/" in n
               or (n.endswith(".toml") and n != "pyproject.toml")]
        assert not bad, (z.name, bad)
        setuptools = pyproject["tool"]["setuptools"]
        for package in setuptools["packages"]:
            folder = setuptools.get("package-dir", {}).get(package, package.replace(".", "/"))
            assert any(n.startswith(folder + "/") for n in names), (z.name, package)
        assert not any("dl4cv_tools" in v for v in pyproject["project"].get("scripts", {}).values())
    assert not [n for n in built.files if n.startswith(never)]


def _assert_stubbed(built, a, rel, path):
    """The released copy of assignment `a`'s module `rel` (source at `path`): every region a
    stub, every line outside the regions unchanged."""
    source = path.read_text()
    regions = release.module_regions(source, rel)
    out = (built.out / a / rel).read_text()
    stubs = release.module_regions(out, rel)
    assert len(stubs) == len(regions)
    for r, s in zip(regions, stubs):
        assert [ln.strip() for ln in s.lines] == \
            [f'raise NotImplementedError("Implement {r.label} in {rel}")'], (a, r.id)

    def outside(text, regs):
        return [ln for i, ln in enumerate(text.splitlines())
                if not any(r.start < i < r.end for r in regs)]
    assert outside(out, stubs) == outside(source, regions), (a, rel)


def _check_modules(built, assignments, edition=None):
    for a in assignments:
        for path in sorted((REPO_ROOT / a).rglob("*.py")):
            rel = path.relative_to(REPO_ROOT / a).as_posix()
            shipped = built.out / a / rel
            if release._excluded(path.relative_to(REPO_ROOT / a).parts) \
                    or not manifest.get(a).ships(rel, edition):
                assert not shipped.exists(), shipped
                continue
            if f"{a}/{rel}" in GIVEN_FROM:     # written in full from its source (test below)
                continue
            _assert_stubbed(built, a, rel, path)


def test_every_region_is_a_stub_and_nothing_else_changed(built):
    _check_modules(built, ASSIGNMENTS)


def test_given_copies_ship_in_full_and_only_where_the_course_gave_them(built):
    """Assignment 3 ships assignment 2's layers as the course did: the real code, not the
    repository's loader, while assignment 2's own copy stays stubbed."""
    for target, source in GIVEN_FROM.items():
        a = "/".join(target.split("/")[:2])
        if not manifest.get(a).ships(target[len(a) + 1:]):
            # only another edition's notebooks use it (assignment 2's coco_utils.py: 2025)
            assert not (built.out / target).exists(), target
            continue
        shipped = (built.out / target).read_bytes()
        assert shipped == vendored_files(REPO_ROOT, a)[target], target
        assert b"dl4cv.given" not in shipped, target
        if target.endswith("/layers.py"):
            assert b"def affine_forward" in shipped and b"NotImplementedError" not in shipped
            assert b"NotImplementedError" in (built.out / source).read_bytes()
        if target.endswith("/coco_utils.py"):   # A2 (2025 layout) gets A3's data helpers
            assert b"def load_coco_data" in shipped and b"def sample_coco_minibatch" in shipped


def test_released_modules_import(built, tmp_path):
    # as after `pip install -e .`: the compiled extensions sit next to their .pyx
    for a in ASSIGNMENTS:
        for so in (REPO_ROOT / a).rglob("*.so"):
            shutil.copy2(so, built.out / a / so.relative_to(REPO_ROOT / a))
    script = textwrap.dedent("""
        import os, sys
        from pathlib import Path
        from dl4cv_tools.testing import course_module
        out, assignments = Path(sys.argv[1]), sys.argv[2:]
        os.environ["DL4CV_OVERRIDE"] = ";".join(f"{a}={out / a}" for a in assignments)
        bad = []
        for a in assignments:
            for p in sorted((out / a).rglob("*.py")):
                parts = p.relative_to(out / a).with_suffix("").parts
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                try:
                    mod = course_module(a, name)
                    assert str(out) in mod.__file__, mod.__file__
                except BaseException as e:
                    bad.append(f"{a}: {name}: {type(e).__name__}: {e}")
        print("\\n".join(bad) or "ALL IMPORTED")
    """)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    env.pop("DL4CV_OVERRIDE", None)
    res = subprocess.run([sys.executable, "-c", script, str(built.out), *ASSIGNMENTS], env=env,
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.stdout.strip().endswith("ALL IMPORTED"), res.stdout + res.stderr[-2000:]


def test_released_notebooks_set_up_colab_from_the_students_copy(built):
    import json
    for a in ASSIGNMENTS:
        for nb_path in sorted((built.out / a).glob("*.ipynb")):
            first = json.loads(nb_path.read_text())["cells"][0]
            src = "".join(first["source"])
            assert "colab-setup" in first["metadata"].get("tags", []), nb_path
            # never the solutions repository; the student's own folder on Drive instead
            assert '"clone"' not in src and "drive.mount" in src, nb_path
            assert f'os.chdir(os.path.join(root, "{a}"))' in src, nb_path


def test_released_notebooks_carry_no_published_output(built):
    """The repository's notebooks are published with a full run's outputs; the student's copy
    has none of them: no output, no execution count, no publishing stamp."""
    import json
    published = 0
    for a in ASSIGNMENTS:
        for nb_path in sorted((built.out / a).glob("*.ipynb")):
            source = json.loads((REPO_ROOT / a / nb_path.name).read_text())
            published += any(c.get("outputs") for c in source["cells"])
            nb = json.loads(nb_path.read_text())
            assert "dl4cv" not in nb["metadata"], nb_path
            for cell in nb["cells"]:
                if cell["cell_type"] == "code":
                    assert cell["outputs"] == [] and cell["execution_count"] is None, nb_path
    assert published, "no repository notebook has outputs: the test would prove nothing"


def test_todays_release_leaves_the_2025_notebooks_out(built):
    names = set(built.files)
    assert "cs231n/assignment3/RNN_Captioning.ipynb" in names
    for left_out in ("cs231n/assignment3/Transformer_Captioning.ipynb",
                     "cs231n/assignment3/cs231n/transformer_layers.py",
                     "cs231n/assignment3/cs231n/simclr/contrastive_loss.py",
                     "cs231n/assignment2/RNN_Captioning_pytorch.ipynb",
                     "cs231n/assignment2/cs231n/rnn_layers_pytorch.py"):
        assert left_out not in names


def test_the_2025_release_has_only_its_notebooks_and_their_files(tmp_path):
    built = release.build(tmp_path / "release-2025", edition="2025")
    names = set(built.files)
    assert sorted(z.name for z in built.zips) == ["cs231n-assignment2-2025.zip",
                                                  "cs231n-assignment3-2025.zip"]
    notebooks = sorted(n for n in names if n.endswith(".ipynb"))
    assert notebooks == sorted(f"{a.path}/{nb}" for a in manifest.edition_assignments("2025")
                               for nb in a.notebooks_in("2025"))
    for present in ("cs231n/assignment3/cs231n/transformer_layers.py",
                    "cs231n/assignment3/cs231n/simclr/contrastive_loss.py",
                    "cs231n/assignment3/cs231n/coco_utils.py",
                    "cs231n/assignment2/cs231n/rnn_layers_pytorch.py",
                    "cs231n/assignment2/cs231n/coco_utils.py",
                    "cs231n/assignment2/cs231n/classifiers/fc_net.py"):
        assert present in names
    for absent in ("cs231n/assignment3/cs231n/rnn_layers.py", "cs231n/assignment3/cs231n/layers.py",
                   "cs231n/assignment2/FullyConnectedNets.ipynb"):
        assert absent not in names
    assert not any(n.startswith(("cs231n/assignment1/", "eecs498/A")) for n in names)
    assert all(r.file in {f[len(a) + 1:] for f in names if f.startswith(a + "/")}
               for a, regs in built.regions.items() for r in regs)
    _check_modules(built, [a.path for a in manifest.edition_assignments("2025")], "2025")
