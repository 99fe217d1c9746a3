"""The development API page (`API_DOCS=true`) in a real browser: Swagger UI from Lex's own files.

It must work under the content policy every answer carries (nothing from other sites, no inline
script), and read the schema with the operator's token it asks for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.page.conftest import ServerFactory
from tests.support.app_server import TEST_ADMIN_TOKEN


def test_swagger_ui_shows_every_route_with_the_operators_token_and_nothing_from_elsewhere(
    page: Any, lex_server: ServerFactory, artifacts_dir: Path
) -> None:
    asked: list[str] = []
    refused: list[str] = []
    requested: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept(TEST_ADMIN_TOKEN)

    page.on("dialog", answer)
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.on("request", lambda request: requested.append(request.url))
    with lex_server(api_docs=True) as url:
        page.goto(f"{url}/docs")
        page.locator(".opblock-summary-path", has_text="/query").first.wait_for()
        page.screenshot(path=str(artifacts_dir / "api-docs.png"))
        paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert asked == ["The operator's token (ADMIN_TOKEN):"]
    assert "/sessions/{session_id}/replay" in [p.replace("\u200b", "") for p in paths]
    assert refused == []
    assert requested and all(r.startswith(url) or r.startswith("data:") for r in requested)
