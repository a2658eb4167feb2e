"""The `dlgen` command. `dlgen lint`, which pre-commit and CI start for every batch of files, is read
by dlgen.lintcli (argparse) without importing typer and click; every other command by the typer app
in dlgen.commands. Every bad input ends in one line on stderr and exit code 2."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Entry point (the console script and python -m dlgen)."""
    args = sys.argv[1:] if argv is None else [str(a) for a in argv]
    if args[:1] == ["lint"]:
        from dlgen import lintcli

        sys.exit(lintcli.main(args[1:]))
    from dlgen import commands

    commands.main(args)
