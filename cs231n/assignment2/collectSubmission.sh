#!/usr/bin/env bash
# Zips this assignment for submission, as the course's collectSubmission.sh did: every .py and
# .ipynb file of the assignment folder, paths relative to it, without the data sets and
# makepdf.py, into a2.zip (the grader takes it: python -m dl4cv.grader a2.zip).
# Run: bash collectSubmission.sh   (from any folder)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ZIP=a2.zip
fail() { echo "collectSubmission.sh: $1" >&2; exit 1; }
trap 'fail "stopped at line $LINENO; run it with bash from the assignment2 folder: bash collectSubmission.sh"' ERR
[ -d cs231n ] && ls ./*.ipynb >/dev/null 2>&1 || fail "no cs231n/ or notebooks here: keep this script in the assignment2 folder"
FILES=()
while IFS= read -r f; do FILES+=("$f"); done < <(find . \( -name '*.py' -o -name '*.ipynb' \) -type f \
    -not -path './cs231n/datasets/*' -not -path '*/__pycache__/*' -not -path '*/.ipynb_checkpoints/*' \
    -not -path './build/*' -not -path './.*' -not -name makepdf.py | sed 's|^\./||' | LC_ALL=C sort)
rm -f "$ZIP"
if command -v zip >/dev/null 2>&1; then
    zip -q -X "$ZIP" "${FILES[@]}"
elif PY=$(command -v python3 || command -v python); then
    "$PY" - "$ZIP" "${FILES[@]}" <<'PYTHON'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in sys.argv[2:]:
        z.write(name, name)
PYTHON
else
    fail "needs the zip tool or Python 3 to write $ZIP: install one (sudo apt-get install zip)"
fi
echo "Done: submit $ZIP (${#FILES[@]} files)."
