"""The Dockerfile and compose file agree with the code (no Docker engine runs here to try them)."""

from __future__ import annotations

import importlib
import json
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


def test_dockerfile_starts_the_same_launcher_as_make_run_with_one_worker() -> None:
    command = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert command, "the Dockerfile has no exec-form CMD"
    assert json.loads(command.group(1))[:3] == ["python", "-m", "api.serve"]
    assert "$(BIN)/python -m api.serve " in MAKEFILE
    launcher = importlib.import_module("api.serve")
    module, _, attribute = launcher.APP.partition(":")
    assert hasattr(importlib.import_module(module), attribute)
    # The launcher reads WORKERS and PORT from the environment the image sets.
    assert "WORKERS=1" in DOCKERFILE and "PORT=8000" in DOCKERFILE


def test_dockerfile_runs_as_non_root_and_copies_every_package() -> None:
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.MULTILINE)
    for package in ("agent", "api", "tools", "checkpoints"):
        assert f"COPY {package} ./{package}" in DOCKERFILE


def test_health_checks_use_the_real_health_route_and_port() -> None:
    assert "/health" in app_routes()
    assert "EXPOSE 8000" in DOCKERFILE
    assert "/health" in DOCKERFILE
    service = COMPOSE["services"]["lex"]
    assert service["ports"] == ["${LEX_PUBLISH:-127.0.0.1:8000}:8000"]  # loopback by default
    assert "http://127.0.0.1:8000/health" in " ".join(service["healthcheck"]["test"])


def test_compose_keeps_the_database_on_a_named_volume() -> None:
    service = COMPOSE["services"]["lex"]
    volume, _, mount = service["volumes"][0].partition(":")
    assert volume in COMPOSE["volumes"]
    assert service["environment"]["DATABASE_URL"] == f"sqlite:///{mount}/lex.sqlite"
    assert service["build"]["dockerfile"] == "infrastructure/Dockerfile"


SCALE: dict[str, Any] = yaml.safe_load(
    (ROOT / "infrastructure" / "docker-compose.scale.yml").read_text()
)
NGINX = (ROOT / "infrastructure" / "nginx.conf").read_text()


def test_scale_compose_shares_postgres_and_redis_and_migrates_first() -> None:
    services = SCALE["services"]
    environment = services["lex"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgresql://")
    assert environment["DATABASE_URL"].rpartition("@")[2].startswith("postgres:5432/")
    assert environment["REDIS_URL"].startswith("redis://redis:6379")
    assert services["migrate"]["command"] == ["lex", "migrate"]
    assert services["migrate"]["environment"] == environment
    assert services["lex"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["lex"]["deploy"]["replicas"] >= 2
    assert "--save" in services["redis"]["command"] and "no" in services["redis"]["command"]


def test_nginx_streams_sse_unbuffered_to_the_least_busy_replica() -> None:
    port = SCALE["services"]["lex"]["environment"]["PORT"]
    assert f"server lex:{port}" in NGINX
    for directive in ("least_conn;", "proxy_buffering off;", "proxy_http_version 1.1;"):
        assert directive in NGINX
    timeout = re.search(r"proxy_read_timeout (\d+)s;", NGINX)
    assert timeout and int(timeout.group(1)) >= 120
    mount = SCALE["services"]["nginx"]["volumes"][0]
    assert mount.startswith("./nginx.conf:")
