"""``python -m studio`` opens the window; ``studio COMMAND ...`` runs the command-line tools."""

from __future__ import annotations

import sys

CLI_COMMANDS = {"train", "predict", "models", "screenshots", "tune"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in CLI_COMMANDS | {"-h", "--help"}:
        from studio.cli import run_cli

        return run_cli(args)
    from studio.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
