"""Service configuration, read from the environment and an optional `.env` file.

Nothing is required: with no variables set the service runs on the offline model and a local
SQLite file, so a fresh clone answers at once. Settings are built by `create_app`, never at import.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.hosts import AddressSet
from api.rate_limits import parse_rate, parse_rates
from api.telemetry.logs import LogFormat
from api.turns.coordination.base import OnBusy
from checkpoints.saver import SQLITE_URL_PREFIX, sqlite_path

DEFAULT_CORS_ORIGINS = "http://localhost:3000,http://127.0.0.1:3000"
"""The provided chat frontend's origins."""
DEFAULT_ALLOWED_HOSTS = "localhost,127.0.0.1,[::1]"
"""The names a service on this machine is reached by; a deployment adds its own."""
DEFAULT_DATA_DIR = Path("data")
DEFAULT_BOOKING_RATE_LIMIT = "5/hour;20/day"
"""Bookings one client may make: above one customer's needs (three held test drives and a couple
of moves in an hour), and far below what a client filling the dealerships' days needs."""
DEFAULT_SESSION_TTL_DAYS = 120
"""Idle days before a conversation is deleted: past the 90-day booking horizon, so a conversation
outlives every test drive booked in it."""

ModelProvider = Literal["auto", "groq", "offline"]
WeatherProviderName = Literal["simulated", "open-meteo"]
ReasoningEffort = Literal["low", "medium", "high"]
NO_FALLBACKS = "none"
"""MODEL_FALLBACKS value that turns fallbacks off."""


