"""get_datasets.sh against a real HTTP server on 127.0.0.1: good, corrupted, truncated and
missing files, resuming after a cut, re-runs that do nothing, and one-line errors."""
import errno
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from dl4cv.data import fetch
from dl4cv.data.registry import Item
from dl4cv.paths import REPO_ROOT
from tests.http_fixture import FileServer

# A registry item that the mirror serves (real name, real mirror path).
MNIST_LABELS = "mnist/t10k-labels-idx1-ubyte.gz"
CONTENT = os.urandom(300_000)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def run_script(*args, data_dir):
    return subprocess.run([str(REPO_ROOT / "get_datasets.sh"), *args, "--data-dir", str(data_dir),
                           "--timeout", "5"], capture_output=True, text=True, timeout=120)


def error_lines(stderr):
    return [l for l in stderr.splitlines() if "error" in l.lower()]


@pytest.fixture
def server():
    with FileServer() as s:
        yield s


def serve_mirror(server, served: bytes, listed: bytes = CONTENT):
    server.files["/SHA256SUMS"] = f"{sha256(listed)}  ./{MNIST_LABELS}\n".encode()
    server.files["/" + MNIST_LABELS] = served


def test_good_file_then_rerun_is_noop(server, tmp_path):
    serve_mirror(server, CONTENT)
    r = run_script("--mirror", server.url, "mnist", data_dir=tmp_path)
    got = tmp_path / MNIST_LABELS
    assert got.read_bytes() == CONTENT
    # The other MNIST files are not in this mirror, and the official hosts are unreachable here.
    assert r.returncode == 1
    n_before = len([p for p, _ in server.requests if p == "/" + MNIST_LABELS])
    run_script("--mirror", server.url, "mnist", data_dir=tmp_path)
    n_after = len([p for p, _ in server.requests if p == "/" + MNIST_LABELS])
    assert n_after == n_before, "a verified file must not be downloaded again"
    assert not list(tmp_path.rglob("*.part"))


def test_corrupted_file_is_rejected_with_one_line(server, tmp_path):
    bad = bytearray(CONTENT)
    bad[1000] ^= 0xFF
    serve_mirror(server, bytes(bad))
    r = run_script("--mirror", server.url, "mnist", data_dir=tmp_path)
    assert r.returncode != 0
    line = [l for l in error_lines(r.stderr) if "t10k-labels" in l]
    assert len(line) == 1 and "checksum mismatch" in line[0]
    assert not (tmp_path / MNIST_LABELS).exists()
    assert not (tmp_path / (MNIST_LABELS + ".part")).exists(), "bad bytes must not be kept"


