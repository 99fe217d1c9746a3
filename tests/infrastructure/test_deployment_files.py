"""The Dockerfile and compose file agree with the code (no Docker engine runs here to try them)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import yaml

from api.app import create_app

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "infrastructure" / "Dockerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(
    (ROOT / "infrastructure" / "docker-compose.yml").read_text()
)
MAKEFILE = (ROOT / "Makefile").read_text()


def app_routes() -> set[str]:
    return set(create_app().openapi()["paths"])


def test_dockerfile_serves_the_same_module_as_make_run_with_one_worker() -> None:
    match = re.search(r"uvicorn (\S+):(\S+) ", DOCKERFILE)
    assert match, "the Dockerfile does not start uvicorn"
    module, attribute = match.groups()
    assert f"uvicorn {module}:{attribute}" in MAKEFILE
    assert hasattr(importlib.import_module(module), attribute)
    assert "--workers 1" in DOCKERFILE


def test_dockerfile_runs_as_non_root_and_copies_every_package() -> None:
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.MULTILINE)
    for package in ("agent", "api", "tools", "checkpoints"):
        assert f"COPY {package} ./{package}" in DOCKERFILE


def test_health_checks_use_the_real_health_route_and_port() -> None:
    assert "/health" in app_routes()
    assert "EXPOSE 8000" in DOCKERFILE
    assert "/health" in DOCKERFILE
    service = COMPOSE["services"]["lex"]
    assert "8000:8000" in service["ports"]
    assert "http://127.0.0.1:8000/health" in " ".join(service["healthcheck"]["test"])


def test_compose_keeps_the_database_on_a_named_volume() -> None:
    service = COMPOSE["services"]["lex"]
    volume, _, mount = service["volumes"][0].partition(":")
    assert volume in COMPOSE["volumes"]
    assert service["environment"]["DATABASE_URL"] == f"sqlite:///{mount}/lex.sqlite"
    assert service["build"]["dockerfile"] == "infrastructure/Dockerfile"
