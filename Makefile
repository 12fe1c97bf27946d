# dl4cv: `make run` (fetch data, execute every notebook, write build/report.md) and `make test`.
# Both set themselves up on a fresh machine: .venv, dependencies, data.
#   make run FULL=1        course-size runs (hours on a CPU; use a GPU)
#   make run NB=cs231n/assignment1/knn.ipynb    one notebook (or a folder)
#   make bench | make release [EDITION=2025] | make grade SUBMISSION=path/to/assignment_folder_or_zip
#   make mutants [A=eecs498/A6]   the full mutant sweep -> tests/grading/mutants.log (commit it)
#   make publish [NB=...]  full-mode run written back into the notebooks (outputs + stamp)
#   make examples | make results | make verification   regenerate README pictures, RESULTS.md, the verification table

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The data mirror (real CIFAR-10/MNIST subsets, style images) used when the official URLs
# are unreachable. Override with MIRROR=dir-or-url, or MIRROR= to disable.
MIRROR ?= $(wildcard ../shared/data)
JOBS ?= 2
FULL ?=
NB ?=
MODE := $(if $(filter 1 yes true,$(FULL)),--full,--smoke)
REQUIRED_DATA := cifar10 mnist styles course_files
OPTIONAL_DATA := coco coco_eecs imagenet_val squeezenet mobilenet_v2 voc2007 eecs498_a3_pictures

.PHONY: run test notebooks data bench release grade mutants examples results verification publish clean help
help:
	@sed -n '1,7p' Makefile

$(VENV)/.installed: requirements.txt pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

data: $(VENV)/.installed
	./get_datasets.sh $(if $(MIRROR),--fallback-mirror $(MIRROR)) $(REQUIRED_DATA)
	@./get_datasets.sh $(OPTIONAL_DATA) 2>/dev/null || echo "note: COCO, ImageNet val, pretrained weights, VOC 2007 or the EECS A3 pictures could not be fetched here; the notebooks use the project's stand-ins and say so"

notebooks: $(VENV)/.installed
	$(PY) -m dl4cv_tools.runner $(MODE) --jobs $(JOBS) $(NB)

run: data notebooks

# The test suite (two xdist workers, one BLAS thread each), then every notebook in smoke
# mode into build/test/ (so a test run never overwrites `make run`'s report and images), then
# the solutions' notebook questions of tests/grading/*.toml judged on that run (the tests grade
# the rest); all always run, and the target fails if any failed.
test: data
	@status=0; \
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	  $(PY) -m pytest -q -n $(JOBS) --dist loadfile || status=1; \
	$(PY) -m dl4cv_tools.runner --smoke --jobs $(JOBS) --out build/test || status=1; \
	$(PY) -m dl4cv_tools.grader --from-run build/test || status=1; \
	exit $$status

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where a machine sets them (an old OpenBLAS workaround),
# pin numpy to a slower kernel than the CPU has: the benchmarks compare against torch at full
# speed, so they run without both (tests and CI keep them). bench.json records the kernel used.
bench: data
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m dl4cv_tools.bench

release: $(VENV)/.installed
	$(PY) -m dl4cv_tools.release $(if $(EDITION),--edition $(EDITION))

grade: $(VENV)/.installed data
	@test -n "$(SUBMISSION)" || { echo "usage: make grade SUBMISSION=path/to/assignment_folder_or_zip [ASSIGNMENT=cs231n/assignment2]"; exit 2; }
	$(PY) -m dl4cv_tools.grader "$(SUBMISSION)" $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

# Every solution region stubbed in turn must lose exactly its questions' points (hours on one
# core; A=<assignment> for one). Rewrites that assignment's section of tests/grading/mutants.log, which
# a test compares with the current regions and declarations.
A ?= ALL
mutants: data
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	  $(PY) -m dl4cv_tools.grader --mutants $(A) --log tests/grading/mutants.log

# Full-mode run of the notebooks (GPU when present), written back over the sources with their
# outputs and a stamp (metadata["dl4cv"]); tests/test_published_notebooks.py keeps them fresh.
publish: data
	$(PY) -m dl4cv_tools.publish --jobs $(JOBS) $(NB)

clean:
	rm -rf build

examples: data
	$(PY) -m dl4cv_tools.examples

# RESULTS.md from build/report.json + build/bench.json (merged into examples/results.json)
results:
	$(PY) -m dl4cv_tools.results --update

# The README's table of student functions with an independent reference (from the tests' marks)
verification: $(VENV)/.installed
	$(PY) -m dl4cv_tools.verification --update
