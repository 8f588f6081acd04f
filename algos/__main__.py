"""``python -m algos``: see ``algos.cli``."""

import sys

from .cli import main

sys.exit(main())
