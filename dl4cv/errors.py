"""Errors that tell the user the fix in one line.

Inside IPython/Jupyter, a `DL4CVError` is shown as one line (no traceback): the message
already names the command to run.
"""


class DL4CVError(Exception):
    """Base class: an error whose message is the whole story."""


class DataMissingError(DL4CVError, FileNotFoundError):
    """A data set is not on disk. The message names the `get_datasets.sh` command to run."""

    def __init__(self, what: str, dataset: str, path=None):
        where = f" (looked in {path})" if path is not None else ""
        super().__init__(f"{what} not found{where}: run `./get_datasets.sh {dataset}` "
                         f"(or `./get_datasets.sh --mirror ../shared/data {dataset}`)")


def _install_ipython_handler():
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return

    def one_line(shell, etype, value, tb, tb_offset=None):
        print(f"{etype.__name__}: {value}")
        return None

    ip.set_custom_exc((DL4CVError,), one_line)


_install_ipython_handler()
