"""Entry script for the frozen app: the same main as ``python -m studio``."""

import sys

from studio.__main__ import main

sys.exit(main())
