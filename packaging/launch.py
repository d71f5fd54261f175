"""Entry script for the frozen app: the same main as ``python -m studio``."""

import multiprocessing
import sys

from studio.__main__ import main

if __name__ == "__main__":
    # The automatic search fits in worker processes; in a frozen app those start by running this script again,
    # and freeze_support turns them into workers instead of second windows.
    multiprocessing.freeze_support()
    sys.exit(main())
