"""Settings: one typed object, read once from the environment and an optional env file.

Nothing reads the environment at import time: `load_settings()` takes the mapping to
read, so tests build as many configurations as they like. Every field's variable is
`AGENT_<FIELD>` unless it has one of the conventional names (`DATABASE_URL`, ...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

_CONVENTIONAL = {
    "database_url": "DATABASE_URL",
    "qdrant_url": "QDRANT_URL",
    "qdrant_api_key": "QDRANT_API_KEY",
    "amqp_url": "AMQP_URL",
    "hf_token": "HF_TOKEN",
}
PREFIX = "AGENT_"


class SettingsError(Exception):
    """A setting is invalid; the message names the environment variable at fault."""


Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseModel):
    """Every knob of the service. The README lists each with its variable and default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- serving
    data_dir: Path = Path("./data")
    host: str = "127.0.0.1"
    port: Port = 8000
    workers: int = Field(2, ge=1, le=64)
    threads: int = Field(8, ge=1, le=256)
    timeout_s: int = Field(60, ge=1)
    graceful_timeout_s: int = Field(30, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    api_keys: tuple[SecretStr, ...] = ()
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # -- backends
    database_url: SecretStr | None = None
    db_pool_max: int = Field(10, ge=1, le=200)
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    amqp_url: SecretStr | None = None
    hf_token: SecretStr | None = None
    llm_backend: Literal["auto", "hf", "openai", "transformers", "none"] = "auto"
    llm_base_url: str | None = None
    # -- readiness
    check_timeout_s: float = Field(2.0, gt=0, le=30)
    check_cache_s: float = Field(2.0, ge=0, le=60)
    # -- ingestion
    amqp_queue: str = Field("websocket_events", min_length=1)
    amqp_dead_letter_exchange: str = Field("dlx", min_length=1)
    amqp_dead_letter_queue: str = Field("dead_events", min_length=1)
    amqp_queue_max_length: int = Field(100_000, ge=1)
    amqp_declare: bool = False
    amqp_prefetch: int = Field(1000, ge=1, le=65535)
    amqp_events_exchange: str = Field("agent.events", min_length=1)
    consume_batch_size: int = Field(500, ge=1, le=65535)
    consume_batch_wait_s: float = Field(0.5, gt=0, le=60)
    # -- knowledge
    embedding_backend: Literal["local", "inference"] = "local"
    embedding_url: str | None = None
    embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    embedding_timeout_s: float = Field(10.0, gt=0, le=120)
    knowledge_chunk_chars: int = Field(1000, ge=200, le=8000)
    knowledge_chunk_overlap: int = Field(150, ge=0, le=2000)
    knowledge_mirror_dir: Path | None = None
    knowledge_seed_on_start: bool = True

    @field_validator("knowledge_chunk_overlap")
    @classmethod
    def _overlap_below_half_chunk(cls, value: int, info: ValidationInfo) -> int:
        size = info.data.get("knowledge_chunk_chars")
        if size is not None and value >= size // 2:
            raise ValueError(f"must be less than half of the chunk size ({size // 2})")
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator(
        "database_url", "qdrant_url", "amqp_url", "llm_base_url", "embedding_url", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    # -- derived modes, reported by /ready and /v1/info
    @property
    def postgres_mode(self) -> str:
        return "external" if self.database_url else "embedded"

    @property
    def qdrant_mode(self) -> str:
        return "external" if self.qdrant_url else "embedded"

    @property
    def amqp_mode(self) -> str:
        return "external" if self.amqp_url else "disabled"

    @property
    def effective_llm_backend(self) -> str:
        if self.llm_backend != "auto":
            return self.llm_backend
        if self.llm_base_url:
            return "openai"
        return "hf" if self.hf_token else "none"

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def postgres_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def knowledge_mirror_path(self) -> Path:
        return self.knowledge_mirror_dir or self.data_dir / "knowledge_mirror"

    @property
    def api_key_file(self) -> Path:
        return self.data_dir / "api_key"


def env_name(field: str) -> str:
    """The environment variable that sets a field."""
    return _CONVENTIONAL.get(field, PREFIX + field.upper())


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments and blank lines skipped, optional quotes stripped."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from `environ` (default: the process environment), over the env file
    named by AGENT_ENV_FILE, under explicit `overrides` (used by the CLI and tests)."""
    environ = os.environ if environ is None else environ
    merged: dict[str, str] = {}
    env_file = environ.get(PREFIX + "ENV_FILE")
    if env_file:
        try:
            merged.update(read_env_file(Path(env_file)))
        except OSError as exc:
            raise SettingsError(f"{PREFIX}ENV_FILE: cannot read {env_file}: {exc}") from exc
    merged.update(environ)
    raw: dict[str, Any] = {}
    for field in Settings.model_fields:
        name = env_name(field)
        if name in merged and merged[name] != "":
            raw[field] = merged[name]
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{env_name(field)}: {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


def describe(settings: Settings) -> dict[str, Any]:
    """Settings as a dict with every secret masked, for logs and `/v1/info`."""
    shown: dict[str, Any] = {}
    for field in Settings.model_fields:
        value = getattr(settings, field)
        if isinstance(value, SecretStr) or (
            isinstance(value, tuple) and value and isinstance(value[0], SecretStr)
        ):
            shown[field] = "***"
        elif isinstance(value, Path):
            shown[field] = str(value)
        else:
            shown[field] = value
    return shown
