"""Fuzzes every operation of the OpenAPI schema: whatever a client sends, never a 5xx.

Schemathesis generates valid and invalid requests from the app's own schema (bodies, paths,
query strings, headers); each one goes to a real server on a loopback port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.case import Case

from api.app import create_app
from tests.support.app_server import OPERATOR, fixed_clock, isolated_settings
from tests.support.live_server import serve

EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(isolated_settings(tmp_path, on_busy="enqueue"), clock=fixed_clock)
    with serve(app) as url:
        yield url


def operations(base: str) -> list[schemathesis.APIOperation]:  # type: ignore[name-defined]
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", headers=OPERATOR)
    return [result.ok() for result in schema.get_all_operations()]


def test_no_request_makes_the_server_fail(base_url: str) -> None:
    checked: list[str] = []
    for operation in operations(base_url):
        strategy = operation.as_strategy()

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, data=st.data())
        def no_server_error(case: Case, data: st.DataObject) -> None:
            response = case.call(base_url=base_url, timeout=30)
            assert response.status_code < 500, (case.as_curl_command(), response.text)

        no_server_error()
        checked.append(operation.label)
    assert "POST /query" in checked
