"""``python -m faultlab.checker FILE ...``: check histories from the command line."""

import sys

from .cli import main

sys.exit(main())
