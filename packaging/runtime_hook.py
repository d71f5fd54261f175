"""Points Studio at the resources bundled next to the frozen executable."""

import os
import sys
from pathlib import Path

os.environ.setdefault("STUDIO_RESOURCES", str(Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources"))
