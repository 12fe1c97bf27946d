"""dl4cv: what every assignment shares (data, gradient checks, images, notebooks, benchmarks).

The course modules (`cs231n/...`, `eecs598`) keep the courses' names and delegate here.
Attributes are imported lazily so that `python -m dl4cv.data.fetch` runs on a bare Python
(no numpy/torch yet).
"""
import importlib

_EXPORTS = {
    "DL4CVError": "dl4cv.errors", "DataMissingError": "dl4cv.errors",
    "is_smoke": "dl4cv.mode", "is_full": "dl4cv.mode", "pick": "dl4cv.mode",
    "get_device": "dl4cv.device", "seed_everything": "dl4cv.seeding", "record": "dl4cv.report",
    "check": "dl4cv.checks",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dl4cv' has no attribute {name!r}")
