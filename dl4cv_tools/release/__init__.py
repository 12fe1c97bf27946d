"""The student release: every solution region replaced by its course-style stub.

    python -m dl4cv_tools.release                     # every assignment -> build/release/ + zips
    python -m dl4cv_tools.release cs231n/assignment2  # one assignment (or several)
    python -m dl4cv_tools.release --check-cells NB.ipynb ...  # only the check-cell scan
    options: --out DIR (default build/release), --no-check

One transformation a module: regions.py (markers, region discovery), stubs.py (stubbing
modules and notebooks), files.py (what ships, the zips), leakcheck.py, checkcells.py (the ast
scan of check cells), make.py (build + check), cli.py (the command line). This package re-exports
their public names, so `from dl4cv_tools import release; release.build(...)` works.

What is a solution (the contract the assignments follow):
- modules (.py, .pyx): the statements between `# *****START OF YOUR CODE*****` and
  `# *****END OF YOUR CODE*****`, inside a function. The release keeps the markers and the TODO
  text above them and puts `raise NotImplementedError("Implement <qualname> in <file>")` between
  them (same indentation), so released modules import and the first call names what to write.
- notebooks: code cells tagged `solution` become a stub (their leading comment block and any code
  outside START/END markers are kept), markdown cells tagged `answer` become
  `**Your Answer:** YOUR ANSWER:`; every output is cleared. Other cells (the Colab set-up cell
  included) are kept as they are.

The release tree mirrors the repository: the assignment folders, the shared support the
assignments import (`dl4cv`, `eecs498/eecs598`, install files, get_datasets.sh) and a short
README. Tests, fixtures, compiled files, git-ignored files and the maintainer tooling
(`dl4cv_tools/`, experiments/, benchmarks/, the rubrics) never ship. Each assignment also
gets `<course>-<assignment>.zip` (support + that assignment), byte-identical from run to run.
`check_release` (run after every build) asserts that no non-trivial line of any solution region
appears anywhere in the release, that no test/fixture/compiled file ships, and that no check
cell computes its expected value from a formula, a lambda or a student function (`check_cells`,
an ast analysis: expected values are literals, loaded files, numeric gradients, the output of
the function under test, or torch/torchvision ops called as black boxes).
"""

# The public names of the submodules, re-exported (callers import only this package).
from dl4cv_tools.release.checkcells import (CheckCellFinding, check_cell_problems, check_cells,
                                            student_functions)
from dl4cv_tools.release.files import (EXCLUDE_DIRS, EXCLUDE_FILES, SUPPORT, ZIP_DATE, _excluded,
                                       discover_assignments, student_pyproject, write_zip,
                                       zip_name)
from dl4cv_tools.release.leakcheck import forbidden_files, given_lines, leaks, nontrivial
from dl4cv_tools.release.make import README, Release, build, check_release, collect
from dl4cv_tools.release.regions import (ANSWER_STUB, END_MARKER, MODULE_SUFFIXES, START_MARKER,
                                         Region, ReleaseError, assignment_regions,
                                         find_marker_pairs, module_regions, notebook_regions,
                                         read_notebook, write_notebook_text)
from dl4cv_tools.release.stubs import (make_mutant, stub_cell_source, stub_file, stub_module,
                                       stub_notebook)
