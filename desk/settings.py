"""Configuration of the desk, read from the environment (`settingsupport.environment`).

Every URL and secret comes from the environment (`.env.example` documents the defaults). A
missing secret fails fast at start-up instead of silently becoming "".
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, validator

from contract.conversation_events import DEFAULT_EXCHANGE, DEFAULT_QUEUE
from settingsupport.environment import (
    EnvironmentSettings,
    port_field,
    positive_field,
    secret_field,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: What DESK_BUS_URL may start with (redis-py's URL schemes).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def default_database_url() -> str:
    """The demo database: a SQLite file under `var/`."""
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'desk.db'}"


def default_documents_dir() -> Path:
    """Where customers' documents are kept by default: `var/documents`."""
    return PROJECT_ROOT / "var" / "documents"


def default_service_levels_path() -> Path:
    """The shipped claim service levels: `content/service_levels.yml`."""
    return PROJECT_ROOT / "content" / "service_levels.yml"


class DeskDatabaseSettings(EnvironmentSettings):
    """Where the desk's database is: all the seed command and the migrations need."""

    database_url: str = Field(default_factory=default_database_url, env="DESK_DATABASE_URL")


class DemoSeedSettings(DeskDatabaseSettings):
    """What `python -m desk.seed` reads: the database and the demo agents' password."""

    demo_password: str = secret_field("DESK_DEMO_PASSWORD")


