"""Weather providers: the deterministic simulation, and Open-Meteo against a local stand-in."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from langchain_core.tools import ToolException

from tools.domain.weather import CONDITIONS, OpenMeteoWeather, SimulatedWeather, WeatherReport

# The whole card sentence, with what the chat page reads from it (docs/wire-contract.md).
CARD_SENTENCE = re.compile(
    r"The weather in (?P<city>[A-Za-z ]+) is (?P<condition>"
    + "|".join(CONDITIONS)
    + r"), (?P<temperature>-?\d+)°C, humidity (?P<humidity>\d+)%, wind (?P<wind>\d+) km/h\."
)

DAY = date(2026, 11, 24)


def assert_card(report: WeatherReport) -> None:
    match = CARD_SENTENCE.fullmatch(report.summary)
    assert match, report.summary
    assert match["city"] == report.city
    assert report.summary.count(" is ") == 1
    assert int(match["temperature"]) == report.temperature_c


@pytest.mark.parametrize(
    "city",
    ["Miami", "new york", "Los Angeles", "São Paulo", "Winston-Salem", "St. Louis", "Zürich"],
)
async def test_simulated_reports_always_fit_the_weather_card(city: str) -> None:
    weather = SimulatedWeather()
    for offset in range(0, 366, 7):
        report = await weather.current(city, DAY + timedelta(days=offset))
        assert_card(report)
        assert 0 <= report.humidity_pct <= 100
        assert 0 <= report.wind_kmh <= 60
        assert report.source == "simulated"


async def test_simulated_city_names_are_tidied_to_ascii_words() -> None:
    weather = SimulatedWeather()

    assert (await weather.current("são paulo", DAY)).city == "Sao Paulo"
    assert (await weather.current("St. Louis", DAY)).city == "St Louis"
    assert (await weather.current("  miami,  FL ", DAY)).city == "Miami"


async def test_simulated_weather_is_deterministic_per_city_and_day() -> None:
    first = await SimulatedWeather().current("Seattle", DAY)
    again = await SimulatedWeather().current(" SEATTLE ", DAY)
    days = {(await SimulatedWeather().current("Seattle", DAY + timedelta(d))) for d in range(30)}

    assert first == again
    assert len({(r.condition, r.temperature_c, r.humidity_pct) for r in days}) > 10


async def test_simulated_temperatures_follow_climate_and_season() -> None:
    weather = SimulatedWeather()
    july, january = date(2026, 7, 15), date(2027, 1, 15)
    week = [timedelta(days=d) for d in range(7)]

    async def mean(city: str, around: date) -> float:
        reports = [await weather.current(city, around + offset) for offset in week]
        return sum(r.temperature_c for r in reports) / len(reports)

    assert await mean("Miami", july) > await mean("Chicago", january) + 15
    assert await mean("Chicago", july) > await mean("Chicago", january) + 10
    assert await mean("Sydney", january) > await mean("Sydney", july)
    snow_days = [
        report
        for city in ("Miami", "Chicago", "Atlantis Springs")
        for offset in range(365)
        if (report := await weather.current(city, DAY + timedelta(days=offset))).condition
        == "snowy"
    ]
    assert snow_days and all(report.temperature_c <= 1 for report in snow_days)
    assert all(report.city != "Miami" for report in snow_days)


@pytest.mark.parametrize(
    ("city", "reason"),
    [
        ("", "give a city"),
        ("   ", "give a city"),
        ("12345", "letters only"),
        ("Paris 75001", "letters only"),
        ("#$%&", "letters only"),
        ("drop table;", "letters only"),
        ("a" * 61, "longer than 60"),
        ("X", "not a city"),
    ],
)
async def test_nonsense_cities_are_refused_clearly(city: str, reason: str) -> None:
    with pytest.raises(ToolException, match=reason):
        await SimulatedWeather().current(city, DAY)


# --- Open-Meteo, against a stand-in HTTP server on a real loopback socket ---


@dataclass
class OpenMeteoStandIn:
    """Serves /v1/search and /v1/forecast the way Open-Meteo does, or fails on demand."""

    base_url: str = ""
    mode: str = "ok"
    current_time: str = "2026-11-24T14:00"
    paths: list[str] = field(default_factory=list)
    queries: list[dict[str, list[str]]] = field(default_factory=list)

    def respond(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes]:
        self.paths.append(path)
        self.queries.append(query)
        if self.mode == "slow":
            time.sleep(1.5)
        if self.mode == "error":
            return 500, b'{"error": true, "reason": "Internal Server Error"}'
        if self.mode == "garbage":
            return 200, b"<html>not json</html>"
        if path == "/v1/search":
            if self.mode == "unknown-place":
                return 200, json.dumps({"generationtime_ms": 0.5}).encode()
            place = {"name": "Miami", "latitude": 25.77427, "longitude": -80.19366}
            return 200, json.dumps({"results": [place]}).encode()
        if path == "/v1/forecast":
            body: dict[str, Any] = {
                "latitude": 25.77,
                "longitude": -80.19,
                "timezone": "America/New_York",
                "current": {
                    "time": self.current_time,
                    "temperature_2m": 27.6,
                    "relative_humidity_2m": 71,
                    "wind_speed_10m": 11.8,
                    "weather_code": 2,
                    "is_day": 1,
                },
                "daily": {
                    "time": [query.get("start_date", [""])[0]],
                    "weather_code": [61],
                    "temperature_2m_max": [26.0],
                    "temperature_2m_min": [19.0],
                    "relative_humidity_2m_mean": [84],
                    "wind_speed_10m_max": [22.4],
                },
            }
            return 200, json.dumps(body).encode()
        return 404, b'{"error": true}'


@pytest.fixture
def open_meteo() -> Iterator[OpenMeteoStandIn]:
    stand_in = OpenMeteoStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            status, body = stand_in.respond(url.path, parse_qs(url.query))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stand_in.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def provider(base_url: str, timeout_s: float = 2.0) -> OpenMeteoWeather:
    return OpenMeteoWeather(
        geocoding_base_url=base_url, forecast_base_url=base_url, timeout_s=timeout_s
    )


async def test_open_meteo_geocodes_then_reads_the_current_weather(
    open_meteo: OpenMeteoStandIn,
) -> None:
    report = await provider(open_meteo.base_url).current("miami", DAY)

    assert report == WeatherReport(
        city="Miami",
        day=DAY,
        condition="cloudy",
        temperature_c=28,
        humidity_pct=71,
        wind_kmh=12,
        source="open-meteo",
    )
    assert report.summary == "The weather in Miami is cloudy, 28°C, humidity 71%, wind 12 km/h."
    assert open_meteo.paths == ["/v1/search", "/v1/forecast"]
    assert open_meteo.queries[0]["name"] == ["miami"]
    forecast = open_meteo.queries[1]
    assert forecast["latitude"] == ["25.77427"]
    assert forecast["longitude"] == ["-80.19366"]
    assert "temperature_2m" in forecast["current"][0]
    assert forecast["start_date"] == ["2026-11-24"]


async def test_open_meteo_can_share_the_callers_http_client(
    open_meteo: OpenMeteoStandIn,
) -> None:
    async with httpx.AsyncClient(timeout=2.0) as client:
        weather = OpenMeteoWeather(
            geocoding_base_url=open_meteo.base_url,
            forecast_base_url=open_meteo.base_url,
            client=client,
        )
        first = await weather.current("Miami", DAY)
        second = await weather.current("Miami", DAY)

    assert first == second
    assert first.source == "open-meteo"
    assert len(open_meteo.paths) == 4


async def test_open_meteo_uses_the_daily_forecast_for_another_day(
    open_meteo: OpenMeteoStandIn,
) -> None:
    later = DAY + timedelta(days=2)

    report = await provider(open_meteo.base_url).current("Miami", later)

    assert (report.condition, report.temperature_c, report.humidity_pct, report.wind_kmh) == (
        "rainy",
        22,
        84,
        22,
    )
    assert open_meteo.queries[1]["start_date"] == [later.isoformat()]


@pytest.mark.parametrize("mode", ["error", "garbage", "unknown-place"])
async def test_open_meteo_failures_fall_back_to_the_simulation(
    open_meteo: OpenMeteoStandIn, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    open_meteo.mode = mode

    with caplog.at_level(logging.WARNING, logger="tools.domain.weather"):
        report = await provider(open_meteo.base_url).current("Miami", DAY)

    assert report == SimulatedWeather().report("Miami", DAY)
    assert "using the fallback provider" in caplog.text
    assert_card(report)


async def test_open_meteo_timeout_falls_back_quickly(
    open_meteo: OpenMeteoStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    open_meteo.mode = "slow"
    started = time.monotonic()

    with caplog.at_level(logging.WARNING, logger="tools.domain.weather"):
        report = await provider(open_meteo.base_url, timeout_s=0.2).current("Miami", DAY)

    assert time.monotonic() - started < 1.0
    assert report.source == "simulated"
    assert "Timeout" in caplog.text


async def test_open_meteo_unreachable_falls_back() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    report = await provider(f"http://127.0.0.1:{closed_port}").current("Dallas", DAY)

    assert report == SimulatedWeather().report("Dallas", DAY)


async def test_open_meteo_refuses_nonsense_without_calling_out(
    open_meteo: OpenMeteoStandIn,
) -> None:
    with pytest.raises(ToolException, match="letters only"):
        await provider(open_meteo.base_url).current("404", DAY)
    assert open_meteo.paths == []


async def test_simulated_weather_can_take_as_long_as_a_live_lookup() -> None:
    slow = SimulatedWeather(delay_s=30)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(slow.current("Miami", DAY), timeout=0.05)
    answered = await SimulatedWeather(delay_s=0.01).current("Miami", DAY)
    assert answered == await SimulatedWeather().current("Miami", DAY)
