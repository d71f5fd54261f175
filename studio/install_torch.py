"""``python -m studio.install_torch``: add Studio's neural networks with the PyTorch build that fits this computer.

CPU-only on a computer without an NVIDIA card (no CUDA download), CUDA where there is one, PyPI's build on macOS
(Apple's MPS). ``--dry-run`` prints the commands without running them."""

from __future__ import annotations

import argparse
import sys

from studio.core.common.errors import StudioError
from studio.core.models.torch_install import can_install_here, plan_for, run_install, this_machine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.install_torch", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the install commands, run nothing")
    args = parser.parse_args(argv)
    plan = plan_for(this_machine())
    print(plan.summary)
    print(f"About {plan.download_mb} MB to download.")
    if args.dry_run:
        print("\n".join(plan.shell_lines()))
        return 0
    why_not = can_install_here()
    if why_not:
        print(why_not, file=sys.stderr)
        return 1
    try:
        for item in run_install(plan.commands, lambda: False):
            print(item.message, flush=True)
    except StudioError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
