"""Builds the Cython extensions that live inside the course folders (assignment 2's im2col).

The course packages (`cs231n/assignmentN/cs231n`) are not installed as Python packages (three
of them share the name `cs231n`), so each extension is compiled here and copied next to its
`.pyx`, which is where the course code imports it from.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
# (module name, .pyx path relative to the repository root)
CYTHON_SOURCES = [
    ("im2col_cython", "cs231n/assignment2/cs231n/im2col_cython.pyx"),
]


def _extensions():
    present = [(name, src) for name, src in CYTHON_SOURCES if (HERE / src).exists()]
    if not present:
        return []
    import numpy
    from Cython.Build import cythonize
    from setuptools import Extension

    exts = [Extension(name, [src], include_dirs=[numpy.get_include()]) for name, src in present]
    return cythonize(exts, language_level=3, quiet=True)


class BuildExtBesideSource(build_ext):
    """Build as usual, then copy each compiled module next to its .pyx."""

    def run(self):
        super().run()
        for ext in self.extensions:
            built = Path(self.get_ext_fullpath(ext.name))
            target = HERE / Path(ext.sources[0]).parent / built.name
            if built.resolve() != target.resolve():
                shutil.copy2(built, target)


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExtBesideSource})
