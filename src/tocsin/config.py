"""One settings object, read once from `TOCSIN_*` variables and an optional TOML file.

Every field here is documented in the README's configuration table; a test keeps
the two in step.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Runtime configuration. Environment variables win over the TOML file."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/tocsin.db",
        description="SQLAlchemy URL; `postgresql+psycopg://...` for PostgreSQL.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of this Tocsin, used in links inside pages.",
    )
    secret_key: str = Field(
        default="",
        description=(
            "Signs emailed action links. Required on PostgreSQL; on SQLite one is "
            "made and kept in `var/secret_key`."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds.")
    port: int = Field(default=8000, description="Port `serve` binds.")
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for pages.")
    smtp_port: int = Field(default=25, description="SMTP port.")
    smtp_tls: Literal["none", "starttls", "ssl"] = Field(
        default="none",
        description="`none`, `starttls` or `ssl` (implicit TLS).",
    )
    smtp_username: str = Field(default="", description="SMTP login, if any.")
    smtp_password: str = Field(default="", description="SMTP password, if any.")
    smtp_timeout: float = Field(default=10.0, description="SMTP timeout in seconds.")
    mail_from: str = Field(
        default="tocsin@localhost", description="Sender address of pages."
    )
    ack_link_ttl_minutes: int = Field(
        default=24 * 60, description="How long an emailed action link stays valid."
    )
    worker_poll_seconds: float = Field(
        default=1.0, description="How often the worker looks for due work."
    )
    outbox_max_attempts: int = Field(
        default=8, description="Sends tried before a message is marked failed."
    )
    log_format: Literal["console", "json"] = Field(
        default="console", description="`console` or `json`."
    )
    log_level: str = Field(default="INFO", description="Lowest level logged.")
    cookie_secure: bool = Field(
        default=False,
        description="Mark session cookies Secure; turn on behind HTTPS.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("TOCSIN_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, Path(toml_path)))
        return tuple(sources)

    def effective_secret_key(self) -> str:
        """The signing key; a development key is made and kept under `var/`."""
        if self.secret_key:
            return self.secret_key

        # Only a local SQLite setup may invent its own key: several processes on
        # PostgreSQL would each invent a different one and reject each other's links.
        if not self.database_url.startswith("sqlite"):
            raise RuntimeError("set TOCSIN_SECRET_KEY: it signs links across processes")
        key_file = Path("var/secret_key")
        if key_file.exists():
            return key_file.read_text().strip()
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def reset_settings(**overrides: Any) -> Settings:
    """Forget the cached settings (tests and the CLI's `--database-url` use this)."""
    get_settings.cache_clear()
    for name, value in overrides.items():
        os.environ[f"TOCSIN_{name.upper()}"] = str(value)
    return get_settings()
