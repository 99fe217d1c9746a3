"""Reads `GET /metrics` the way Prometheus does, for tests that watch the numbers move."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.app_server import OPERATOR


class Scrape:
    """One scrape of `/metrics`: every sample by name and labels.

    Args:
        text: The exposition text.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                self._samples[key] = sample.value

    def value(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """Returns a sample's value, 0 when absent (a counter never incremented)."""
        return self._samples.get((name, frozenset((labels or {}).items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """Returns the sum of a metric's samples whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(
            value
            for (sample, sample_labels), value in self._samples.items()
            if sample == name and wanted <= set(sample_labels)
        )


def scrape(base_url: str) -> Scrape:
    """Scrapes a running server's `/metrics` with the operator's token, as Prometheus does."""
    response = httpx.get(f"{base_url}/metrics", headers=OPERATOR, timeout=10)
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    """Returns how much a metric (summed over matching labels) grew between two scrapes."""
    return after.total(name, **labels) - before.total(name, **labels)
