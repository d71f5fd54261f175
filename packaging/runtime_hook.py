"""Points Studio at the resources bundled next to the frozen executable."""

import os
import sys
from pathlib import Path

_bundle = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
os.environ.setdefault("STUDIO_RESOURCES", str(_bundle / "resources"))
