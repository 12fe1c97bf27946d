#!/usr/bin/env bash
# Zips this assignment for submission, as the course's collectSubmission.sh did: its .py and
# .ipynb files (not the data sets or makepdf.py), paths relative to this folder, into a1.zip,
# which the grader takes (python -m dl4cv_tools.grader a1.zip). Run: bash collectSubmission.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-$here/../../.venv/bin/python}"
[ -x "$py" ] || py="$(command -v python3 || command -v python)" || { echo "collectSubmission.sh: needs Python 3 with this project installed (make test sets it up)" >&2; exit 1; }
exec "$py" -m dl4cv.submission "$here"
