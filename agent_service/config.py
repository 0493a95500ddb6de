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
    model_validator,
)

from tools.llm.specs import LLMConfig, ModelSpec, Price, parse_models, parse_prices
from tools.redact import mask_url

_CONVENTIONAL = {
    "database_url": "DATABASE_URL",
    "qdrant_url": "QDRANT_URL",
    "qdrant_api_key": "QDRANT_API_KEY",
    "amqp_url": "AMQP_URL",
    "hf_token": "HF_TOKEN",
}
PREFIX = "AGENT_"
DEFAULT_HF_MODEL = "Qwen/Qwen2.5-72B-Instruct"


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
    header_timeout_s: float = Field(10.0, gt=0, le=300)
    body_timeout_s: float = Field(30.0, gt=0, le=3600)
    # -- backends
    database_url: SecretStr | None = None
    db_pool_max: int = Field(10, ge=1, le=200)
    # the agents' SQL tool's own login (agent_sql, migration 0090); unset: agent_sql on
    # the service's server and database without a password (the embedded server)
    sql_database_url: SecretStr | None = None
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    amqp_url: SecretStr | None = None
    hf_token: SecretStr | None = None
    llm_backend: Literal["auto", "hf", "openai", "transformers", "none"] = "auto"
    llm_base_url: str | None = None
    # -- llm runtime (tools/llm, capabilities/engines/runtime; docs/runtime.md)
    llm_model: str | None = None
    llm_models: str | None = None
    llm_api_key: SecretStr | None = None
    llm_hf_provider: str | None = None
    llm_timeout_s: float = Field(20.0, gt=0, le=600)
    llm_retries: int = Field(1, ge=0, le=5)
    llm_retry_wait_s: float = Field(1.0, ge=0, le=30)
    llm_max_output_tokens: int = Field(1024, ge=16, le=32768)
    llm_max_steps: int = Field(6, ge=1, le=50)
    llm_budget_s: float = Field(45.0, gt=0, le=3600)
    llm_prices: str | None = None
    llm_request_token_cap: int = Field(20000, ge=1)
    llm_daily_token_cap: int | None = Field(None, ge=0)
    llm_monthly_token_cap: int | None = Field(None, ge=0)
    llm_daily_cost_cap: float | None = Field(None, ge=0)
    llm_monthly_cost_cap: float | None = Field(None, ge=0)
    llm_router_min_outcomes: int = Field(10, ge=1)
    cache_ttl_s: int = Field(900, ge=0)
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
    consume_verify_interval_s: float = Field(10.0, ge=0, le=3600)
    # -- jobs
    jobs_queue: str = Field("agent.jobs", pattern=r"^[A-Za-z0-9_.:-]{1,200}$")
    jobs_max_attempts: int = Field(3, ge=1, le=100)
    jobs_lease_s: float = Field(30.0, ge=0.5, le=3600)
    jobs_threads: int = Field(2, ge=1, le=64)
    jobs_sweep_interval_s: float = Field(15.0, gt=0, le=3600)
    jobs_requeue_after_s: float = Field(600.0, gt=0)
    jobs_stop_grace_s: float = Field(25.0, ge=0)
    jobs_retry_delay_s: float = Field(5.0, ge=0, le=3600)
    jobs_handlers: tuple[str, ...] = ()
    # -- game models and the hybrid policy
    models_min_rounds: int = Field(200, ge=10)
    models_max_rounds: int = Field(5000, ge=100, le=200_000)
    models_refit_growth: float = Field(0.1, gt=0, le=10)
    models_check_interval_s: float = Field(30.0, gt=0)
    hybrid_min_loss: float = Field(0.0, ge=0)
    hybrid_critical_confidence: float = Field(0.9, ge=0, le=1)
    hybrid_override_confidence: float = Field(0.8, ge=0, le=1)
    hybrid_log_flush_s: float = Field(0.2, gt=0, le=60)
    modes_dir: Path | None = None
    # -- knowledge
    embedding_backend: Literal["local", "inference"] = "local"
    embedding_url: str | None = None
    embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    embedding_timeout_s: float = Field(10.0, gt=0, le=120)
    knowledge_chunk_chars: int = Field(1000, ge=200, le=8000)
    knowledge_chunk_overlap: int = Field(150, ge=0, le=2000)
    knowledge_mirror_dir: Path | None = None
    knowledge_seed_on_start: bool = True

    @field_validator("modes_dir")
    @classmethod
    def _valid_modes(cls, value: Path | None) -> Path | None:
        """Every mode file is checked before anything starts (docs/modes.md)."""
        if value is not None:
            from game.rules import ModeError, read_modes_dir  # numpy: not in the master unless used

            try:
                read_modes_dir(value)
            except ModeError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("knowledge_chunk_overlap")
    @classmethod
    def _overlap_below_half_chunk(cls, value: int, info: ValidationInfo) -> int:
        size = info.data.get("knowledge_chunk_chars")
        if size is not None and value >= size // 2:
            raise ValueError(f"must be less than half of the chunk size ({size // 2})")
        return value

    @field_validator("api_keys", "jobs_handlers", mode="before")
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
        "database_url",
        "sql_database_url",
        "qdrant_url",
        "amqp_url",
        "llm_base_url",
        "embedding_url",
        "llm_model",
        "llm_models",
        "llm_hf_provider",
        "llm_prices",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("llm_models")
    @classmethod
    def _check_models(cls, value: str | None) -> str | None:
        if value is not None:
            parse_models(value)
        return value

    @field_validator("llm_prices")
    @classmethod
    def _check_prices(cls, value: str | None) -> str | None:
        if value is not None:
            parse_prices(value)
        return value

    @model_validator(mode="after")
    def _check_single_model(self) -> Settings:
        if self.llm_models is None and self.effective_llm_backend in ("openai", "transformers"):
            if not self.llm_model:
                raise ValueError(
                    f"AGENT_LLM_MODEL: needed with the {self.effective_llm_backend} backend "
                    "(the served model name, or the local model folder)"
                )
            if self.effective_llm_backend == "openai" and not self.llm_base_url:
                raise ValueError("AGENT_LLM_BASE_URL: needed with the openai backend")
        return self

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
        if self.llm_models:
            return parse_models(self.llm_models)[0].backend
        if self.llm_base_url:
            return "openai"
        return "hf" if self.hf_token else "none"

    @property
    def llm_chain(self) -> tuple[ModelSpec, ...]:
        """The models to try, primary first, with their prices: AGENT_LLM_MODELS, else the
        one model of AGENT_LLM_BACKEND/AGENT_LLM_MODEL/AGENT_LLM_BASE_URL; none when the
        backend is `none`."""
        backend = self.effective_llm_backend
        if backend == "none":
            return ()
        if self.llm_models:
            specs = parse_models(self.llm_models)
        else:
            model_id = self.llm_model or DEFAULT_HF_MODEL
            specs = (ModelSpec(backend, model_id, self.llm_base_url),)  # type: ignore[arg-type]
        prices = parse_prices(self.llm_prices) if self.llm_prices else {}
        return tuple(
            ModelSpec(s.backend, s.model_id, s.base_url, prices.get(s.model_id, Price()))
            for s in specs
        )

    @property
    def llm_config(self) -> LLMConfig:
        secret = self.llm_api_key
        return LLMConfig(
            models=self.llm_chain,
            hf_token=self.hf_token.get_secret_value() if self.hf_token else None,
            hf_provider=self.llm_hf_provider,
            api_key=secret.get_secret_value() if secret else None,
            timeout_s=self.llm_timeout_s,
            retries=self.llm_retries,
            retry_wait_s=self.llm_retry_wait_s,
            max_output_tokens=self.llm_max_output_tokens,
        )

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def postgres_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def api_key_file(self) -> Path:
        return self.data_dir / "api_key"

    @property
    def knowledge_mirror_path(self) -> Path:
        return self.knowledge_mirror_dir or self.data_dir / "knowledge_mirror"


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
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{env_name(field)}: {message}" if err["loc"] else message)
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


def describe(settings: Settings) -> dict[str, Any]:
    """Settings as a dict with every secret masked (and credentials inside URLs), for
    logs and `/v1/info`."""
    shown: dict[str, Any] = {}
    for field in Settings.model_fields:
        value = getattr(settings, field)
        if isinstance(value, SecretStr) or (
            isinstance(value, tuple) and value and isinstance(value[0], SecretStr)
        ):
            shown[field] = "***"
        elif isinstance(value, Path):
            shown[field] = str(value)
        elif isinstance(value, str):
            shown[field] = mask_url(value)
        else:
            shown[field] = value
    return shown
