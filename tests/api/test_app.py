"""The composition root's choices at startup: where the operator's token comes from."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from api.app import create_app
from api.settings import describe_invalid
from tests.support.app_server import TEST_ADMIN_TOKEN, fixed_clock, isolated_settings
from tests.support.live_server import serve


def test_the_operators_token_is_read_from_admin_token_file(tmp_path: Path) -> None:
    token_file = tmp_path / "lex_admin_token"
    token_file.write_text("token-from-a-secret\n")
    settings = isolated_settings(tmp_path, admin_token=None, admin_token_file=token_file)
    with serve(create_app(settings, clock=fixed_clock)) as base_url:
        opened = httpx.get(
            f"{base_url}/metrics",
            headers={"Authorization": "Bearer token-from-a-secret"},
            timeout=10,
        )
        anonymous = httpx.get(f"{base_url}/metrics", timeout=10)
    assert opened.status_code == 200 and anonymous.status_code == 401
    assert not (tmp_path / "data" / "admin-token").exists()  # none made beside it


def test_a_token_and_a_token_file_together_are_refused_without_repeating_the_token(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationError) as refused:
        isolated_settings(tmp_path, admin_token_file=tmp_path / "token")
    described = describe_invalid(refused.value)
    assert "  ADMIN_TOKEN_FILE: " in described and "not both" in described
    assert TEST_ADMIN_TOKEN not in described


@pytest.mark.parametrize(("content", "reason"), [(None, "cannot be read"), ("  \n", "is empty")])
async def test_a_missing_or_empty_token_file_stops_the_start(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    token_file = tmp_path / "lex_admin_token"
    if content is not None:
        token_file.write_text(content)
    settings = isolated_settings(tmp_path, admin_token=None, admin_token_file=token_file)
    app = create_app(settings, clock=fixed_clock)
    with pytest.raises(ValueError, match=f"ADMIN_TOKEN_FILE .* {reason}"):
        async with app.router.lifespan_context(app):
            pass