class DeskSettings(DeskDatabaseSettings):
    """Everything the desk reads from its environment."""

    handoff_secret: str = secret_field("HANDOFF_SECRET")
    rasa_auth_token: str = secret_field("RASA_AUTH_TOKEN")
    rasa_url: str = Field("http://127.0.0.1:5005", env="RASA_URL")
    host: str = Field("127.0.0.1", env="DESK_HOST")
    port: int = port_field(8080, "DESK_PORT")
    session_hours: float = positive_field(12.0, "DESK_SESSION_HOURS")
    claim_timeout_seconds: float = positive_field(120.0, "CLAIM_TIMEOUT_SECONDS")
    # Per request to Rasa (HTTP API and the web chat's notify route).
    rasa_timeout_seconds: float = positive_field(5.0, "RASA_TIMEOUT_SECONDS")
    # The estimated wait told to a waiting customer is position * this (see
    # desk/live.py); a rough figure a support lead tunes to the team's real average.
    average_handle_seconds: float = positive_field(300.0, "DESK_AVERAGE_HANDLE_SECONDS")
    # A mortgage application nobody touched for this long expires (its timeline says so); a
    # bank's own rule, e.g. how long an offer or an affordability check stays valid.
    application_idle_days: float = positive_field(90.0, "DESK_APPLICATION_IDLE_DAYS")
    # The demo's outbox of resume codes: each one is also appended here as a JSON line (the
    # end-to-end tests read it); unset, codes go to the log only (desk.code_sender).
    demo_codes_file: Path | None = Field(None, env="DESK_DEMO_CODES_FILE")
    # The local disk store of customers' documents (desk/document_store.py).
    documents_dir: Path = Field(default_factory=default_documents_dir, env="DESK_DOCUMENTS_DIR")
    # The claim service levels per queue (desk/services/service_levels.py), read at start-up.
    service_levels_path: Path = Field(
        default_factory=default_service_levels_path, env="DESK_SERVICE_LEVELS"
    )
    # The bearer token Prometheus scrapes GET /metrics with (desk/prometheus.py). Unset, the
    # desk serves no metrics (404): nothing is exposed that nobody asked for.
    metrics_token: str | None = Field(None, env="DESK_METRICS_TOKEN", repr=False)
    # Several desk processes behave as one desk when they share the database and this Redis
    # (desk/shared_state.py): the event bus, the places told to waiting customers, which
    # consoles are online. Empty: one desk process, everything in it. May hold a password, so
    # it is never shown (repr) and comes only from the environment.
    bus_url: str = Field("", env="DESK_BUS_URL", repr=False)
    # The desk processes sharing one prefix in one Redis are one desk (keys and channel start
    # with it); another desk, or a test, on the same Redis takes another.
    bus_prefix: str = Field("desk", env="DESK_BUS_PREFIX", min_length=1)
    # The scaled path of conversation events (desk/event_queue.py): the AMQP URL of the
    # RabbitMQ that Rasa's pika broker publishes to (its password inside, so out of the repr).
    # Unset, events come over the HTTP route only (the embedded default).
    event_queue_url: str | None = Field(None, env="DESK_EVENT_QUEUE_URL", repr=False)
    # The fanout exchange Rasa publishes to (its `exchange_name`) and the durable queue the desk
    # consumes (named in Rasa's `queues:` too); contract/conversation_events.py has the defaults.
    event_exchange: str = Field(DEFAULT_EXCHANGE, env="DESK_EVENT_EXCHANGE", min_length=1)
    event_queue: str = Field(DEFAULT_QUEUE, env="DESK_EVENT_QUEUE", min_length=1, max_length=200)
    # Guessing passwords (desk/services/login_throttle.py): this many wrong passwords for one
    # username within the window lock it for the lockout time; this many failed logins from one
    # address within the window are answered 429 until the oldest leaves the window.
    login_account_failures: int = Field(5, env="DESK_LOGIN_ACCOUNT_FAILURES", gt=0)
    login_address_failures: int = Field(20, env="DESK_LOGIN_ADDRESS_FAILURES", gt=0)
    login_window_minutes: float = positive_field(15.0, "DESK_LOGIN_WINDOW_MINUTES")
    login_lockout_minutes: float = positive_field(15.0, "DESK_LOGIN_LOCKOUT_MINUTES")
    # The proxies in front of the desk (HAProxy of the scaled stack, a TLS terminator): from a
    # peer in these addresses or networks (comma-separated, e.g. "127.0.0.1, 10.0.0.0/8") the
    # desk believes X-Forwarded-For (the client's address, for the login limits) and
    # X-Forwarded-Proto (the scheme the browser used, for the Origin check). Empty: trusts none.
    trusted_proxies: str = Field("", env="DESK_TRUSTED_PROXIES")
    # The address browsers use for the desk when it differs from what the desk sees (behind TLS
    # termination: https://desk.example.com). A write from a browser must come from a page of
    # this origin. Empty: the request's own scheme (or a trusted X-Forwarded-Proto) and host.
    public_url: str = Field("", env="DESK_PUBLIC_URL")

    @validator("event_queue_url")
    def _an_amqp_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("amqp://", "amqps://")):
            raise ValueError("must be an amqp:// or amqps:// URL")
        return url

    @validator("rasa_url")
    def _without_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @validator("bus_url")
    def _a_redis_url(cls, url: str) -> str:
        url = url.strip()
        if url and not url.startswith(REDIS_SCHEMES):
            raise ValueError(
                "DESK_BUS_URL must be empty (one desk process) or a Redis URL "
                f"({', '.join(REDIS_SCHEMES)}...), e.g. redis://127.0.0.1:6379/0"
            )
        return url

    @validator("trusted_proxies")
    def _addresses_or_networks(cls, proxies: str) -> str:
        for entry in _entries(proxies):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry[:60]!r} is not an IP address or network; "
                    "give a comma-separated list such as 127.0.0.1, 10.0.0.0/8"
                ) from None
        return proxies

    @validator("public_url")
    def _an_origin(cls, url: str) -> str:
        url = url.strip().rstrip("/")
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
                raise ValueError("must be empty or an origin such as https://desk.example.com")
        return url

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """DESK_TRUSTED_PROXIES as networks (an address is a network of one)."""
        return tuple(
            ipaddress.ip_network(entry, strict=False) for entry in _entries(self.trusted_proxies)
        )

    @validator("documents_dir", "service_levels_path")
    def _from_the_project_root(cls, path: Path) -> Path:
        # A relative path means the same place whichever directory the desk is started in.
        return path if path.is_absolute() else PROJECT_ROOT / path


def _entries(listed: str) -> list[str]:
    """The entries of a comma-separated setting, blanks left out."""
    return [entry.strip() for entry in listed.split(",") if entry.strip()]
