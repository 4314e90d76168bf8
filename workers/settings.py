"""Settings from the environment (CONTRACT §3), one pydantic-settings class per concern.

They are built once at the process entry point (`load_settings`) and passed down.
A missing or malformed value stops the process with one line naming the variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from cryptography.fernet import Fernet, MultiFernet
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
from workers.redaction import redact

PostgresUrl = Annotated[
    AnyUrl, UrlConstraints(allowed_schemes=["postgresql", "postgres"], host_required=True)
]
AmqpUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["amqp", "amqps"], host_required=True)]
HttpUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["http", "https"], host_required=True)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Env(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # the database's and the broker's URLs carry passwords: a settings object
        # printed in a log line or a traceback must not show them
        for name, value in super().__repr_args__():
            urlish = isinstance(value, AnyUrl) or (isinstance(value, str) and "://" in value)
            yield name, (redact(str(value)) if urlish else value)


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
    #: seconds a shipment waits for Rakuten's acceptance of its items (and retries Rakuten)
    rakuten_shipment_hold_s: Seconds = 259200.0
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


def _split_keys(value: SecretStr) -> list[str]:
    return [key.strip() for key in value.get_secret_value().split(",")]


def _fernet_keys(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        keys = _split_keys(value)
        for position, key in enumerate(keys, start=1):
            where = f"key {position} of {len(keys)}" if len(keys) > 1 else "the key"
            if not key:
                raise ValueError(f"{where} is empty")
            try:
                Fernet(key.encode())
            except (ValueError, TypeError):
                raise ValueError(f"{where} is not a Fernet key (rakuten-worker genkey prints one)") from None
    return value


class SecuritySettings(_Env):
    """The keys that encrypt Rakuten tokens at rest: the first encrypts, every one decrypts.

    Several comma-separated keys let an operator rotate without downtime: put the
    new key first and keep the old one after it until `rakuten-worker rotate-key`
    has re-encrypted every stored token.
    """

    token_encryption_key: Annotated[SecretStr | None, AfterValidator(_fernet_keys)] = None


class RetentionSettings(_Env):
    """How long rows are kept before the scheduler prunes them (DESIGN invariant 11)."""

    #: seconds an inbound event id is remembered to drop its redeliveries
    inbox_retention_s: Seconds = 604800.0
    #: seconds a published outbound event is kept
    outbox_retention_s: Seconds = 604800.0
    #: seconds after `integration.deleted` before its orders and buyers' data are erased
    erase_deleted_after_s: Seconds = 2592000.0
    #: seconds the lines of a stock file are kept once its report is final
    stock_import_retention_s: Seconds = 604800.0
    #: seconds a change seen on a known order is kept
    order_change_retention_s: Seconds = 2592000.0

    @property
    def shortest_s(self) -> float:
        """The shortest of the retentions (the pruning rhythm follows it)."""
        return min(
            self.inbox_retention_s,
            self.outbox_retention_s,
            self.erase_deleted_after_s,
            self.stock_import_retention_s,
            self.order_change_retention_s,
        )


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
    retention: RetentionSettings
    observability: ObservabilitySettings

    def require_token_key(self) -> MultiFernet:
        """Return the keys of `TOKEN_ENCRYPTION_KEY` (the first encrypts, all decrypt).

        Raises `SettingsError` when the variable is unset.
        """
        key = self.security.token_encryption_key
        if key is None:
            raise SettingsError(
                "TOKEN_ENCRYPTION_KEY is required: set it to a Fernet key (rakuten-worker genkey prints one)"
            )
        return MultiFernet([Fernet(k.encode()) for k in _split_keys(key)])


class SettingsError(Exception):
    """Raised when a setting is missing or malformed; the message names the variable."""


_GROUPS: dict[str, type[_Env]] = {
    "database": DatabaseSettings,
    "broker": BrokerSettings,
    "rakuten": RakutenSettings,
    "reliability": ReliabilitySettings,
    "security": SecuritySettings,
    "retention": RetentionSettings,
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
