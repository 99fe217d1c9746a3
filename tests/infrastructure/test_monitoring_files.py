"""The Prometheus scrape config and the Grafana dashboard agree with the metrics Lex exports."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.hosts import HostRules
from api.settings import Settings
from api.telemetry.metrics import LexMetrics

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infrastructure"
COMPOSE: dict[str, Any] = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
SCALED: dict[str, Any] = yaml.safe_load((INFRA / "docker-compose.scale.yml").read_text())
PROMETHEUS: dict[str, Any] = yaml.safe_load((INFRA / "prometheus" / "prometheus.yml").read_text())
PROMETHEUS_SCALED: dict[str, Any] = yaml.safe_load(
    (INFRA / "prometheus" / "prometheus.scale.yml").read_text()
)
NGINX = (INFRA / "nginx.conf").read_text()
DASHBOARD: dict[str, Any] = json.loads((INFRA / "grafana" / "dashboards" / "lex.json").read_text())
METRIC_NAME = re.compile(r"\blex_[a-z_]+\b")
SERIES_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def exported_series() -> set[str]:
    """Every series name Lex's exposition can contain."""
    metrics = LexMetrics.create()
    names = set()
    for family in metrics.registry.collect():
        names.add(family.name)
        names.update(family.name + suffix for suffix in SERIES_SUFFIXES)
    return names


def test_every_dashboard_query_reads_a_metric_lex_exports() -> None:
    exported = exported_series()
    expressions = [t["expr"] for p in DASHBOARD["panels"] for t in p["targets"]]
    used = {name for expr in expressions for name in METRIC_NAME.findall(expr)}
    assert used and used <= exported, used - exported
    families = {name.removesuffix("_total") for name in used}
    for wanted in ("lex_turns", "lex_model_calls", "lex_model_tokens", "lex_bookings"):
        assert wanted in families


def compose_default(value: str) -> str:
    """A compose value with every `${VARIABLE:-default}` replaced by its default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def lex_allows(lex: dict[str, Any], host: str) -> bool:
    """Whether the Lex service, as the compose file configures it, answers for `host`."""
    return HostRules(compose_default(lex["environment"]["ALLOWED_HOSTS"]).split(",")).allows(host)


def assert_scrapes_with_the_operators_token(
    compose: dict[str, Any], job: dict[str, Any], lex: dict[str, Any]
) -> None:
    """Prometheus sends, from a compose secret, the very token Lex reads from it."""
    assert job["authorization"]["type"] == "Bearer"
    token_file = job["authorization"]["credentials_file"]
    secret = token_file.removeprefix("/run/secrets/")
    assert secret in compose["secrets"] and "file" in compose["secrets"][secret]
    assert secret in compose["services"]["prometheus"]["secrets"]
    assert secret in lex["secrets"]
    assert lex["environment"]["ADMIN_TOKEN_FILE"] == token_file
    assert "ADMIN_TOKEN" not in lex["environment"]  # one source of the token, never two
    # Metrics are served (the default) unless a deployment turns them off.
    assert lex["environment"].get("METRICS_ENABLED", "true") == "true"
    assert Settings.model_fields["metrics_enabled"].default is True


def test_prometheus_scrapes_the_lex_service_on_its_port_with_the_operators_token() -> None:
    job = next(j for j in PROMETHEUS["scrape_configs"] if j["job_name"] == "lex")
    assert job["metrics_path"] == "/metrics"
    (target,) = job["static_configs"][0]["targets"]
    host, _, port = target.partition(":")
    lex = COMPOSE["services"][host]
    assert any(published.endswith(f":{port}") for published in lex["ports"])  # container port
    assert_scrapes_with_the_operators_token(COMPOSE, job, lex)
    assert lex_allows(lex, target)  # the Host Prometheus sends
    assert lex_allows(lex, "localhost:8000") and not lex_allows(lex, "rebound.evil.example")


def test_the_scaled_deployment_scrapes_every_replica_and_keeps_metrics_private() -> None:
    job = next(j for j in PROMETHEUS_SCALED["scrape_configs"] if j["job_name"] == "lex")
    (discovery,) = job["dns_sd_configs"]
    (name,) = discovery["names"]
    lex = SCALED["services"][name]
    assert discovery["port"] == int(lex["environment"]["PORT"])
    assert_scrapes_with_the_operators_token(SCALED, job, lex)
    # Each replica is scraped by its address on the compose network (Docker's private ranges).
    for address in ("172.18.0.5:8000", "192.168.16.3:8000", "10.0.1.9:8000"):
        assert lex_allows(lex, address), address
    assert lex_allows(lex, "localhost") and not lex_allows(lex, "rebound.evil.example")
    assert lex["environment"]["PROMETHEUS_MULTIPROC_DIR"] in lex["tmpfs"]
    prometheus_config = SCALED["services"]["prometheus"]["volumes"][0]
    assert prometheus_config.startswith("./prometheus/prometheus.scale.yml:")
    assert "location = /metrics" in NGINX and "X-Request-ID $request_id" in NGINX


@pytest.mark.parametrize("compose", [COMPOSE, SCALED], ids=["single", "scaled"])
def test_compose_mounts_the_monitoring_files_that_exist(compose: dict[str, Any]) -> None:
    for name in ("prometheus", "grafana"):
        service = compose["services"][name]
        assert service["profiles"] == ["monitoring"]
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (INFRA / source).exists(), source
        assert all(port.startswith("127.0.0.1:") for port in service["ports"])


def test_the_image_can_export_spans() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    otel = pyproject["project"]["optional-dependencies"]["otel"]
    assert any(name.startswith("opentelemetry-exporter-otlp-proto-http") for name in otel)
    assert 'pip install ".[otel]"' in (INFRA / "Dockerfile").read_text()