class Settings(BaseSettings):
    """Every knob of the service; each field is the upper-case environment variable of its name."""

    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", protected_namespaces=()
    )

    groq_api_key: SecretStr | None = Field(
        default=None, description="Groq API key; without it the offline model answers."
    )
    groq_api_base: str | None = Field(
        default=None, description="Groq base URL (a stand-in server in tests)."
    )
    model_provider: ModelProvider = Field(
        default="auto",
        description="auto: Groq when a key is set, else offline; groq; offline.",
    )
    model_name: str | None = Field(
        default=None,
        description="Groq model id; unset: the first served of Llama 3.3 70B, gpt-oss-120b, "
        "gpt-oss-20b, ... A retired or unserved id is replaced by a served one.",
    )
    model_strict: bool = Field(
        default=False, description="Answer only with MODEL_NAME, never a substitute."
    )
    reasoning_effort: ReasoningEffort = Field(
        default="low", description="How hard gpt-oss models reason (low answers fastest)."
    )
    model_temperature: float = Field(default=0.5, ge=0, le=2, description="Sampling temperature.")
    model_max_tokens: int = Field(
        default=2048, ge=64, description="Most tokens of one model answer, reasoning included."
    )
    model_recheck_interval_s: float = Field(
        default=3600.0,
        ge=0,
        description="How often the served Groq models are listed again (0: only at startup).",
    )
    model_timeout_s: float = Field(default=30.0, gt=0, description="Timeout of one Groq call.")
    model_max_retries: int = Field(
        default=2, ge=0, description="Retries of 429, 5xx, timeouts inside the Groq client."
    )
    model_fallbacks: str = Field(
        default="",
        description="Comma-separated Groq model ids tried in order when one fails; unset: "
        "served models of the preference chain; none: no fallbacks.",
    )
    tool_use_failed_attempts: int = Field(
        default=3, ge=1, description="Model calls tried when Groq answers 400 tool_use_failed."
    )
    context_tokens: int = Field(
        default=8000, ge=500, description="Token budget of the history sent to the model."
    )
    checkpoint_durability: Literal["async", "exit"] = Field(
        default="async",
        description="async: a checkpoint after every step (steps in Studio, crash-safe input); "
        "exit: one per turn (about half the storage; a crash mid-turn loses that turn).",
    )
    turn_timeout_s: float = Field(default=90.0, gt=0, description="Deadline of a whole turn.")
    on_busy: OnBusy = Field(
        default="reject",
        description="A message for a session still answering: reject (409) or enqueue.",
    )
    max_query_chars: int = Field(default=4000, ge=1, description="Longest accepted message.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest request body.")
    shutdown_grace_s: float = Field(
        default=10.0, ge=0, description="How long running turns may finish at shutdown."
    )
    offline_token_delay_s: float = Field(
        default=0.0, ge=0, description="Pause between offline-model tokens (demos)."
    )
    database_url: str = Field(
        default="sqlite:///data/lex.sqlite",
        description="sqlite:///relative, sqlite:////abs, or postgresql://user@host/db.",
    )
    database_pool_size: int = Field(
        default=10, ge=1, description="Most Postgres connections one process holds."
    )
    database_pool_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="How long a request waits for a Postgres connection before it fails (503, "
        "or a retryable error in a running turn): the database is down or every connection busy.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0: running turns shared by every process (required with "
        "more than one); unset: kept in this process.",
    )
    workers: int = Field(
        default=1,
        ge=1,
        description="Worker processes of `make run` and the container; above 1 needs Postgres "
        "and Redis.",
    )
    port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        description="Port `python -m api.serve` (make run, the image) listens on (--port wins).",
    )
    redis_key_prefix: str = Field(default="lex:", description="Prefix of every Redis key.")
    turn_lease_s: float = Field(
        default=3.0,
        gt=0,
        description="With Redis: a turn whose process stops renewing its lease for this long is "
        "closed with a retryable replica_lost error.",
    )
    finished_turn_ttl_s: int = Field(
        default=3600, ge=1, description="With Redis: how long a finished turn can be rejoined."
    )
    cors_origins: str = Field(
        default=DEFAULT_CORS_ORIGINS,
        description="Comma-separated origins allowed to call POST /query from a browser (never "
        "the /sessions routes); the chat frontend's by default.",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="The operator's token; unset: one is made at first start and kept in "
        "DATA_DIR/admin-token (owner-only).",
    )
    admin_token_file: Path | None = Field(
        default=None,
        description="A file holding the operator's token (a Docker secret shared with "
        "Prometheus); instead of ADMIN_TOKEN, not with it.",
    )
    allowed_hosts: str = Field(
        default=DEFAULT_ALLOWED_HOSTS,
        description="Comma-separated host names (Host header) the service answers for: names, "
        "*.domain, addresses, address ranges (10.0.0.0/8); other hosts get 400. *: any host.",
    )
    api_docs: bool = Field(
        default=False,
        description="Serve the interactive API page on /docs (development): Swagger UI from "
        "local files, the schema it reads still the operator's.",
    )
    session_binding_key: SecretStr | None = Field(
        default=None,
        description="Key of the hash that binds a client's session id to that client; unset: one "
        "is made at first start and kept in DATA_DIR/session-binding-key. Replicas must share it.",
    )
    customer_token_secret: SecretStr | None = Field(
        default=None,
        description="HS256 key of the customer tokens (JWT, `sub` = customer) a dealer's login "
        "system issues; unset: bookings always belong to the session.",
    )
    data_dir: str | None = Field(
        default=None,
        description="Where the generated admin token and binding key are kept; default: the "
        "folder of the SQLite file, else ./data.",
    )
    query_rate_limit: str = Field(
        default="30/minute",
        description="Messages one client (address) may send to POST /query, e.g. 30/minute; "
        "none: no limit. The operator is not limited.",
    )
    session_create_rate_limit: str = Field(
        default="10/minute",
        description="Sessions one client (address) may make with POST /sessions, e.g. 10/minute; "
        "none: no limit. The operator is not limited.",
    )
    session_turn_limit: str = Field(
        default="120/hour", description="Turns one session may run, e.g. 120/hour; none: no limit."
    )
    daily_token_budget: int = Field(
        default=10_000_000,
        ge=0,
        description="Model tokens per day over all sessions; past it Lex answers politely without "
        "calling the model. 0: no budget.",
    )
    booking_rate_limit: str = Field(
        default=DEFAULT_BOOKING_RATE_LIMIT,
        description="Test drives one client (address) may book, e.g. 5/hour, or several windows "
        "joined by ';' (5/hour;20/day); only confirmed bookings and moves count; none: no limit. "
        "The operator is not limited.",
    )
    max_active_bookings: int = Field(
        default=3,
        ge=0,
        description="Upcoming test drives one customer (a signed customer token's, else the "
        "conversation's) may hold at once; a move within the cap always works. 0: no cap.",
    )
    max_running_turns: int = Field(
        default=64,
        ge=1,
        description="Turns one process runs at once; more get 503 with Retry-After.",
    )
    rate_limit_storage_url: str | None = Field(
        default=None,
        description="Where the limits are counted: memory://, or redis://... (shared by "
        "replicas); default: REDIS_URL when set, else memory.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or ranges (10.0.0.0/8) of reverse proxies whose "
        "X-Forwarded-For is believed; empty: the peer address is the client's.",
    )
    timezone: str = Field(
        default="America/New_York", description="Timezone of 'today' in the system prompt."
    )
    weather_provider: WeatherProviderName = Field(
        default="simulated", description="simulated, or open-meteo for live weather."
    )
    simulated_weather_delay_s: float = Field(
        default=0.0,
        ge=0,
        le=60,
        description="Pause of the simulated weather before it answers, as a live lookup takes "
        "(demos and tests of a tool call in progress).",
    )
    log_level: str = Field(default="INFO", description="Root log level.")
    log_format: LogFormat = Field(
        default="text", description="text lines, or json: one JSON object per line."
    )
    log_customer_text: bool = Field(
        default=False,
        description="Let customer text reach the logs (library bodies at DEBUG, the message on "
        "the turn line at DEBUG). Off: never, at any level.",
    )
    metrics_enabled: bool = Field(
        default=True,
        description="Serve GET /metrics (Prometheus) to the operator's token; false: no route.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        description="OpenTelemetry collector (OTLP/HTTP, e.g. http://collector:4318): spans of "
        "requests, turns, model and tool calls. Unset: no spans.",
    )
    otel_service_name: str = Field(default="lex", description="service.name of the spans.")
    langsmith_api_key: SecretStr | None = Field(
        default=None, description="LangSmith key: every turn traced to LangSmith. Unset: off."
    )
    langsmith_project: str | None = Field(default=None, description="LangSmith project.")
    langsmith_endpoint: str | None = Field(default=None, description="LangSmith API URL.")
    studio_step_turns: int = Field(
        default=20,
        ge=1,
        description="Newest turns of each session that keep a checkpoint per step (Studio's "
        "step-by-step view); older turns keep their end only (SQLite).",
    )
    session_ttl_days: float = Field(
        default=DEFAULT_SESSION_TTL_DAYS,
        ge=0,
        description="Sessions inactive this many days are deleted with their history "
        "(bookings stay); 0 keeps them forever.",
    )
    retention_interval_s: float = Field(
        default=300.0,
        gt=0,
        description="How often expired sessions are deleted and disk space given back.",
    )
    session_history_limit: int = Field(
        default=2000, ge=1, description="Most checkpoints read to show one session's transcript."
    )

    @field_validator("admin_token_file")
    @classmethod
    def _one_admin_token_source(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # A field validator (admin_token is validated before it): the error names this variable,
        # and describe_invalid never repeats the value of a variable named like a secret.
        if value is not None and info.data.get("admin_token") is not None:
            raise ValueError("set ADMIN_TOKEN or ADMIN_TOKEN_FILE, not both")
        return value

    @field_validator("query_rate_limit", "session_create_rate_limit", "session_turn_limit")
    @classmethod
    def _rate_parses(cls, value: str) -> str:
        parse_rate(value)  # a mistyped rate is refused at startup, in one line
        return value

    @field_validator("booking_rate_limit")
    @classmethod
    def _rates_parse(cls, value: str) -> str:
        parse_rates(value)
        return value

    @field_validator("allowed_hosts", "trusted_proxies")
    @classmethod
    def _address_ranges_parse(cls, value: str) -> str:
        # A mistyped range is refused at startup, not on every request.
        AddressSet(part for part in value.split(",") if "/" in part)
        return value

    @property
    def allowed_host_list(self) -> list[str]:
        """The host names the service answers for, as a list."""
        return [host.strip() for host in self.allowed_hosts.split(",") if host.strip()]

    @property
    def model_fallback_list(self) -> list[str] | None:
        """The configured fallback Groq model ids in order; None when unset (the default chain)."""
        if not self.model_fallbacks.strip():
            return None
        if self.model_fallbacks.strip().lower() == NO_FALLBACKS:
            return []
        return [name.strip() for name in self.model_fallbacks.split(",") if name.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        """The allowed CORS origins as a list."""
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @cached_property
    def trusted_proxy_list(self) -> AddressSet:
        """The addresses of the reverse proxies whose forwarding headers are believed."""
        return AddressSet(self.trusted_proxies.split(","))

    @property
    def data_path(self) -> Path:
        """The folder of the generated secrets: DATA_DIR, else the SQLite file's, else ./data."""
        if self.data_dir:
            return Path(self.data_dir)
        if self.database_url.startswith(SQLITE_URL_PREFIX):
            return sqlite_path(self.database_url).parent
        return DEFAULT_DATA_DIR

    @property
    def limits_storage_url(self) -> str:
        """Where the abuse limits are counted: the setting, else Redis when used, else memory."""
        return self.rate_limit_storage_url or self.redis_url or "memory://"


class SettingsError(Exception):
    """Configuration the service cannot start with, said in a few lines for the operator."""


SECRET_WORDS = ("key", "token", "secret", "password")
"""A variable whose name holds one of these never has its value repeated in an error."""


def load_settings() -> Settings:
    """Reads the settings for the service, refusing what it could not run with.

    Raises:
        SettingsError: naming each bad variable and what it accepts (never a secret's value).
    """
    try:
        settings = Settings()
    except ValidationError as error:
        raise SettingsError(describe_invalid(error)) from None
    if settings.model_provider == "groq" and settings.groq_api_key is None:
        raise SettingsError(
            "MODEL_PROVIDER=groq needs GROQ_API_KEY; set the key, or MODEL_PROVIDER=auto to "
            "answer with the offline model when there is none"
        )
    return settings


def describe_invalid(error: ValidationError) -> str:
    """One line per invalid variable: its environment name, what is wrong, the value given."""
    lines = ["invalid settings:"]
    for problem in error.errors():
        name = "_".join(str(part) for part in problem["loc"]).upper() or "settings"
        line = f"  {name}: {problem['msg']}"
        if not any(word in name.lower() for word in SECRET_WORDS) and "input" in problem:
            line += f" (got {problem['input']!r})"
        lines.append(line)
    return "\n".join(lines)
