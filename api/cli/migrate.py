"""`lex migrate`: creates or upgrades the database schema once, before replicas start.

One-shot and idempotent: it opens the storage `DATABASE_URL` names exactly as the service does
(which brings the schema up to date, under the migration lock on Postgres) and closes it again.
Replicas starting afterwards find nothing left to do.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TextIO

from api.app import open_storage
from api.cli.common import CliError, Subcommands
from api.settings import Settings


def register(subcommands: Subcommands) -> None:
    """Adds the `migrate` subcommand."""
    migrate = subcommands.add_parser(
        "migrate",
        help="create or upgrade the database schema (DATABASE_URL) and exit",
        description="Create or upgrade the schema of DATABASE_URL; safe to run again.",
    )
    migrate.set_defaults(run=run_migrate)


async def bring_schema_up_to_date(settings: Settings) -> str:
    """Opens and closes the storage; returns the engine it found."""
    async with open_storage(settings) as storage:
        await storage.ping()
        return storage.engine


def run_migrate(args: argparse.Namespace, out: TextIO) -> int:
    """Runs `lex migrate`; returns the exit code."""
    try:
        engine = asyncio.run(bring_schema_up_to_date(Settings()))
    except (OSError, ValueError) as error:
        raise CliError(f"could not migrate the database: {error}") from error
    out.write(f"schema up to date ({engine})\n")
    return 0
