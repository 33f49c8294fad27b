"""Service configuration, read from ``VOICE_AI_*`` environment variables and an optional ``.env`` file.

Nothing is read at import time: call :func:`get_settings` (or build :class:`Settings` with explicit
values in tests) and pass the object to ``create_app``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DeploymentMode = Literal["auto", "standalone", "fusionpbx"]


class Settings(BaseSettings):
    """All knobs of the Voice AI Service. Each field maps to ``VOICE_AI_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="VOICE_AI_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (FusionPBX's database). Unset: an embedded PostgreSQL is started.",
    )
    data_dir: Path = Field(
        default_factory=lambda: Path.cwd() / "var",
        description="Folder for the embedded database, the generated secret key file and caches.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8100, ge=1, le=65535)
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token required on every request except /health when set."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key(s) that encrypt provider secrets at rest; comma-separated, first one encrypts.",
    )
    secret_key_file: Path | None = Field(
        default=None, description="Key file used when secret_key is unset (default: <data_dir>/secret.key)."
    )
    mode: DeploymentMode = Field(
        default="auto",
        description="standalone: this service owns v_domains; fusionpbx: domains are FusionPBX's "
        "(read-only here); auto: standalone when this service created v_domains.",
    )
    auto_migrate: bool = Field(default=True, description="Run database migrations at start-up.")
    worker: bool = Field(
        default=True, description="Process background jobs (document ingestion) in the service process too."
    )
    recordings_dir: Path | None = Field(
        default=None,
        description="Where FreeSWITCH writes recordings on this host; turns may then pass audio_path instead of "
        "uploading (only files inside this folder are read)",
    )
    webhook_retry_base_s: float = Field(
        default=10.0, gt=0, le=3600, description="First webhook retry delay; doubles per attempt (max 1 h)"
    )
    db_pool_size: int = Field(default=10, ge=1, le=500, description="Database connections kept open")
    db_max_overflow: int = Field(
        default=10, ge=0, le=500, description="Extra connections opened under load, beyond db_pool_size"
    )
    db_pool_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Longest wait for a free database connection (a call turn waits only as long as its deadline "
        "allows); past it a request answers 503 (over capacity)",
    )
    db_connect_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Longest wait to open a database connection (then 503)"
    )
    turn_deadline_s: float = Field(
        default=10.0,
        ge=8,  # conversation.budget.MIN_TURN_DEADLINE_S: the stages' reserves, and 2 s for a configured STT vendor
        le=60,
        description="A call turn answers within this (every stage — STT, retrieval, LLM, TTS — bounded by it, with "
        "fall-backs in time); keep it well under the call flow's voice_ai_turn_timeout (15 s); at least 8 s (the "
        "built-in fall-backs' reserves, and 2 s for a configured speech-recognition vendor)",
    )
    end_grace_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="Seconds the end-of-call job (summary, webhook) waits, so that a transfer that failed and "
        "re-opened the call is not reported with its first, wrong outcome",
    )
    stale_call_minutes: int = Field(
        default=30,
        ge=0,
        le=7 * 24 * 60,
        description="A call with no activity for this long is closed (abandoned/hangup) by a periodic job; 0: never",
    )
    esl_host: str = Field(
        default="127.0.0.1",
        description="Streaming calls: address of the event socket server FreeSWITCH's socket application connects "
        "to (no authentication in that protocol: loopback, or an address only FreeSWITCH can reach)",
    )
    esl_port: int = Field(
        default=8084, ge=0, le=65535, description="Streaming calls: the event socket server's port; 0 turns it off"
    )
    esl_allow: str = Field(
        default="127.0.0.1,::1",
        description="Streaming calls: the addresses or networks (comma-separated, e.g. 10.0.0.5,10.0.1.0/24) whose "
        "connections the event socket server accepts — FreeSWITCH's; everyone else is refused before a word",
    )
    tools_allow_networks: str = Field(
        default="",
        description="Tools: the non-public networks (comma-separated, e.g. 10.0.5.0/24) a tenant's HTTP tools may "
        "reach besides public addresses; nothing by default (loopback, private, link-local and metadata addresses "
        "are refused)",
    )
    stream_ws_url: str | None = Field(
        default=None,
        pattern=r"^wss?://[A-Za-z0-9.-]+(:\d+)?(/.*)?$",
        description="Streaming calls: how FreeSWITCH reaches this service's WebSocket (ws://host:port); default: "
        "this service's own host and port (127.0.0.1 when it listens on every address)",
    )
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _empty_url_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("esl_allow", "tools_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in (part.strip() for part in value.split(",")):
            if item:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(
                        f"{item!r} is not an address or a network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                    ) from None
        return value

    @field_validator("api_token", "secret_key")
    @classmethod
    def _strip_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """Surrounding spaces (a hand-edited .env) would make a token impossible to match."""
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @property
    def embedded(self) -> bool:
        """True when no external database is configured and the embedded PostgreSQL is used."""
        return self.database_url is None

    @property
    def pgdata_dir(self) -> Path:
        return self.data_dir.resolve() / "pgdata"

    @property
    def resolved_secret_key_file(self) -> Path:
        return (self.secret_key_file or self.data_dir / "secret.key").resolve()


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and ``.env``), with explicit overrides winning."""
    return Settings(**overrides)  # type: ignore[arg-type]
