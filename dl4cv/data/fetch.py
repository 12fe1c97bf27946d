"""Download, verify and unpack the assignments' data (the engine behind get_datasets.sh).

Standard library only (tqdm if present), so it runs before anything is installed.

Each file is written to `<dest>.part`, resumed with an HTTP Range request when a previous
attempt was cut, verified, and only then renamed to `<dest>`; a `<dest>.ok` stamp (size,
mtime, sha256, source) makes a re-run a no-op. Any failure ends with one line naming the file
and the fix, and a non-zero exit.
"""
import argparse
import errno
import hashlib
import os
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from dl4cv.data.registry import DATASETS, GROUPS, Item

CHUNK = 1 << 20
RETRIES = 3


class FetchError(Exception):
    """One line: what went wrong with which file, and what to do."""


def _progress(total, initial, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=desc,
                leave=False, file=sys.stderr, disable=not sys.stderr.isatty())


def hub_dir() -> Path:
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def dest_path(item: Item, data_dir: Path) -> Path:
    if item.dest.startswith("@hub/"):
        return hub_dir() / item.dest[len("@hub/"):]
    return data_dir / item.dest


def file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def check(path: Path, checksum):
    """None if `path` matches `checksum` ("md5:..", "sha256:..", "sha256-prefix:.."), else why."""
    kind, _, want = checksum.partition(":")
    algo = {"md5": "md5", "sha256": "sha256", "sha256-prefix": "sha256"}[kind]
    got = file_digest(path, algo)
    ok = got.startswith(want) if kind == "sha256-prefix" else got == want
    return None if ok else f"checksum mismatch (expected {kind} {want}, got {got[:len(want)] if kind == 'sha256-prefix' else got})"


def check_structure(path: Path):
    """For files without a published checksum: the archive must at least open."""
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
                return None if bad is None else f"corrupt zip member {bad}"
        if path.suffix in (".tar", ".gz") and tarfile.is_tarfile(path):
            return None
        if path.suffix == ".npz":
            with zipfile.ZipFile(path) as z:
                return None if z.testzip() is None else "corrupt npz"
        if path.suffix in (".jpg", ".jpeg"):
            # A JPEG starts with the SOI marker; an HTML error page served in its place does not.
            with open(path, "rb") as f:
                return None if f.read(2) == b"\xff\xd8" else "not a JPEG file"
        return None if path.stat().st_size > 0 else "empty file"
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        return f"unreadable archive ({e})"


# ---------------------------------------------------------------- sources
class Source:
    """Where an item can come from: a URL (official or HTTP mirror) or a local mirror folder."""

    def __init__(self, label, location, checksum):
        self.label, self.location, self.checksum = label, location, checksum

    def __repr__(self):
        return f"{self.label} {self.location}"


def _is_url(s: str) -> bool:
    return urllib.parse.urlparse(str(s)).scheme in ("http", "https", "file")


class Mirror:
    """A folder or URL holding the same files plus a SHA256SUMS listing them."""

    def __init__(self, where: str, timeout: float):
        self.where, self.timeout = str(where), timeout
        self.sums = self._read_sums()

    def _read_sums(self):
        try:
            if _is_url(self.where):
                with urllib.request.urlopen(self._url("SHA256SUMS"), timeout=self.timeout) as r:
                    text = r.read().decode()
            else:
                text = (Path(self.where) / "SHA256SUMS").read_text()
        except (OSError, urllib.error.URLError) as e:
            raise FetchError(f"mirror {self.where}: cannot read its SHA256SUMS ({_reason(e)}); "
                             "check the --mirror path or URL") from None
        sums = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2:
                sums[parts[1].lstrip("*").removeprefix("./")] = parts[0].lower()
        return sums

    def _url(self, rel):
        return self.where.rstrip("/") + "/" + urllib.parse.quote(rel)

    def source_for(self, item: Item):
        if item.mirror is None or item.mirror not in self.sums:
            return None
        location = self._url(item.mirror) if _is_url(self.where) else Path(self.where) / item.mirror
        return Source("mirror", location, f"sha256:{self.sums[item.mirror]}")


