"""Debian's nginx running the shipped `infrastructure/nginx.conf`, in front of loopback servers.

The test render changes only what a test must: the upstream servers, the listening address,
and the values of directives a test names (a 1 s timeout instead of 10 s, so a test takes
seconds); each named directive must be in the shipped file, so the test checks what ships.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.engines import running_in_ci
from tests.support.live_server import free_port

NGINX_CONF = Path(__file__).resolve().parents[2] / "infrastructure" / "nginx.conf"


def nginx_binary() -> str:
    """The nginx executable; skips the test where it is missing (fails it under CI=true)."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    if found is None:
        message = "nginx is not installed (make test installs Debian's nginx where it may)"
        if running_in_ci():
            pytest.fail(f"{message}; CI=true: a missing proxy fails the run", pytrace=False)
        pytest.skip(message)
    return found


def render_site(upstream_ports: list[int], port: int, directives: dict[str, str]) -> str:
    """The shipped site with its upstreams on `upstream_ports`, listening on `port`.

    Args:
        upstream_ports: Loopback ports of the servers behind nginx.
        port: Loopback port nginx listens on.
        directives: New values of directives of the shipped file, by name (each replaced where
            it stands, with its arguments, e.g. `{"limit_conn": "lex_per_address 3"}`).
    """
    servers = "\n    ".join(
        f"server 127.0.0.1:{upstream} max_fails=2 fail_timeout=5s;" for upstream in upstream_ports
    )
    site = NGINX_CONF.read_text()
    site = re.sub(r"server lex:\d+[^;]*;", servers, site).replace(
        "listen 8000;", f"listen 127.0.0.1:{port};"
    )
    for name, value in directives.items():
        site, count = re.subn(rf"(?m)^(\s*){name}\s+[^;]*;", rf"\g<1>{name} {value};", site)
        assert count, f"the shipped nginx.conf has no {name} directive"
    return site


@contextmanager
def nginx_in_front(upstream_ports: list[int], workdir: Path, **directives: str) -> Iterator[str]:
    """Runs nginx with the shipped site in front of `upstream_ports`; yields its base URL."""
    port = free_port()
    site = render_site(upstream_ports, port, directives)
    temp = workdir / "nginx"
    temp.mkdir(parents=True, exist_ok=True)
    paths = " ".join(
        f"{kind}_temp_path {temp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = temp / "nginx.conf"
    config.write_text(
        f"daemon off; pid {temp / 'nginx.pid'}; error_log {temp / 'error.log'} warn;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{ access_log off; {paths}\n{site}\n}}\n"
    )
    process = subprocess.Popen(
        [nginx_binary(), "-c", str(config), "-p", str(temp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {process.stderr!r}") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