def test_truncated_file_is_rejected(server, tmp_path):
    serve_mirror(server, CONTENT[: len(CONTENT) // 2])
    r = run_script("--mirror", server.url, "mnist", data_dir=tmp_path)
    assert r.returncode != 0
    assert any("t10k-labels" in l and "checksum mismatch" in l for l in error_lines(r.stderr))
    assert not (tmp_path / MNIST_LABELS).exists()


def test_missing_file_names_it(server, tmp_path):
    server.files["/SHA256SUMS"] = f"{sha256(CONTENT)}  ./{MNIST_LABELS}\n".encode()
    r = run_script("--mirror", server.url, "mnist", data_dir=tmp_path)
    assert r.returncode != 0
    assert any("t10k-labels" in l and "404" in l for l in error_lines(r.stderr))


def test_resume_after_cut_connection(server, tmp_path):
    serve_mirror(server, CONTENT)
    server.cut_once["/" + MNIST_LABELS] = 100_000
    run_script("--mirror", server.url, "mnist", data_dir=tmp_path)
    assert (tmp_path / MNIST_LABELS).read_bytes() == CONTENT
    ranges = [rng for p, rng in server.requests if p == "/" + MNIST_LABELS]
    assert ranges[0] is None and ranges[1] == "bytes=100000-"


def test_resume_from_interrupted_run(server, tmp_path):
    serve_mirror(server, CONTENT)
    part = tmp_path / (MNIST_LABELS + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(CONTENT[:123_456])
    run_script("--mirror", server.url, "mnist", data_dir=tmp_path)
    assert (tmp_path / MNIST_LABELS).read_bytes() == CONTENT
    assert [rng for p, rng in server.requests if p == "/" + MNIST_LABELS] == ["bytes=123456-"]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    serve_mirror(server, CONTENT)
    server.ignore_range = True
    part = tmp_path / (MNIST_LABELS + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 5000)  # stale bytes: must be dropped, not prepended
    run_script("--mirror", server.url, "mnist", data_dir=tmp_path)
    assert (tmp_path / MNIST_LABELS).read_bytes() == CONTENT


def test_unreachable_source_and_bad_mirror(tmp_path):
    r = run_script("--mirror", "http://127.0.0.1:9/", "mnist", data_dir=tmp_path)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "SHA256SUMS" in lines[0] and "--mirror" in lines[0]
    r = run_script("--mirror", str(tmp_path / "nowhere"), "cifar10", data_dir=tmp_path)
    assert r.returncode != 0 and len(error_lines(r.stderr)) == 1


def test_unknown_dataset_lists_known_ones(tmp_path):
    r = run_script("imagenet21k", data_dir=tmp_path)
    assert r.returncode != 0 and "known:" in r.stderr and "cifar10" in r.stderr


def test_official_url_with_md5_and_local_mirror_folder(server, tmp_path):
    """The official path (md5 from the registry) and a mirror given as a folder."""
    server.files["/official.bin"] = CONTENT
    item = Item("official.bin", "dl/official.bin", (server.url + "/official.bin",),
                "md5:" + hashlib.md5(CONTENT).hexdigest())
    status = fetch.fetch_item(item, tmp_path / "d", None, 5, print)
    assert status == "fetched from official" and (tmp_path / "d/dl/official.bin").read_bytes() == CONTENT
    wrong = Item("w.bin", "dl/w.bin", (server.url + "/official.bin",), "md5:" + "0" * 32)
    with pytest.raises(fetch.FetchError, match="w.bin.*checksum mismatch"):
        fetch.fetch_item(wrong, tmp_path / "d", None, 5, print)
    mirror_dir = tmp_path / "mirror"
    (mirror_dir / "sub").mkdir(parents=True)
    (mirror_dir / "sub/a.bin").write_bytes(CONTENT)
    (mirror_dir / "SHA256SUMS").write_text(f"{sha256(CONTENT)}  ./sub/a.bin\n")
    local = Item("a.bin", "a.bin", (), None, mirror="sub/a.bin")
    m = fetch.Mirror(str(mirror_dir), 5)
    assert fetch.fetch_item(local, tmp_path / "d", m, 5, print) == "fetched from mirror"


def test_full_disk_is_one_clear_line(monkeypatch, tmp_path, capsys, server):
    serve_mirror(server, CONTENT)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fetch, "_download", full)
    code = fetch.main(["--mirror", server.url, "--data-dir", str(tmp_path), "mnist"])
    err = capsys.readouterr().err
    assert code == 1
    assert any("t10k-labels" in l and "disk full" in l for l in err.splitlines())


def test_course_files_come_from_the_mirror_into_each_assignment_layout(tmp_path, capsys):
    """`course_files` (files inside the courses' starter zips: check values, pictures) has no
    URL of its own: it comes from the mirror, verified against SHA256SUMS, to
    data/course_files/<our assignment folder>/<path inside the assignment folder>, which is
    where dl4cv_tools/course_compat.py and our notebooks read it."""
    from dl4cv.data.registry import DATASETS, GROUPS, MIRRORED
    items = DATASETS["course_files"].items
    assert "course_files" in MIRRORED and {"course_files"} <= set(GROUPS["cs231n-a3"])
    mirror = tmp_path / "mirror"
    sums = []
    for item in items:
        assert not item.urls and item.dest == item.mirror and item.dest.startswith("course_files/")
        course, assignment = item.dest.split("/")[1:3]
        assert (REPO_ROOT / course / assignment).is_dir(), item.dest
        body = f"fake {item.name}".encode()
        (mirror / item.mirror).parent.mkdir(parents=True, exist_ok=True)
        (mirror / item.mirror).write_bytes(body)
        sums.append(f"{sha256(body)}  ./{item.mirror}")
    (mirror / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    data = tmp_path / "data"
    assert fetch.main(["--mirror", str(mirror), "--data-dir", str(data), "course_files"]) == 0
    for item in items:
        assert (data / item.dest).read_bytes() == f"fake {item.name}".encode()
    names = {i.dest for i in items}
    assert "course_files/cs231n/assignment3/style-transfer-checks.npz" in names
    assert "course_files/cs231n/assignment2/cs231n/notebook_images/kitten.jpg" in names
    # a file whose bytes do not match the mirror's list is refused
    (mirror / items[0].mirror).write_bytes(b"tampered")
    assert fetch.main(["--mirror", str(mirror), "--data-dir", str(tmp_path / "d2"), "course_files"]) != 0
    assert not (tmp_path / "d2" / items[0].dest).exists()


# ---------------------------------------------------------------- CS231n A3 SimCLR (2021-2025)
def _zip_with(members):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


def test_simclr_groups_name_the_official_sources():
    """`get_datasets.sh cs231n-a3-simclr`: CIFAR-10, the course's pretrained SimCLR weights
    (official URL; no published checksum, so none) and simclr_sanity_check.key, one member of
    the official 2024 starter zip, put where the course's other check files go."""
    from dl4cv.data.registry import DATASETS, GROUPS
    assert GROUPS["cs231n-a3-simclr"] == ("cifar10", "simclr_weights", "simclr_sanity_check")
    (weights,) = DATASETS["simclr_weights"].items
    assert weights.urls == ("http://downloads.cs.stanford.edu/downloads/cs231n/pretrained_simclr_model.pth",)
    assert weights.checksum is None and weights.dest == "pretrained_model/pretrained_simclr_model.pth"
    (key,) = DATASETS["simclr_sanity_check"].items
    assert key.urls == ("https://cs231n.github.io/assignments/2024/assignment3_colab.zip",)
    assert key.member == "assignment3/simclr_sanity_check.key"
    assert key.checksum == "sha256:65e046d7add4e470fa100d739d268df388842cc8d99aa1255bc41a1886915483"
    assert key.dest == key.mirror == "course_files/cs231n/assignment3/simclr_sanity_check.key"
    assert (REPO_ROOT / "cs231n/assignment3").is_dir()
    from dl4cv.standins.simclr import WEIGHTS_FILE
    assert weights.dest == WEIGHTS_FILE, "the notebook reads the weights where the script puts them"


def _served_key_item(server, zip_bytes):
    import dataclasses

    from dl4cv.data.registry import DATASETS
    server.files["/assignment3_colab.zip"] = zip_bytes
    (key,) = DATASETS["simclr_sanity_check"].items
    # served test bytes, not the course's file: without its pinned checksum
    return dataclasses.replace(key, urls=(server.url + "/assignment3_colab.zip",), checksum=None)


def test_simclr_key_is_extracted_from_the_served_starter_zip(server, tmp_path):
    body = os.urandom(5000)
    item = _served_key_item(server, _zip_with({
        "assignment3/simclr_sanity_check.key": body, "assignment3/other.py": b"x = 1\n"}))
    data = tmp_path / "data"
    assert fetch.fetch_item(item, data, None, 5, print) == "fetched from official"
    got = data / item.dest
    assert got.read_bytes() == body
    assert sorted(p.name for p in got.parent.iterdir()) == [got.name, got.name + ".ok"], \
        "only the member is kept, not the zip or a partial file"
    n = len(server.requests)
    assert fetch.fetch_item(item, data, None, 5, print) == "ok" and len(server.requests) == n


def test_simclr_key_missing_from_the_zip_is_one_clear_error(server, tmp_path):
    item = _served_key_item(server, _zip_with({"assignment3/other.py": b"x = 1\n"}))
    with pytest.raises(fetch.FetchError, match="simclr_sanity_check.key.*no member assignment3/simclr_sanity_check.key"):
        fetch.fetch_item(item, tmp_path / "data", None, 5, print)
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    # an HTML error page instead of the zip
    item = _served_key_item(server, b"<html>not found</html>")
    with pytest.raises(fetch.FetchError, match="no member"):
        fetch.fetch_item(item, tmp_path / "data", None, 5, print)


def test_simclr_key_from_a_mirror_holding_the_file_itself(tmp_path):
    body = b"the key itself"
    mirror = tmp_path / "mirror"
    rel = "course_files/cs231n/assignment3/simclr_sanity_check.key"
    (mirror / rel).parent.mkdir(parents=True)
    (mirror / rel).write_bytes(body)
    (mirror / "SHA256SUMS").write_text(f"{sha256(body)}  ./{rel}\n")
    data = tmp_path / "data"
    assert fetch.main(["--mirror", str(mirror), "--data-dir", str(data), "simclr_sanity_check"]) == 0
    assert (data / rel).read_bytes() == body


def test_simclr_weights_from_the_official_url(server, tmp_path):
    import dataclasses

    from dl4cv.data.registry import DATASETS
    (weights,) = DATASETS["simclr_weights"].items
    server.files["/pretrained_simclr_model.pth"] = CONTENT
    item = dataclasses.replace(weights, urls=(server.url + "/pretrained_simclr_model.pth",))
    assert fetch.fetch_item(item, tmp_path, None, 5, print) == "fetched from official"
    assert (tmp_path / "pretrained_model/pretrained_simclr_model.pth").read_bytes() == CONTENT
