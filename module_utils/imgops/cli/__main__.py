"""``python -m imgops.cli``."""

import sys

from . import main

sys.exit(main())
