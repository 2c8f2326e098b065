"""`python -m masklet.cli`: the same as the `masklet` command."""

import sys

from masklet.cli import main

sys.exit(main())
