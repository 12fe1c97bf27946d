"""dl4cv_tools.pytest_fork: the grader's pytest processes, forked from a server that imported
torch once, are still separate processes: own folder, environment and log; what one run
changes in a library is gone in the next; a hung run is stopped with everything it started."""
import os
import time

import pytest

from dl4cv_tools import pytest_fork

pytestmark = pytest.mark.skipif(not pytest_fork.available(), reason="no fork server here")

REPORT = """
import os, sys
import numpy as np

def test_report():
    print("cwd", os.getcwd())
    print("env", os.environ.get("FORK_PROBE"))
    print("zeros", np.zeros(2).tolist())
    np.zeros = lambda *a, **k: "patched"    # a library changed in this process only
    assert np.zeros(2) == "patched"
"""

HANG = """
import subprocess, sys, time

def test_hang(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open("grandchild.pid", "w") as fh:
        fh.write(str(child.pid))
    time.sleep(600)
"""


def _run(tmp_path, name, source, env_extra=None, timeout=60):
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"test_{name}.py").write_text(source)
    env = dict(os.environ, **(env_extra or {}))
    log = tmp_path / f"{name}.log"
    rc, seconds = pytest_fork.run(["-q", "-p", "no:cacheprovider", "-s", f"test_{name}.py"],
                                  folder, env, log, timeout)
    return rc, seconds, folder, log.read_text()


def test_each_run_has_its_own_folder_environment_and_log(tmp_path):
    rc, _, folder, log = _run(tmp_path, "first", REPORT, {"FORK_PROBE": "one"})
    assert rc == 0, log
    assert f"cwd {folder}" in log and "env one" in log and "zeros [0.0, 0.0]" in log
    # the first run patched numpy.zeros in its process; the server's copy is untouched
    rc, _, folder, log = _run(tmp_path, "second", REPORT, {"FORK_PROBE": "two"})
    assert rc == 0, log
    assert f"cwd {folder}" in log and "env two" in log and "zeros [0.0, 0.0]" in log
    assert os.environ.get("FORK_PROBE") is None   # the caller's environment is unchanged


def test_a_failing_run_returns_pytest_code(tmp_path):
    rc, _, _, log = _run(tmp_path, "fails", "def test_no():\n    assert 1 == 2\n")
    assert rc == 1 and "assert 1 == 2" in log


def test_a_hung_run_is_stopped_with_its_children(tmp_path):
    start = time.monotonic()
    rc, seconds, folder, _ = _run(tmp_path, "hang", HANG, timeout=8)
    assert rc is None and seconds < 30 and time.monotonic() - start < 30
    pid = int((folder / "grandchild.pid").read_text())
    time.sleep(0.5)
    assert not _running(pid)    # the subprocess the test started went with it


def _running(pid):
    """False once pid has exited (a zombie left for an init that does not reap counts as
    exited)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_run_that_kills_the_server_costs_only_itself(tmp_path):
    kill = "import os, signal\n\ndef test_kill():\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    rc, _, _, _ = _run(tmp_path, "kill", kill)
    assert rc not in (0, None)
    rc, _, _, log = _run(tmp_path, "after", "def test_ok():\n    pass\n")
    assert rc == 0, log
