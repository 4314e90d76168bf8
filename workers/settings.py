"""Settings from the environment (CONTRACT §3), one pydantic-settings class per concern.

They are built once at the process entry point (`load_settings`) and passed down.
A missing or malformed value stops the process with one line naming the variable.
"""

from __future__ import annotations

from typing import Annotated, Literal

from cryptography.fernet import Fernet
from pydantic import (
    AfterValidator,
    AnyUrl,
    BaseModel,
    Field,
    SecretStr,
    UrlConstraints,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.topology import dead_letter_queue

PostgresUrl = Annotated[
    AnyUrl, UrlConstraints(allowed_schemes=["postgresql", "postgres"], host_required=True)
]
AmqpUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["amqp", "amqps"], host_required=True)]
HttpUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["http", "https"], host_required=True)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Env(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)


class DatabaseSettings(_Env):
    """Where PostgreSQL is."""

    database_url: PostgresUrl = AnyUrl("postgresql://postgres:postgres@localhost:5432/postgres")


class BrokerSettings(_Env):
    """Where RabbitMQ is, and the names of our exchange and inbound queue."""

    rabbitmq_url: AmqpUrl = AnyUrl("amqp://guest:guest@localhost:5672/%2F")
    events_exchange: Annotated[str, Field(min_length=1, max_length=255)] = "linkolis.events"
    events_queue: Annotated[str, Field(min_length=1, max_length=250)] = "rakuten.inbox"

    @property
    def dead_letter_queue(self) -> str:
        """The queue that receives the messages the ingress rejects."""
        return dead_letter_queue(self.events_queue)


class RakutenSettings(_Env):
    """How we talk to Rakuten and how often."""

    rakuten_base_url: HttpUrl = AnyUrl("https://ws.fr.shopping.rakuten.com")
    rakuten_order_poll_interval_s: Seconds = 300.0
    rakuten_stock_push_interval_s: Seconds = 360.0
    rakuten_report_poll_interval_s: Seconds = 60.0
    #: seconds between two full re-sends of an integration's stock (daily)
    rakuten_reconcile_interval_s: Seconds = 86400.0
    #: Rakuten's numeric code of the country orders ship from (249: metropolitan France)
    rakuten_shipping_from_country: Annotated[int, Field(ge=1, le=999)] = 249
    #: seconds before an HTTP call to Rakuten gives up
    rakuten_http_timeout_s: Seconds = 30.0
    #: seconds of the first retry after Rakuten failed; later retries grow from it
    rakuten_retry_base_s: Seconds = 2.0
    #: days of getcurrentsales read at each poll: claims come up to 14 days after delivery
    #: (30 without tracking) and payouts 23 days after the order (rakuten-api.md 8b)
    rakuten_current_sales_lookback_days: Annotated[int, Field(ge=0, le=90)] = 45
    #: seconds between two reads of an integration's to-do list (getitemtodolist)
    rakuten_todo_poll_interval_s: Seconds = 1800.0

    @property
    def base_url(self) -> str:
        """The base URL without a trailing slash."""
        return str(self.rakuten_base_url).rstrip("/")


class ReliabilitySettings(_Env):
    """The bounds of retries and the lease of claimed work."""

    #: attempts before an inbound event that keeps failing "transiently" is dead-lettered
    ingress_max_attempts: Annotated[int, Field(ge=1, le=1000)] = 8
    #: seconds after its first failure at which such an event is dead-lettered anyway
    ingress_retry_window_s: Seconds = 300.0
    #: seconds a claim of due work lasts: a worker extends it while it works, and work
    #: whose worker vanished (or whose message was lost) is sent again when it ends
    work_lease_s: Seconds = 60.0


def _fernet_key(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        try:
            Fernet(value.get_secret_value().encode())
        except (ValueError, TypeError):
            raise ValueError("not a Fernet key (rakuten-worker genkey prints one)") from None
    return value


class SecuritySettings(_Env):
    """The key that encrypts Rakuten tokens at rest."""

    token_encryption_key: Annotated[SecretStr | None, AfterValidator(_fernet_key)] = None


class ObservabilitySettings(_Env):
    """Metrics endpoint and log format."""

    metrics_port: Annotated[int, Field(ge=0, le=65535)] = 9191
    metrics_host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class Settings(BaseModel):
    """Every setting of the process, grouped by concern."""

    model_config = {"frozen": True}

    database: DatabaseSettings
    broker: BrokerSettings
    rakuten: RakutenSettings
    reliability: ReliabilitySettings
    security: SecuritySettings
    observability: ObservabilitySettings

    def require_token_key(self) -> Fernet:
        """Return the Fernet of `TOKEN_ENCRYPTION_KEY`, or raise `SettingsError` when unset."""
        key = self.security.token_encryption_key
        if key is None:
            raise SettingsError(
                "TOKEN_ENCRYPTION_KEY is required: set it to a Fernet key (rakuten-worker genkey prints one)"
            )
        return Fernet(key.get_secret_value().encode())


class SettingsError(Exception):
    """Raised when a setting is missing or malformed; the message names the variable."""


_GROUPS: dict[str, type[_Env]] = {
    "database": DatabaseSettings,
    "broker": BrokerSettings,
    "rakuten": RakutenSettings,
    "reliability": ReliabilitySettings,
    "security": SecuritySettings,
    "observability": ObservabilitySettings,
}


def load_settings(**overrides: object) -> Settings:
    """Read every setting from the environment; keyword overrides (lower-case names) win.

    Raises `SettingsError` naming the first bad variable, without its value.
    """
    groups: dict[str, _Env] = {}
    for group, cls in _GROUPS.items():
        mine = {k: v for k, v in overrides.items() if k in cls.model_fields}
        try:
            groups[group] = cls(**mine)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None
    unknown = set(overrides) - {f for cls in _GROUPS.values() for f in cls.model_fields}
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return Settings(**groups)  # type: ignore[arg-type]


def _describe(exc: ValidationError) -> str:
    error = exc.errors(include_input=False, include_url=False)[0]
    variable = str(error["loc"][0]).upper() if error["loc"] else "a setting"
    reason = error["msg"].removeprefix("Value error, ")
    return f"invalid setting {variable}: {reason}"
