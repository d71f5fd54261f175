"""``python -m studio`` opens the window; ``studio COMMAND ...`` runs the command-line tools."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-"):
        from studio.cli import command_names, run_cli

        if args[0] in command_names():
            return run_cli(args)
    if args and args[0] in ("-h", "--help", "--version"):
        from studio.cli import run_cli

        return run_cli(args)
    from studio.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
