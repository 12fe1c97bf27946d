"""dl4cv.optional: a missing optional package raises one ImportError naming its install command;
the course modules that use optional packages go through it."""
import sys

import pytest

from dl4cv import optional
from dl4cv_tools.testing import course_module


def test_require_returns_the_module_and_names_the_install_command_when_missing(monkeypatch):
    assert optional.require("json") is sys.modules["json"]
    assert optional.available("json") and not optional.available("dl4cv_no_such_package")
    monkeypatch.setitem(sys.modules, "clip", None)        # import clip -> ImportError
    with pytest.raises(ImportError, match=r"^clip is not installed: pip install .*openai/CLIP"):
        optional.require("clip")
    with pytest.raises(ImportError, match=r"^dl4cv_no_such_package is not installed: "
                                          r"pip install dl4cv_no_such_package$"):
        optional.require("dl4cv_no_such_package")


def test_course_modules_name_the_install_command_of_a_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "clip", None)
    monkeypatch.setitem(sys.modules, "joblib", None)
    C = course_module("cs231n/assignment3", "cs231n.clip_dino")
    with pytest.raises(ImportError, match="clip is not installed: pip install"):
        C.tokenize(object(), ["a photo of a cat"])        # no own tokenizer: the real CLIP's
    E = course_module("cs231n/assignment3", "cs231n.emoji_dataset")
    with pytest.raises(ImportError, match="clip is not installed: pip install"):
        E.ClipEmbed("cpu")
    with pytest.raises(ImportError, match="joblib is not installed: pip install joblib"):
        E.get_text_augs()
