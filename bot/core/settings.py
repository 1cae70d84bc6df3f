"""Typed settings from the environment (and `.env`); a bad value stops start-up with one line."""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TIMEZONE = "Asia/Ho_Chi_Minh"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field("sqlite:///thidua.db", alias="DATABASE_URL")
    now: dt.datetime | None = Field(None, alias="THIDUA_NOW")
    lang: str = Field("vi", alias="THIDUA_LANG", pattern=r"^(vi|en)$")
    campaign_file: str | None = Field(None, alias="THIDUA_CAMPAIGN")
    listen: str = Field("127.0.0.1:8080", alias="THIDUA_LISTEN", pattern=r"^[^:]*:\d{1,5}$")
    attachments_dir: str = Field("attachments", alias="THIDUA_ATTACHMENTS")
    #: Per file (the Bot API lets a bot download at most 20 MB), and per person per day.
    upload_max_mb: float = Field(20.0, alias="THIDUA_UPLOAD_MAX_MB", gt=0)
    uploads_per_day: int = Field(30, alias="THIDUA_UPLOADS_PER_DAY", ge=1)
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

    @field_validator("now")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        """A THIDUA_NOW without an offset is read as Vietnam time."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(TIMEZONE))
        return value

    @field_validator("telegram_base_url", "zalo_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class SettingsError(Exception):
    """One line per bad variable, naming it."""


@cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            field = Settings.model_fields.get(name)
            variable = field.alias if field and field.alias else name
            lines.append(f"{variable}: {err['msg']}")
        raise SettingsError("\n".join(lines)) from None
