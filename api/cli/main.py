"""The `lex` console script: a dispatcher over subcommands, each defined in its own module.

A subcommand module exposes `register(subcommands)`, which adds its parser and sets `run` (a
function of the parsed arguments and the output stream that returns the exit code). Adding a
command is one module and one entry in `COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Protocol, TextIO

from api.cli import chat as cli_chat
from api.cli import doctor as cli_doctor
from api.cli import eval as cli_eval
from api.cli import migrate as cli_migrate
from api.cli import sessions as cli_sessions
from api.cli import studio as cli_studio
from api.cli.common import CliError, Subcommands


class CommandModule(Protocol):
    """What a subcommand module provides."""

    def register(self, subcommands: Subcommands) -> None:
        """Adds the module's subcommand parsers."""


COMMAND_MODULES: tuple[CommandModule, ...] = (
    cli_chat,
    cli_sessions,
    cli_studio,
    cli_migrate,
    cli_doctor,
    cli_eval,
)


def build_parser() -> argparse.ArgumentParser:
    """Returns the parser of `lex` with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="lex", description="Lex, SuperCar's virtual sales assistant, from the terminal."
    )
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Runs `lex`; returns the exit code (0 done, 1 failed, 2 bad usage).

    Args:
        argv: The arguments after the program name (sys.argv when None).
        out: Where the command writes its output (stdout when None).
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = run(args, out or sys.stdout)
    except CliError as error:
        sys.stderr.write(f"lex: {error}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
