"""Optional third-party packages: imported only by the functions that need them, so that the
modules using them import without them.

    clip = require("clip")   # the module, or ImportError("clip is not installed: pip install ...")
"""
import importlib
import importlib.util

# module name -> the command that installs it (the real models' packages of CS231n 2025 A3)
INSTALL = {
    "clip": "pip install ftfy regex tqdm git+https://github.com/openai/CLIP.git",
    "tensorflow_datasets": "pip install tensorflow tensorflow-datasets",
    "cv2": "pip install opencv-python",
    "joblib": "pip install joblib",
}


def install_command(name: str) -> str:
    """The command that installs module `name` (`pip install <name>` when not in INSTALL)."""
    return INSTALL.get(name, f"pip install {name}")


def available(name: str) -> bool:
    """Whether module `name` can be imported (without importing it)."""
    return importlib.util.find_spec(name) is not None


def require(name: str):
    """Module `name`, imported; raises ImportError naming its install command when missing."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(f"{name} is not installed: {install_command(name)}") from err
