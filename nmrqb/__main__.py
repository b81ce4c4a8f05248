"""Allow ``python -m nmrqb``."""

import sys

from nmrqb.cli import main

sys.exit(main())