def _reason(e) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return str(e.reason)
    return str(e) or type(e).__name__


# ---------------------------------------------------------------- transfer
def _copy_local(src: Path, part: Path):
    if not src.exists():
        raise FetchError(f"not in mirror ({src})")
    done = part.stat().st_size if part.exists() else 0
    total = src.stat().st_size
    if done > total:
        part.unlink()
        done = 0
    bar = _progress(total, done, part.name.removesuffix(".part"))
    with open(src, "rb") as fi, open(part, "ab") as fo:
        fi.seek(done)
        for block in iter(lambda: fi.read(CHUNK), b""):
            fo.write(block)
            if bar:
                bar.update(len(block))
    if bar:
        bar.close()


def _download(url: str, part: Path, timeout: float):
    """Append to `part` from where it stops; retry a cut connection with a Range request."""
    for attempt in range(RETRIES + 1):
        done = part.stat().st_size if part.exists() else 0
        req = urllib.request.Request(url, headers={"User-Agent": "dl4cv-get-datasets"})
        if done:
            req.add_header("Range", f"bytes={done}-")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                if done and r.status != 206:   # server ignored Range: start over
                    done = 0
                    part.unlink()
                length = r.headers.get("Content-Length")
                total = done + int(length) if length is not None else None
                bar = _progress(total, done, part.name.removesuffix(".part"))
                with open(part, "ab") as f:
                    while True:
                        block = r.read(CHUNK)
                        if not block:
                            break
                        f.write(block)
                        if bar:
                            bar.update(len(block))
                if bar:
                    bar.close()
                if total is not None and part.stat().st_size < total:
                    raise ConnectionError("connection closed early")
                return
        except urllib.error.HTTPError as e:
            if e.code == 416 and done:      # Range past the end: our partial file is stale
                part.unlink()
                continue
            raise FetchError(_reason(e)) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            if isinstance(e, OSError) and e.errno == errno.ENOSPC:
                raise
            if isinstance(e, urllib.error.URLError) and not isinstance(e.reason, (ConnectionError, TimeoutError)):
                raise FetchError(_reason(e)) from None   # DNS failure, refused: no point retrying
            if attempt == RETRIES:
                raise FetchError(f"{_reason(e)} after {RETRIES + 1} attempts") from None
            time.sleep(0.2 * (attempt + 1))


def _verify(path: Path, checksum):
    return check(path, checksum) if checksum else check_structure(path)


def _stamp_ok(dest: Path) -> bool:
    stamp = dest.with_name(dest.name + ".ok")
    if not (dest.exists() and stamp.exists()):
        return False
    st = dest.stat()
    return stamp.read_text().split()[:2] == [str(st.st_size), str(int(st.st_mtime))]


def _write_stamp(dest: Path, source: Source):
    st = dest.stat()
    dest.with_name(dest.name + ".ok").write_text(
        f"{st.st_size} {int(st.st_mtime)} {file_digest(dest, 'sha256')} {source}\n")


def _extract(item: Item, archive: Path, data_dir: Path):
    target = data_dir / item.extract_to
    if item.extracted and (data_dir / item.extracted).exists():
        return
    tmp = data_dir / f".extract-{item.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
    else:
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
    # Move top-level entries into place only once everything extracted.
    for entry in tmp.iterdir():
        final = target / entry.name
        if final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        entry.rename(final)
    tmp.rmdir()


def _take_member(item: Item, part: Path):
    """`part` holds the zip that contains `item.member`: replace it by that member's bytes."""
    archive = part.with_name(part.name.removesuffix(".part") + ".zip.part")
    os.replace(part, archive)
    try:
        with zipfile.ZipFile(archive) as z, z.open(item.member) as fi, open(part, "wb") as fo:
            shutil.copyfileobj(fi, fo, CHUNK)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
        part.unlink(missing_ok=True)
        raise FetchError(f"no member {item.member} in the downloaded zip "
                         f"({type(e).__name__}: {e})") from None
    finally:
        archive.unlink(missing_ok=True)


