"""Weather providers behind `get_weather`: a deterministic simulation and Open-Meteo.

The simulation keeps the assistant working offline and makes tests repeatable; the Open-Meteo
provider gives real data and falls back to the simulation on any failure, so a weather outage
never breaks a conversation about cars.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final, Literal, Protocol, get_args

import httpx
from langchain_core.tools import ToolException

logger = logging.getLogger(__name__)

Condition = Literal[
    "sunny",
    "cloudy",
    "rainy",
    "snowy",
    "clear",
    "overcast",
    "foggy",
    "windy",
    "thunderstorm",
    "hazy",
]
CONDITIONS: Final[tuple[Condition, ...]] = get_args(Condition)
_ISO_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
"""The condition words the weather card understands; every report uses exactly one."""

MAX_CITY_LENGTH: Final = 60


@dataclass(frozen=True)
class WeatherReport:
    """Weather of one city on one day.

    Attributes:
        city: City name in ASCII letters and spaces, as the weather card needs it.
        day: The day the report is for.
        condition: One of `CONDITIONS`.
        temperature_c: Air temperature in whole degrees Celsius.
        humidity_pct: Relative humidity in percent.
        wind_kmh: Wind speed in km/h.
        source: "simulated" or "open-meteo".
    """

    city: str
    day: date
    condition: Condition
    temperature_c: int
    humidity_pct: int
    wind_kmh: int
    source: str = "simulated"

    @property
    def summary(self) -> str:
        """Return the card sentence, e.g. "The weather in Miami is sunny, 30°C, ..."."""
        return (
            f"The weather in {self.city} is {self.condition}, {self.temperature_c}°C, "
            f"humidity {self.humidity_pct}%, wind {self.wind_kmh} km/h."
        )


FORECAST_DAYS_AHEAD: Final = 7
"""How far ahead the weather can be asked for (Open-Meteo forecasts a week well)."""


def forecast_day(text: str, today: date) -> date:
    """Reads the day a forecast is asked for and checks it is within reach.

    Args:
        text: The day as "YYYY-MM-DD".
        today: Today where the weather is asked for.

    Raises:
        ToolException: For a malformed date, a past date, or one beyond the forecast range.
    """
    last = today + timedelta(days=FORECAST_DAYS_AHEAD)
    cleaned = text.strip()
    try:
        day = date.fromisoformat(cleaned) if _ISO_DAY.fullmatch(cleaned) else None
    except ValueError:
        day = None
    if day is None:
        raise ToolException(
            f"'{text}' is not a valid date. Use YYYY-MM-DD, e.g. {today.isoformat()} for today."
        )
    if day < today:
        raise ToolException(
            f"{day.isoformat()} is in the past; the weather can be given from today "
            f"({today.isoformat()}) up to {last.isoformat()}."
        )
    if day > last:
        raise ToolException(
            f"{day.isoformat()} is too far ahead: the forecast reaches {FORECAST_DAYS_AHEAD} "
            f"days, up to {last.isoformat()}. Offer to check closer to the day."
        )
    return day


class WeatherProvider(Protocol):
    """Something that knows the weather of a city on a day."""

    async def current(self, city: str, day: date) -> WeatherReport:
        """Return the weather of `city` on `day`.

        Raises:
            ToolException: When `city` is not something a city could be called.
        """
        ...


_APOSTROPHES = "'\u2019"
_CITY_CHARACTERS = re.compile(rf"[^\W\d_]+(?:[ .,{_APOSTROPHES}-]+[^\W\d_]*)*")


def clean_city(text: str) -> str:
    """Validate a city name and return it tidied for display and lookup.

    Letters of any script, spaces, hyphens, apostrophes and periods are allowed; anything after
    a comma (a state or country) is dropped.

    Args:
        text: The city as the customer or model wrote it.

    Returns:
        The city part, whitespace collapsed, e.g. "Miami" for " miami,  FL ".

    Raises:
        ToolException: For an empty name, more than 60 characters, digits or symbols.
    """
    stripped = " ".join(text.split())
    if not stripped:
        raise ToolException("Please give a city name, for example 'Miami'.")
    if len(stripped) > MAX_CITY_LENGTH:
        raise ToolException(
            f"That is not a city name: it is longer than {MAX_CITY_LENGTH} characters. "
            "Please give just the city, for example 'Chicago'."
        )
    if not _CITY_CHARACTERS.fullmatch(stripped):
        raise ToolException(
            f"'{stripped}' is not a city name: use letters only (no digits or symbols), "
            "for example 'Los Angeles'."
        )
    city = stripped.split(",", 1)[0].strip(f" .{_APOSTROPHES}-")
    if sum(ch.isalpha() for ch in city) < 2:
        raise ToolException(f"'{stripped}' is not a city name. Try for example 'Seattle'.")
    return city


def display_city(city: str) -> str:
    """Return the city in ASCII letters and spaces, capitalized, as the weather card reads it."""
    ascii_text = unicodedata.normalize("NFKD", city).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^A-Za-z]+", " ", ascii_text).split()
    if not words:
        return "your city"
    if all(word.islower() or word.isupper() for word in words):
        words = [word.capitalize() for word in words]
    return " ".join(words)


def _city_key(city: str) -> str:
    return display_city(city).casefold()


@dataclass(frozen=True)
class _Climate:
    latitude: float
    mean_c: float
    seasonal_swing_c: float


# Rough climate normals so the simulated temperature fits the place and the season.
_KNOWN_CLIMATES: Final[dict[str, _Climate]] = {
    "miami": _Climate(25.8, 25.2, 4.5),
    "los angeles": _Climate(34.1, 18.6, 4.5),
    "new york": _Climate(40.7, 13.2, 11.5),
    "chicago": _Climate(41.9, 10.5, 14.0),
    "dallas": _Climate(32.8, 19.5, 10.5),
    "seattle": _Climate(47.6, 11.5, 7.0),
    "denver": _Climate(39.7, 10.5, 11.0),
    "san francisco": _Climate(37.8, 14.5, 3.5),
    "boston": _Climate(42.4, 11.0, 12.0),
    "houston": _Climate(29.8, 21.0, 8.0),
    "phoenix": _Climate(33.4, 24.0, 10.5),
    "atlanta": _Climate(33.7, 17.0, 9.5),
    "las vegas": _Climate(36.2, 20.5, 12.5),
    "toronto": _Climate(43.7, 9.0, 13.0),
    "mexico city": _Climate(19.4, 16.5, 3.0),
    "london": _Climate(51.5, 11.5, 7.0),
    "paris": _Climate(48.9, 12.5, 8.0),
    "berlin": _Climate(52.5, 10.0, 9.5),
    "madrid": _Climate(40.4, 15.0, 10.0),
    "rome": _Climate(41.9, 16.0, 8.5),
    "dubai": _Climate(25.2, 28.0, 8.5),
    "tokyo": _Climate(35.7, 16.0, 10.5),
    "singapore": _Climate(1.3, 27.5, 1.0),
    "sydney": _Climate(-33.9, 18.5, 4.5),
    "rio de janeiro": _Climate(-22.9, 24.0, 3.0),
}
_UNKNOWN_CLIMATE: Final = _Climate(40.0, 13.0, 10.0)

_HUMIDITY_RANGES: Final[dict[Condition, tuple[int, int]]] = {
    "sunny": (35, 65),
    "clear": (30, 60),
    "cloudy": (50, 75),
    "overcast": (60, 85),
    "rainy": (80, 97),
    "foggy": (88, 100),
    "windy": (35, 65),
    "hazy": (40, 70),
    "thunderstorm": (75, 95),
    "snowy": (75, 95),
}


def _condition_weights(temperature_c: float) -> dict[Condition, int]:
    weights: dict[Condition, int] = {
        "sunny": 22,
        "clear": 12,
        "cloudy": 18,
        "overcast": 10,
        "rainy": 12,
        "foggy": 5,
        "windy": 7,
        "hazy": 6,
        "thunderstorm": 4,
        "snowy": 0,
    }
    if temperature_c <= 1:
        weights.update({"snowy": 25, "rainy": 4, "hazy": 2, "thunderstorm": 0})
    elif temperature_c < 15:
        weights["thunderstorm"] = 0
    return weights


class SimulatedWeather:
    """Believable, deterministic weather: the same city and day always give the same report.

    A hash of the normalized city name and the date seeds the draw; the temperature follows the
    season and the city's climate where known (a mid-latitude climate otherwise).

    Args:
        delay_s: Pause before each answer, as a live lookup takes (0: none).
    """

    def __init__(self, delay_s: float = 0.0) -> None:
        self._delay_s = delay_s

    async def current(self, city: str, day: date) -> WeatherReport:
        """Return the simulated weather of `city` on `day`.

        Raises:
            ToolException: When `city` is not a plausible city name.
        """
        name = clean_city(city)
        if self._delay_s > 0:
            await asyncio.sleep(self._delay_s)
        return self.report(name, day)

    def report(self, city: str, day: date) -> WeatherReport:
        """Compute the report synchronously for an already validated city name."""
        key = _city_key(city)
        digest = hashlib.sha256(f"{key}|{day.isoformat()}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        climate = _KNOWN_CLIMATES.get(key, _UNKNOWN_CLIMATE)
        # Coldest around mid January in the north, mid July in the south.
        phase = 2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25
        hemisphere = 1 if climate.latitude >= 0 else -1
        seasonal = climate.mean_c - hemisphere * climate.seasonal_swing_c * math.cos(phase)
        temperature = seasonal + rng.uniform(-3.0, 3.0)
        weights = _condition_weights(temperature)
        condition = rng.choices(list(weights), weights=list(weights.values()))[0]
        low, high = _HUMIDITY_RANGES[condition]
        if condition == "windy":
            wind = rng.randint(32, 55)
        elif condition == "thunderstorm":
            wind = rng.randint(20, 45)
        else:
            wind = rng.randint(4, 24)
        return WeatherReport(
            city=display_city(city),
            day=day,
            condition=condition,
            temperature_c=round(temperature),
            humidity_pct=rng.randint(low, high),
            wind_kmh=wind,
        )


DEFAULT_GEOCODING_BASE_URL: Final = "https://geocoding-api.open-meteo.com"
DEFAULT_FORECAST_BASE_URL: Final = "https://api.open-meteo.com"
_WINDY_KMH: Final = 40


def condition_from_wmo(code: int, wind_kmh: float, is_day: bool = True) -> Condition:
    """Map a WMO weather code (as Open-Meteo reports it) to one card condition word."""
    if code >= 95:
        return "thunderstorm"
    if code in (71, 73, 75, 77, 85, 86):
        return "snowy"
    if 51 <= code <= 82:
        return "rainy"
    if code in (45, 48):
        return "foggy"
    if wind_kmh >= _WINDY_KMH:
        return "windy"
    if code == 3:
        return "overcast"
    if code == 2:
        return "cloudy"
    if code in (4, 5, 6, 10):
        return "hazy"
    return "sunny" if is_day else "clear"


class OpenMeteoWeather:
    """Real weather from Open-Meteo (geocoding, then forecast), no API key needed.

    Any failure (network, timeout, HTTP error, unknown city, odd payload) is logged and answered by
    the fallback provider instead, so the customer still gets an answer.
    """

    def __init__(
        self,
        *,
        geocoding_base_url: str = DEFAULT_GEOCODING_BASE_URL,
        forecast_base_url: str = DEFAULT_FORECAST_BASE_URL,
        timeout_s: float = 3.0,
        fallback: WeatherProvider | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        """Configure the provider.

        Args:
            geocoding_base_url: Base URL of the geocoding API; "/v1/search" is appended.
            forecast_base_url: Base URL of the forecast API; "/v1/forecast" is appended.
            timeout_s: Budget for one whole lookup (both requests together).
            fallback: Provider used when Open-Meteo fails; the simulation unless given.
            client: Shared HTTP client owned by the caller; a short-lived one per lookup otherwise.
        """
        self._search_url = geocoding_base_url.rstrip("/") + "/v1/search"
        self._forecast_url = forecast_base_url.rstrip("/") + "/v1/forecast"
        self._timeout_s = timeout_s
        self._fallback: WeatherProvider = fallback or SimulatedWeather()
        self._client = client

    async def current(self, city: str, day: date) -> WeatherReport:
        """Return the weather of `city` on `day`, from Open-Meteo or else the fallback.

        Raises:
            ToolException: When `city` is not a plausible city name (no request is made).
        """
        name = clean_city(city)
        try:
            async with asyncio.timeout(self._timeout_s):
                if self._client is not None:
                    return await self._lookup(self._client, name, day)
                async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                    return await self._lookup(client, name, day)
        except Exception as exc:  # any failure: the fallback answers instead
            logger.warning(
                "Open-Meteo lookup for %r on %s failed (%s: %s); using the fallback provider",
                name,
                day,
                type(exc).__name__,
                exc,
            )
            return await self._fallback.current(name, day)

    async def _lookup(self, client: httpx.AsyncClient, name: str, day: date) -> WeatherReport:
        response = await client.get(
            self._search_url, params={"name": name, "count": 1, "language": "en", "format": "json"}
        )
        response.raise_for_status()
        results = response.json().get("results") or []
        if not results:
            raise LookupError(f"no place called {name!r}")
        place: dict[str, Any] = results[0]
        response = await client.get(
            self._forecast_url,
            params={
                "latitude": place["latitude"],
                "longitude": place["longitude"],
                "current": "temperature_2m,relative_humidity_2m,wind_speed_10m,weather_code,is_day",
                "daily": (
                    "weather_code,temperature_2m_max,temperature_2m_min,"
                    "relative_humidity_2m_mean,wind_speed_10m_max"
                ),
                "start_date": day.isoformat(),
                "end_date": day.isoformat(),
                "timezone": "auto",
                "wind_speed_unit": "kmh",
            },
        )
        response.raise_for_status()
        forecast: dict[str, Any] = response.json()
        city = display_city(str(place.get("name") or name))
        current: dict[str, Any] = forecast.get("current") or {}
        if str(current.get("time", "")).startswith(day.isoformat()):
            wind = float(current["wind_speed_10m"])
            return WeatherReport(
                city=city,
                day=day,
                condition=condition_from_wmo(
                    int(current["weather_code"]), wind, bool(current.get("is_day", 1))
                ),
                temperature_c=round(float(current["temperature_2m"])),
                humidity_pct=round(float(current["relative_humidity_2m"])),
                wind_kmh=round(wind),
                source="open-meteo",
            )
        daily: dict[str, Any] = forecast["daily"]
        wind = float(daily["wind_speed_10m_max"][0])
        mean_temperature = (
            float(daily["temperature_2m_max"][0]) + float(daily["temperature_2m_min"][0])
        ) / 2
        return WeatherReport(
            city=city,
            day=day,
            condition=condition_from_wmo(int(daily["weather_code"][0]), wind),
            temperature_c=round(mean_temperature),
            humidity_pct=round(float(daily["relative_humidity_2m_mean"][0])),
            wind_kmh=round(wind),
            source="open-meteo",
        )
