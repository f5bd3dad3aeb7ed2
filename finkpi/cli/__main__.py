"""`python -m finkpi.cli`: the same as the `finkpi` command."""

import sys

from finkpi.cli import main

sys.exit(main())
