#!/usr/bin/env bash
# Fetch and verify the data sets the assignments use.
#   ./get_datasets.sh                      # everything, from the official URLs
#   ./get_datasets.sh cifar10 mnist        # some data sets (or groups: cs231n-a1 ... cs231n-a3, eecs498-a1 ... eecs498-a6)
#   ./get_datasets.sh --mirror ../shared/data cifar10   # from a local or HTTP mirror
#   ./get_datasets.sh --list
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "${PYTHON:-}" ]; then py="$PYTHON"
elif [ -x "$here/.venv/bin/python" ]; then py="$here/.venv/bin/python"
else py="$(command -v python3 || command -v python)"; fi
cd "$here"
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "$py" -m dl4cv.data.fetch "$@"
