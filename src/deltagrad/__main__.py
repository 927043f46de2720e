"""`python -m deltagrad`: the command line."""

import sys

from deltagrad.cli import main

sys.exit(main())
