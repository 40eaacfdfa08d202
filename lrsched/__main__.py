"""``python -m lrsched``: the command line."""

import sys

from lrsched.cli import main

sys.exit(main())
