"""``python -m algos``: see ``algos.cli``."""

import sys

from algos.cli import main

sys.exit(main())