def fetch_item(item: Item, data_dir: Path, mirror, timeout: float, log,
               mirror_last: bool = False) -> str:
    """Make `item` present and verified; returns a one-word status. Raises FetchError."""
    dest = dest_path(item, data_dir)
    if _stamp_ok(dest):
        if item.extract_to:
            _extract(item, dest, data_dir)
        return "ok"
    sources = [Source("official", u, item.checksum) for u in item.urls]
    if mirror is not None and (s := mirror.source_for(item)):
        sources = sources + [s] if mirror_last else [s] + sources
    if not sources:
        raise FetchError(f"{item.name}: no source (not in the mirror, no official URL); "
                         "pass --mirror DIR that holds it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    problems = []
    for source in sources:
        try:
            if isinstance(source.location, Path):
                _copy_local(source.location, part)
            else:
                _download(source.location, part, timeout)
            if item.member and source.label == "official":
                _take_member(item, part)
        except FetchError as e:
            problems.append(f"{source}: {e}")
            continue
        why = _verify(part, source.checksum)
        if why:
            part.unlink()   # never resume from bad bytes
            problems.append(f"{source}: {why}")
            continue
        if not source.checksum:
            log(f"  note: {item.name} has no published checksum; checked that it opens")
        os.replace(part, dest)
        _write_stamp(dest, source)
        if item.extract_to:
            _extract(item, dest, data_dir)
        return f"fetched from {source.label}"
    raise FetchError(f"{item.name}: " + "; ".join(problems))


def resolve(names):
    wanted = []
    for name in names or list(DATASETS):
        for ds in GROUPS.get(name, (name,)):
            if ds not in DATASETS:
                known = ", ".join(list(DATASETS) + list(GROUPS))
                raise FetchError(f"unknown data set {ds!r}; known: {known}")
            if ds not in wanted:
                wanted.append(ds)
    return wanted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="get_datasets.sh", description="Fetch and verify the assignments' data sets.")
    parser.add_argument("datasets", nargs="*",
                        help=f"data sets or groups (default: all): {', '.join(list(DATASETS) + list(GROUPS))}")
    parser.add_argument("--mirror", help="a folder or http(s) URL with the same files and a SHA256SUMS")
    parser.add_argument("--fallback-mirror", metavar="MIRROR",
                        help="like --mirror, but try the official URLs first")
    parser.add_argument("--data-dir", default=os.environ.get("DL4CV_DATA", "data"),
                        help="where to put the data (default: data/ or $DL4CV_DATA)")
    parser.add_argument("--timeout", type=float, default=30.0, help="network timeout, seconds")
    parser.add_argument("--list", action="store_true", help="list the data sets and exit")
    args = parser.parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.list:
        for name, ds in DATASETS.items():
            print(f"{name:14s} {ds.description}")
        for name, members in GROUPS.items():
            print(f"{name:14s} = {' '.join(members)}")
        return 0
    data_dir = Path(args.data_dir).expanduser()
    failures = 0
    try:
        wanted = resolve(args.datasets)
        if args.mirror and args.fallback_mirror:
            raise FetchError("give --mirror or --fallback-mirror, not both")
        where = args.mirror or args.fallback_mirror
        mirror = Mirror(where, args.timeout) if where else None
        data_dir.mkdir(parents=True, exist_ok=True)
    except FetchError as e:
        log(f"get_datasets.sh: error: {e}")
        return 2
    except OSError as e:
        log(f"get_datasets.sh: error: cannot create {data_dir} ({e.strerror}); pass --data-dir DIR")
        return 2
    for name in wanted:
        for item in DATASETS[name].items:
            try:
                status = fetch_item(item, data_dir, mirror, args.timeout, log,
                                    mirror_last=bool(args.fallback_mirror))
                log(f"{name}: {item.name}: {status}")
            except FetchError as e:
                failures += 1
                log(f"get_datasets.sh: error: {name}: {e}")
            except OSError as e:
                failures += 1
                if e.errno == errno.ENOSPC:
                    log(f"get_datasets.sh: error: {name}: {item.name}: disk full; free space or "
                        "pass --data-dir DIR on a disk with room, then re-run (it resumes)")
                else:
                    log(f"get_datasets.sh: error: {name}: {item.name}: {e}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
