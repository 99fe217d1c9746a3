"""The page cannot be framed (clickjacking), sniffed, or leak where its visitors go."""

from __future__ import annotations

import httpx


def test_the_page_and_its_files_carry_the_security_headers(lex_url: str) -> None:
    page = httpx.get(f"{lex_url}/", headers={"Accept": "text/html"}, timeout=10)
    script = httpx.get(f"{lex_url}/static/app.js", timeout=10)
    health = httpx.get(f"{lex_url}/health", timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    for response in (page, script, health):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
