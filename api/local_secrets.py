"""Secrets the server makes for itself when none is configured: the admin token, the binding key.

Like Jupyter's token: made once at first start, kept in a file only its owner can read (created
with mode 0600 in one step, so it is never readable by others, not even briefly), read again on
every start so restarts keep sessions and the operator's token.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

ADMIN_TOKEN_FILE: Final = "admin-token"
BINDING_KEY_FILE: Final = "session-binding-key"
SECRET_BYTES: Final = 32
OWNER_ONLY: Final = 0o600


def read_or_create_secret(path: Path) -> tuple[str, bool]:
    """Returns the secret kept at `path`, making one first if the file does not exist.

    Returns:
        The secret, and whether it was just made.
    """
    try:
        return path.read_text(encoding="ascii").strip(), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(SECRET_BYTES)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return path.read_text(encoding="ascii").strip(), False
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(value + "\n")
    return value, True


def admin_token_path(data_dir: Path) -> Path:
    """Returns where the generated admin token is kept."""
    return data_dir / ADMIN_TOKEN_FILE
