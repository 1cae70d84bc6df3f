"""Typed settings from the environment (and `.env`); a bad value stops start-up with one line."""

from __future__ import annotations

import datetime as dt
import os
from functools import cache
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo

from dotenv import dotenv_values
from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.errors import validation_message

TIMEZONE = "Asia/Ho_Chi_Minh"
ENV_FILE = ".env"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore")

    #: The data home: the SQLite database, attachments and exports live here unless their own
    #: settings say otherwise, so a service started from any folder finds the same store.
    home: Path = Field(default_factory=lambda: default_home(), alias="THIDUA_HOME")
    database_url: str = Field("", alias="DATABASE_URL")  # "": <home>/thidua.db
    now: dt.datetime | None = Field(None, alias="THIDUA_NOW")
    lang: str = Field("vi", alias="THIDUA_LANG", pattern=r"^(vi|en)$")
    campaign_file: str | None = Field(None, alias="THIDUA_CAMPAIGN")
    listen: str = Field("127.0.0.1:8080", alias="THIDUA_LISTEN", pattern=r"^[^:]*:\d{1,5}$")
    #: The address people open the web desk at (`/web` links are built on it), e.g.
    #: https://thidua.example.gov.vn; unset, `/web` says the desk is not set up.
    public_url: str | None = Field(None, alias="THIDUA_PUBLIC_URL", pattern=r"^https?://[^\s]+$")
    attachments_dir: str = Field("", alias="THIDUA_ATTACHMENTS")  # "": <home>/attachments
    exports_dir: str = Field("", alias="THIDUA_EXPORTS")  # "": <home>/exports
    templates_dir: str | None = Field(None, alias="THIDUA_TEMPLATES")  # the office's .docx
    #: Per file (the Bot API lets a bot download at most 20 MB), and per person per day.
    upload_max_mb: float = Field(20.0, alias="THIDUA_UPLOAD_MAX_MB", gt=0)
    send_max_mb: float = Field(50.0, alias="THIDUA_SEND_MAX_MB", gt=0)  # Bot API: 50 MB
    uploads_per_day: int = Field(30, alias="THIDUA_UPLOADS_PER_DAY", ge=1)
    #: How long a reply that cannot be sent (platform down, 429s) is tried before it is failed.
    reply_retry_minutes: float = Field(60.0, alias="THIDUA_REPLY_RETRY_MINUTES", gt=0)
    push_grace: dt.timedelta = Field(dt.timedelta(hours=12), alias="THIDUA_PUSH_GRACE")

    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_base_url: str = Field("https://api.telegram.org", alias="TELEGRAM_BASE_URL")
    telegram_webhook_url: str | None = Field(None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_rate: float = Field(30.0, alias="TELEGRAM_RATE", gt=0)

    zalo_bot_token: SecretStr | None = Field(None, alias="ZALO_BOT_TOKEN")
    zalo_base_url: str = Field("https://bot-api.zaloplatforms.com", alias="ZALO_BASE_URL")
    zalo_webhook_url: str | None = Field(None, alias="ZALO_WEBHOOK_URL")
    zalo_webhook_secret: SecretStr | None = Field(None, alias="ZALO_WEBHOOK_SECRET")
    # The bot's monthly message quota on Zalo (unset: unknown, no reserve), and the share of it
    # kept for replies to people: pushes stop while less than that is left this month.
    zalo_monthly_quota: int | None = Field(None, alias="ZALO_MONTHLY_QUOTA", gt=0)
    zalo_push_reserve: float = Field(0.2, alias="ZALO_PUSH_RESERVE", ge=0, lt=1)

    log_format: str = Field("text", alias="THIDUA_LOG_FORMAT", pattern=r"^(text|json)$")
    log_level: str = Field(
        "INFO", alias="THIDUA_LOG_LEVEL", pattern=r"^(?i:debug|info|warning|error|critical)$"
    )
    #: /readyz: a polling channel whose last good poll is older than this is not ready.
    ready_poll_age: dt.timedelta = Field(dt.timedelta(minutes=2), alias="THIDUA_READY_POLL_AGE")
    #: /readyz: more failed outbox rows (to people still reachable) than this is not ready.
    ready_max_failed: int = Field(50, alias="THIDUA_READY_MAX_FAILED", ge=0)

    @model_validator(mode="after")
    def _in_home(self) -> Self:
        """What is not set otherwise lives in the data home."""
        self.home = self.home.expanduser().absolute()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'thidua.db'}"
        if not self.attachments_dir:
            self.attachments_dir = str(self.home / "attachments")
        if not self.exports_dir:
            self.exports_dir = str(self.home / "exports")
        return self

    @property
    def demo_database_url(self) -> str:
        """The console demo's own database, never the office's."""
        return f"sqlite:///{self.home / 'demo.db'}"

    @field_validator("now")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        """A THIDUA_NOW without an offset is read as Vietnam time."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(TIMEZONE))
        return value

    @field_validator("telegram_base_url", "zalo_base_url", "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value is not None else None


def default_home() -> Path:
    """The platform's user data folder (Linux: ~/.local/share/thidua, or $XDG_DATA_HOME)."""
    return Path(user_data_dir("thidua", appauthor=False))


def _home_before_settings() -> Path:
    """THIDUA_HOME from the environment or ./.env: it says where the other .env is."""
    given = os.environ.get("THIDUA_HOME") or dotenv_values(ENV_FILE).get("THIDUA_HOME")
    return Path(given).expanduser() if given else default_home()


class SettingsError(Exception):
    """One line per bad variable, naming it."""


@cache
def get_settings() -> Settings:
    # Both .env files are read; the working directory's wins over the data home's.
    env_files = (_home_before_settings() / ENV_FILE, Path(ENV_FILE))
    try:
        return Settings(_env_file=env_files)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            field = Settings.model_fields.get(name)
            variable = field.alias if field and field.alias else name
            lines.append(f"{variable}: {validation_message(err)}")
        raise SettingsError("\n".join(lines)) from None
