"""`python -m dl4cv_tools.release`: the command line in dl4cv_tools/release/cli.py."""
import sys

from dl4cv_tools.release.cli import main

sys.exit(main())
