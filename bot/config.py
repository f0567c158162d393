"""Configuration: a TOML file parsed into frozen, typed sections.

The file is named by the environment variable `BOT_CONFIG` (default `config.toml`). Every key is
optional except where a section says otherwise; unknown keys are an error naming the key and the
file. Secrets may be overridden by environment variables (see `ENV_OVERRIDES`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG_PATH = "config.toml"


class ConfigError(Exception):
    """The configuration file is missing a required key, has an unknown one, or a wrong type."""


@dataclass(frozen=True, slots=True)
class ZaloConfig:
    """The Zalo app and OA, and the ⚠ open points of `zalo-oa.md` kept configurable."""

    app_id: str = ""
    oa_id: str = ""
    oa_secret_key: str = ""
    app_secret: str = ""
    refresh_token: str = ""
    api_base_url: str = "https://openapi.zalo.me"
    oauth_base_url: str = "https://oauth.zaloapp.com"
    timeout_seconds: float = 10.0
    # Signature: app id + OA secret is the default; the OA id as first term is tried as a
    # fallback (and logged) only when this is true.
    signature_try_oa_id: bool = True
    # Whether the OA renders buttons on consultation messages; when false, choices are numbered
    # in the text and the citizen types "1", "2"...
    buttons: bool = True
    button_title_max: int = 35
    # Hours after the user's last interaction in which consultation messages may be sent freely.
    free_window_hours: int = 48
    # Hours after which consultation messages are refused (-230) and only templates reach a user.
    consultation_window_hours: int = 168
    # Send out-of-free-window (billed) consultation messages for proactive sends.
    allow_billed_window: bool = False
    # ZBS template sent by user id for reminders/broadcasts outside the window ("" = none).
    template_id: str = ""
    template_user_field: str = "user_id"  # or "recipient.user_id" (open question 6)
    # Refresh the access token this many hours after it was issued.
    refresh_after_hours: float = 20.0
    domain_verification_code: str = ""


@dataclass(frozen=True, slots=True)
class StorageConfig:
    """The SQLite database and data retention."""

    database: str = "var/bot.db"
    retention_days: int = 180


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """The HTTP side: webhook path and limits."""

    path: str = "/webhooks/zalo"
    max_body_bytes: int = 65536
    public_base_url: str = ""
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0 = none).
    proxy_hops: int = 0
    # How long an event waits for the database write lock before it is answered 503.
    lock_wait_seconds: float = 1.5


@dataclass(frozen=True, slots=True)
class BotConfig:
    """Dialogue behaviour."""

    knowledge_base: str = "knowledge_base"
    office_name: str = "UBND phường Tây Hồ"
    reload_seconds: float = 3.0
    review_max_age_days: int = 365
    handover_quiet_minutes: int = 60
    fallbacks_before_handover: int = 2
    oa_chat_url: str = "https://oa.zalo.me/manage/chatv2"


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """Delivery of queued messages to Zalo."""

    poll_seconds: float = 0.2
    batch_size: int = 50
    max_attempts: int = 12
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    # A claimed message is another sender's to take over only after this long: longer than a
    # send can take (token refresh + send + one retry, each bounded by zalo.timeout_seconds).
    lease_seconds: float = 120.0
    # Sender threads in one process (messages to one user still go out in order).
    workers: int = 2


@dataclass(frozen=True, slots=True)
class InboxConfig:
    """The turn worker: recorded citizen events answered off the webhook request."""

    # Threads answering events (several citizens at once; one citizen's messages in order).
    workers: int = 2
    # How often an idle worker looks for recorded events.
    poll_seconds: float = 0.05
    # A claimed event is another worker's to take after this long (at once when the holder's
    # process is gone): longer than any turn takes.
    lease_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class OutreachConfig:
    """Broadcasts, reminders and the news feed."""

    timezone: str = "Asia/Ho_Chi_Minh"
    quiet_start: str = "21:00"
    quiet_end: str = "07:00"
    rate_per_minute: int = 3000
    news_feed_url: str = ""
    news_poll_minutes: int = 30
    news_auto_approve: bool = False
    reminder_hour: int = 8


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """The staff console."""

    session_hours: int = 8
    login_attempts_per_15min: int = 5
    # Where "mark as topic" writes suggested questions ("" = <bot.knowledge_base>/suggestions).
    suggestions_dir: str = ""


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """The built-in Zalo simulator used locally and in tests."""

    host: str = "127.0.0.1"
    port: int = 8765


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration."""

    zalo: ZaloConfig = field(default_factory=ZaloConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    inbox: InboxConfig = field(default_factory=InboxConfig)
    outreach: OutreachConfig = field(default_factory=OutreachConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    source: str = ""


ENV_OVERRIDES = {
    "ZALO_APP_ID": ("zalo", "app_id"),
    "ZALO_OA_ID": ("zalo", "oa_id"),
    "ZALO_OA_SECRET_KEY": ("zalo", "oa_secret_key"),
    "ZALO_APP_SECRET": ("zalo", "app_secret"),
    "ZALO_REFRESH_TOKEN": ("zalo", "refresh_token"),
    "ZALO_API_BASE_URL": ("zalo", "api_base_url"),
    "ZALO_OAUTH_BASE_URL": ("zalo", "oauth_base_url"),
    "BOT_DATABASE": ("storage", "database"),
}


def _coerce(value: object, kind: object, where: str) -> object:
    """Check `value` against the annotated type `kind`; ints are accepted for floats."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (str, int, float, bool):
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        raise ConfigError(f"{where} must be {kind.__name__}, not {type(value).__name__}")
    raise ConfigError(f"{where}: unsupported type {kind!r}")


def _section(cls: type, table: object, where: str, path: str) -> object:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{where}] must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown key '{where}.{key}'")
        values[key] = _coerce(value, hints[key], f"{path}: '{where}.{key}'")
    return cls(**values)


def parse(data: dict, path: str = "<config>") -> Config:
    """Build a `Config` from parsed TOML, rejecting unknown sections and keys."""
    hints = typing.get_type_hints(Config)
    sections = {}
    for name, table in data.items():
        kind = hints.get(name)
        if name == "source" or not isinstance(kind, type) or not dataclasses.is_dataclass(kind):
            raise ConfigError(f"{path}: unknown section '{name}'")
        sections[name] = _section(kind, table, name, path)
    return Config(**sections, source=path)


def _apply_env(config: Config, environ: typing.Mapping[str, str]) -> Config:
    for var, (section, key) in ENV_OVERRIDES.items():
        if environ.get(var):
            part = dataclasses.replace(getattr(config, section), **{key: environ[var]})
            config = dataclasses.replace(config, **{section: part})
    return config


def load(
    path: str | os.PathLike | None = None,
    environ: typing.Mapping[str, str] | None = None,
    required: bool = False,
) -> Config:
    """Read the configuration from `path`, `$BOT_CONFIG` or `config.toml`.

    With no file and `required` false, defaults are used, so commands that need no Zalo account
    (chat, ask, kb) work out of the box.
    """
    environ = os.environ if environ is None else environ
    name = str(path or environ.get("BOT_CONFIG") or DEFAULT_CONFIG_PATH)
    file = Path(name)
    if not file.exists():
        if required or path or environ.get("BOT_CONFIG"):
            raise ConfigError(f"{name}: configuration file not found")
        return _apply_env(Config(source=""), environ)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not UTF-8 text") from None
    return _apply_env(parse(data, name), environ)


def require(config: Config, *keys: str) -> None:
    """Raise ConfigError naming each `section.key` that is empty but needed by the caller."""
    missing = [k for k in keys if not getattr(getattr(config, k.split(".")[0]), k.split(".")[1])]
    if missing:
        where = config.source or DEFAULT_CONFIG_PATH
        raise ConfigError(f"{where}: missing required key(s): {', '.join(missing)}")
