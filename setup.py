"""Builds the Cython extensions that live inside the course folders (the im2col and max-pool
loops of assignment 2, and of assignment 3 in the student release, which ships a copy of them
as given code).

The course packages (`cs231n/assignmentN/cs231n`) are not installed as Python packages (three
of them share the name `cs231n`), so each extension is compiled here and copied next to its
`.pyx`, which is where the course code imports it from. A missing .pyx is skipped.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
# (module name, .pyx path relative to the repository root)
CYTHON_SOURCES = [
    ("im2col_cython", "cs231n/assignment2/cs231n/im2col_cython.pyx"),
    # only in the student release: in the repository assignment 3 loads assignment 2's
    ("im2col_cython", "cs231n/assignment3/cs231n/im2col_cython.pyx"),
    ("pool_cython", "cs231n/assignment2/cs231n/pool_cython.pyx"),
    ("pool_cython", "cs231n/assignment3/cs231n/pool_cython.pyx"),  # release only, as above
]


def _extensions():
    present = [(name, src) for name, src in CYTHON_SOURCES if (HERE / src).exists()]
    if not present:
        return []
    import numpy
    from Cython.Build import cythonize
    from setuptools import Extension

    exts = [Extension(name, [src], include_dirs=[numpy.get_include()]) for name, src in present]
    # one cythonize call per extension: given several of the same module name it keeps one
    return [c for ext in exts for c in cythonize([ext], language_level=3, quiet=True)]


class BuildExtBesideSource(build_ext):
    """Build each extension, then copy the compiled module next to its .pyx."""

    def build_extension(self, ext):
        built = Path(self.get_ext_fullpath(ext.name))
        target = HERE / Path(ext.sources[0]).parent / built.name
        beside = built.resolve() == target.resolve()
        if not beside and built.exists():
            # Two assignments' modules share a name (im2col_cython, ...), hence one build path:
            # without this the second would be skipped as "up to date" and get the first's copy.
            built.unlink()
        super().build_extension(ext)
        if not beside:
            shutil.copy2(built, target)


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExtBesideSource})
