"""`python -m dl4cv_tools.grader`: the command line in dl4cv_tools/grader/cli.py."""
import sys

from dl4cv_tools.grader.cli import main

sys.exit(main())
