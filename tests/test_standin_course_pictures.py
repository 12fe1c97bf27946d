"""The EECS 498 A3 pictures (kitten, puppy): the data set in the registry, and the seeded
stand-ins `dl4cv.standins.course_pictures` draws when the real ones are not on disk."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dl4cv.data import fetch
from dl4cv.data.registry import DATASETS, GROUPS
from dl4cv.standins import course_pictures as cp

URL = "https://web.eecs.umich.edu/~justincj/teaching/eecs498/assets/a3/"


def test_registry_has_the_course_urls_and_the_group():
    ds = DATASETS["eecs498_a3_pictures"]
    assert {i.name: i.urls for i in ds.items} == {
        "kitten.jpg": (URL + "kitten.jpg",), "puppy.jpg": (URL + "puppy.jpg",)}
    assert all(i.checksum is None and i.dest == f"eecs498_a3_pictures/{i.name}" for i in ds.items)
    assert GROUPS["eecs498-a3"] == ("cifar10", "eecs498_a3_pictures")
    assert fetch.resolve(["eecs498-a3"]) == ["cifar10", "eecs498_a3_pictures"]


def test_fetch_checks_that_a_jpeg_is_one(tmp_path):
    good = tmp_path / "kitten.jpg"
    Image.new("RGB", (8, 8), (10, 20, 30)).save(good, format="JPEG")
    bad = tmp_path / "puppy.jpg"
    bad.write_bytes(b"<html><body>Not found</body></html>")
    assert fetch.check_structure(good) is None
    assert fetch.check_structure(bad) == "not a JPEG file"


def test_standins_format_and_sizes(tmp_path):
    folder = cp.write_standin_pictures(tmp_path, seed=0)
    for name, (w, h) in {"kitten.jpg": (400, 266), "puppy.jpg": (517, 517)}.items():
        path = folder / name
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "RGB" and im.size == (w, h)
        assert 5_000 < path.stat().st_size < 200_000
        pixels = np.asarray(Image.open(path))
        assert pixels.std() > 20, "a picture, not a flat colour"


def test_standins_are_seeded(tmp_path):
    a = cp.write_standin_pictures(tmp_path / "a", seed=0)
    b = cp.write_standin_pictures(tmp_path / "b", seed=0)
    c = cp.write_standin_pictures(tmp_path / "c", seed=1)
    for name in cp.NAMES:
        same = np.asarray(Image.open(a / name)), np.asarray(Image.open(b / name))
        assert np.array_equal(*same)
        assert not np.array_equal(same[0], np.asarray(Image.open(c / name)))


def test_load_uses_standins_offline_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DL4CV_DATA", str(tmp_path))
    kitten, puppy = cp.load_a3_pictures()
    assert "stand-ins" in capsys.readouterr().out
    assert kitten.shape == (266, 400, 3) and puppy.shape == (517, 517, 3)
    assert kitten.dtype == np.uint8 and puppy.dtype == np.uint8
    assert (tmp_path / "synthetic_pictures").is_dir()
    # the notebook's crop of the wide kitten gives a square
    d = kitten.shape[1] - kitten.shape[0]
    cropped = kitten[:, d // 2:-d // 2, :]
    assert cropped.shape[0] == cropped.shape[1]


def test_load_prefers_the_real_pictures(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DL4CV_DATA", str(tmp_path))
    real = Path(tmp_path) / "eecs498_a3_pictures"
    real.mkdir()
    Image.new("RGB", (30, 20), (200, 0, 0)).save(real / "kitten.jpg", format="JPEG")
    Image.new("RGB", (25, 25), (0, 0, 200)).save(real / "puppy.jpg", format="JPEG")
    kitten, puppy = cp.load_a3_pictures()
    assert "the course's kitten and puppy (" in capsys.readouterr().out
    assert kitten.shape == (20, 30, 3) and puppy.shape == (25, 25, 3)
    assert not (tmp_path / "synthetic_pictures").exists()
