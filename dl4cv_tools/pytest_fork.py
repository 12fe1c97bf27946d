"""pytest runs forked from a server that has already imported torch and numpy.

The grader runs each question's tests in a process of its own. Started as `python -m pytest`,
that process spends about five of its six seconds importing torch, numpy and pytest; a
process forked from a server that imported them once starts in a fraction of that.

The child is still a process of its own: it has its own session (killed as a group on
timeout), working directory, environment and log file. The server only imports (no thread pools are started
before the fork), and a server that a child kills is started again for the next run.

run(args, cwd, env, log, timeout) -> (return code or None on timeout, seconds); available()
says whether there is a fork server (POSIX), without which callers start `python -m pytest`.
This module imports nothing of the project: the child imports it to find _child.
"""
import multiprocessing
import os
import signal
import sys
import time

# Imported once by the server (about 5 s on one core): the libraries the tests, the course
# modules and the grader's pytest plugin import (nbformat's schema validator alone takes 2 s).
# None of them fixes a setting on import that a question's environment sets, except the
# matplotlib backend, which _child sets again.
PRELOAD = ["numpy", "scipy", "torch", "torchvision", "matplotlib", "matplotlib.pyplot",
           "nbformat", "pytest"]

_context = None


def _fork_context():
    """The forkserver context with PRELOAD set, or None where there is none."""
    global _context
    if _context is None:
        if "forkserver" not in multiprocessing.get_all_start_methods():
            return None
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def available():
    """A fork server, and a caller whose main module the children need not run again:
    multiprocessing re-imports a main *script* in every child (as the spawn method does), so a
    script that grades without an `if __name__ == "__main__":` guard would run once per child.
    `python -m ...` of a package, pytest and notebooks are safe."""
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:
        rerun = not (name == "__main__" or name.endswith(".__main__"))
    else:
        rerun = getattr(main, "__file__", None) is not None
    return not rerun and _fork_context() is not None


def _child(args, cwd, env, log):
    """In the forked process: a new session, the question's folder, environment and log
    (stdout and stderr both), then pytest; exits with pytest's return code."""
    os.setsid()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.dont_write_bytecode = env.get("PYTHONDONTWRITEBYTECODE") == "1"
    sys.path.insert(0, str(cwd))  # as `python -m pytest` run in cwd would have it
    if "MPLBACKEND" in env:  # read by matplotlib on import, in the server's environment
        import matplotlib

        matplotlib.use(env["MPLBACKEND"])
    import pytest

    rc = pytest.main(list(args))
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(int(rc))


def kill_group(pid, sig):
    """Signal process group `pid`, if it is still there."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run(args, cwd, env, log, timeout):
    """pytest with `args` in `cwd` -> (return code or None on timeout, seconds)."""
    start = time.monotonic()
    for attempt in range(50):
        proc = _fork_context().Process(target=_child,
                                       args=(list(args), str(cwd), dict(env), str(log)))
        try:
            proc.start()
            break
        except ConnectionRefusedError:
            # a server a child killed is restarted only once its exit can be reaped
            if attempt == 49:
                raise
            time.sleep(0.1)
    try:
        proc.join(timeout)
        rc = proc.exitcode
        if rc is None:  # hung: stop its whole session, politely first
            kill_group(proc.pid, signal.SIGTERM)
            proc.join(10)
    finally:
        kill_group(proc.pid, signal.SIGKILL)  # leftovers, or the grader interrupted
        proc.join()
    return rc, time.monotonic() - start
