"""`python -m fleet` runs the CLI."""

import sys

from fleet.cli import main

sys.exit(main())
