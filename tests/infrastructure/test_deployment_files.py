"""The Dockerfile and compose file agree with the code (no Docker engine runs here to try them)."""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import yaml

from api.app import create_app
from tests.support.lex_process import LexProcess, lex_env
from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "infrastructure" / "Dockerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(
    (ROOT / "infrastructure" / "docker-compose.yml").read_text()
)
MAKEFILE = (ROOT / "Makefile").read_text()


def app_routes() -> set[str]:
    return set(create_app().openapi()["paths"])


def image_command() -> list[str]:
    """The Dockerfile's CMD: `sh -c "exec <command>"`, so that UVICORN_LIMITS is expanded."""
    command = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert command, "the Dockerfile has no CMD in JSON form"
    shell, flag, line = json.loads(command.group(1))
    assert (shell, flag) == ("sh", "-c") and line.startswith("exec ")
    return [shell, flag, line]


def test_dockerfile_starts_the_same_launcher_as_make_run_with_one_worker() -> None:
    assert shlex.split(image_command()[2])[1:4] == ["python", "-m", "api.serve"]
    assert "$(BIN)/python -m api.serve " in MAKEFILE
    launcher = importlib.import_module("api.serve")
    module, _, attribute = launcher.APP.partition(":")
    assert hasattr(importlib.import_module(module), attribute)
    # The launcher reads WORKERS and PORT from the environment the image sets.
    assert "WORKERS=1" in DOCKERFILE and "PORT=8000" in DOCKERFILE


def test_dockerfile_caps_connections_and_keep_alive_as_make_run_does() -> None:
    make_limits = re.search(r"^UVICORN_LIMITS \?= (.+)$", MAKEFILE, re.MULTILINE)
    image_limits = re.search(r'^ENV UVICORN_LIMITS="(.+)"$', DOCKERFILE, re.MULTILINE)
    assert make_limits and image_limits
    assert image_limits.group(1) == make_limits.group(1).strip()
    assert "--limit-concurrency" in image_limits.group(1)
    assert "--timeout-keep-alive" in image_limits.group(1)


def test_the_image_command_applies_the_limits_it_is_given(tmp_path: Path) -> None:
    """The CMD's own shell line, run here: UVICORN_LIMITS reaches uvicorn."""
    shell, flag, line = image_command()
    assert "${UVICORN_LIMITS}" in line
    port = free_port()
    settings = {
        "PORT": str(port),
        "WORKERS": "1",
        "UVICORN_LIMITS": "--limit-concurrency 3 --timeout-keep-alive 5",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'lex.sqlite'}",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    log = tmp_path / "lex.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [shell, flag, line.replace("--host 0.0.0.0", "--host 127.0.0.1")],
            cwd=tmp_path,
            env=lex_env(settings),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = LexProcess("image-command", port, process, log)
    try:
        server.wait_healthy()
        with ExitStack() as stack:
            for _ in range(3):  # idle connections count against --limit-concurrency
                stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            refused = httpx.get(f"{server.url}/health", timeout=5)
        assert refused.status_code == 503
        assert server.healthy()
    finally:
        server.stop()


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
    # Set once for the server, so the streams of /query and /sessions/{id}/stream wait as long.
    timeouts = re.findall(r"proxy_read_timeout (\d+)s;", NGINX)
    assert len(timeouts) == 1 and int(timeouts[0]) >= 120
    mount = SCALE["services"]["nginx"]["volumes"][0]
    assert mount.startswith("./nginx.conf:")


def nginx_seconds(directive: str) -> int:
    found = re.findall(rf"^\s*{directive} (\d+)s;", NGINX, re.MULTILINE)
    assert len(found) == 1, directive
    return int(found[0])


def test_nginx_stops_slow_clients_quickly_and_caps_each_address() -> None:
    assert nginx_seconds("client_header_timeout") <= 15
    assert nginx_seconds("client_body_timeout") <= 15
    assert nginx_seconds("keepalive_timeout") <= 30
    assert nginx_seconds("send_timeout") <= 60
    assert "limit_conn_zone $binary_remote_addr zone=lex_per_address" in NGINX
    assert re.search(r"^\s*limit_conn lex_per_address \d+;", NGINX, re.MULTILINE)
    query = re.search(r"location = /query \{(.*?)\}", NGINX, re.DOTALL)
    assert query and "limit_req zone=lex_messages" in query.group(1)
    assert "proxy_read_timeout" not in query.group(1)  # the long server-wide value holds
    assert "proxy_set_header Host $http_host;" in NGINX  # Lex checks it against ALLOWED_HOSTS
    environment = SCALE["services"]["lex"]["environment"]
    assert "ALLOWED_HOSTS" in environment


def test_every_published_port_of_the_scaled_deployment_is_loopback_by_default() -> None:
    services = SCALE["services"].values()
    published = [port for service in services for port in service.get("ports", [])]
    assert "${LEX_PUBLISH:-127.0.0.1:8000}:8000" in published
    assert all(port.removeprefix("${LEX_PUBLISH:-").startswith("127.0.0.1:") for port in published)
