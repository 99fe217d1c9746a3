"""The terminal client's credentials: its sessions' secrets, and the operator's token.

`lex chat` creates its sessions with `POST /sessions` and keeps each secret in a file only its
owner can read (`~/.lex_sessions.json`, or `$LEX_SESSIONS_FILE`), so `lex chat --session ID`
continues one later. `lex sessions` and `lex replay` act as the operator: the token comes from
`--admin-token`, `$LEX_ADMIN_TOKEN` or `$ADMIN_TOKEN`, else from the file the server made at first
start (`data/admin-token`, or in `$LEX_DATA_DIR`).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Final

from api.local_secrets import OWNER_ONLY, admin_token_path

SESSIONS_FILE_ENV: Final = "LEX_SESSIONS_FILE"
ADMIN_TOKEN_ENVS: Final = ("LEX_ADMIN_TOKEN", "ADMIN_TOKEN")
DATA_DIR_ENV: Final = "LEX_DATA_DIR"
DEFAULT_DATA_DIR: Final = "data"


def add_admin_token_argument(parser: argparse.ArgumentParser) -> None:
    """Adds `--admin-token` (default: the environment, else the server's token file)."""
    parser.add_argument(
        "--admin-token",
        default=None,
        help="the operator's token (default: $LEX_ADMIN_TOKEN, $ADMIN_TOKEN, or the file the "
        "server made, data/admin-token or in $LEX_DATA_DIR)",
    )


def admin_token(option: str | None = None) -> str | None:
    """Returns the operator's token from the option, the environment or the server's file."""
    if option:
        return option
    for name in ADMIN_TOKEN_ENVS:
        if value := os.environ.get(name):
            return value
    path = admin_token_path(Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR))
    try:
        return path.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def bearer(token: str | None) -> dict[str, str]:
    """Returns the Authorization header carrying `token` (none without one)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def sessions_file() -> Path:
    """Where `lex chat` keeps its sessions' secrets."""
    return Path(os.environ.get(SESSIONS_FILE_ENV) or Path.home() / ".lex_sessions.json")


class SessionSecrets:
    """The secrets of the sessions this terminal created, newest last, in an owner-only file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or sessions_file()

    def load(self) -> dict[str, str]:
        """Returns session id -> secret (empty when the file is missing or unreadable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(key): str(value) for key, value in data.items()}

    def get(self, session_id: str) -> str | None:
        """Returns the secret of a session this terminal created, or None."""
        return self.load().get(session_id)

    def remember(self, session_id: str, secret: str) -> None:
        """Keeps a new session's secret (the file is created owner-only)."""
        secrets = self.load()
        secrets.pop(session_id, None)
        secrets[session_id] = secret
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(secrets, file, indent=1)
        os.chmod(self.path, OWNER_ONLY)  # also when the file existed with wider rights
