"""What tells an attacker how Lex works or how busy it is belongs to the operator alone.

`/openapi.json` (every route and field, the operator's included) and `/metrics` (turns,
failures, models, routes) answer only the operator's token; the interactive `/docs` page does
not exist unless a developer turns it on, and then loads nothing from other sites.
"""

from __future__ import annotations

import re

import httpx
import pytest

from api.security_headers import CONTENT_SECURITY_POLICY
from tests.security.attacks import ATTACKER_HEADERS
from tests.support.app_server import OPERATOR, ServerFactory

WRONG_TOKEN = {"Authorization": "Bearer not-the-operators-token"}


@pytest.mark.parametrize("path", ["/openapi.json", "/metrics"])
def test_the_schema_and_the_metrics_answer_only_the_operator(lex_url: str, path: str) -> None:
    anonymous = httpx.get(f"{lex_url}{path}", headers=ATTACKER_HEADERS, timeout=10)
    guessed = httpx.get(f"{lex_url}{path}", headers=WRONG_TOKEN, timeout=10)
    operator = httpx.get(f"{lex_url}{path}", headers=OPERATOR, timeout=10)
    for refused in (anonymous, guessed):
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "lex_turns" not in refused.text and "/sessions" not in refused.text
    assert operator.status_code == 200


def test_the_operator_reads_the_whole_schema(lex_url: str) -> None:
    schema = httpx.get(f"{lex_url}/openapi.json", headers=OPERATOR, timeout=10).json()
    assert {"/query", "/sessions", "/sessions/{session_id}", "/health"} <= set(schema["paths"])


@pytest.mark.parametrize(
    "path", ["/docs", "/redoc", "/docs/swagger-ui/swagger-ui-bundle.js", "/docs/page/docs.js"]
)
def test_no_docs_page_by_default(lex_url: str, path: str) -> None:
    for headers in (ATTACKER_HEADERS, OPERATOR):
        assert httpx.get(f"{lex_url}{path}", headers=headers, timeout=10).status_code == 404


def test_the_development_docs_page_loads_only_its_own_files(lex_server: ServerFactory) -> None:
    with lex_server(api_docs=True) as base_url:
        page = httpx.get(f"{base_url}/docs", timeout=10)
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        files = {src: httpx.get(f"{base_url}/{src}", timeout=10) for src in sources}
        schema = httpx.get(f"{base_url}/openapi.json", headers=ATTACKER_HEADERS, timeout=10)
        redoc = httpx.get(f"{base_url}/redoc", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in page.text  # no inline script: the policy allows none
    assert "docs/swagger-ui/swagger-ui-bundle.js" in sources
    for src, response in files.items():
        assert not src.startswith(("http:", "https:", "//")), src
        assert response.status_code == 200, src
    assert schema.status_code == 401  # the page asks for the operator's token to read it
    assert redoc.status_code == 404
