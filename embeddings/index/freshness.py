"""Whether the index on disk still matches the corpus and the configured models and chunker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from embeddings.config import IndexConfig
from embeddings.corpus.sources import scan_corpus
from embeddings.errors import CoopbotError
from embeddings.index.engine import index_entries, read_manifest
from embeddings.index.manifest import PIPELINE_VERSION, Manifest, describe_settings


@dataclass(frozen=True)
class Freshness:
    """Whether the index on disk matches the corpus and the configuration."""

    manifest: Manifest | None
    reasons: tuple[str, ...] = field(default=())
    other_source: bool = False
    """The index was built from another folder or file than the configured one."""

    @property
    def fresh(self) -> bool:
        """True when the index exists and nothing changed since it was built."""
        return self.manifest is not None and not self.reasons


def settings_differ(
    manifest: Manifest, cfg: IndexConfig, model: str, multilingual_model: str | None
) -> list[str]:
    """Why the index cannot be updated in place and needs a full build."""
    reasons: list[str] = []
    if manifest.model != model:
        reasons.append(f"built with model {manifest.model}, configured {model}")
    left_out = (manifest.multilingual_model is None and "multilingual_off" in manifest.extra
                and cfg.multilingual_limit is not None)
    if manifest.multilingual_model != multilingual_model and not left_out:
        reasons.append(
            f"built with multilingual model {manifest.multilingual_model}, "
            f"configured {multilingual_model}"
        )
    if manifest.chunker != cfg.chunk.as_dict():
        reasons.append(
            f"built with chunker {describe_settings(manifest.chunker)}, "
            f"configured {describe_settings(cfg.chunk.as_dict())}"
        )
    if manifest.pipeline_version != PIPELINE_VERSION:
        reasons.append("built by an older version of coopbot's parser")
    return reasons


def same_place(recorded: str, configured: Path) -> bool:
    """Whether the source a build recorded is the configured one: `--seeds seeds` and its
    absolute path name one folder (through symlinks too), so neither counts as another
    source."""
    return recorded == str(configured) or Path(recorded).resolve() == configured.resolve()


def check_freshness(
    cfg: IndexConfig, model: str, multilingual_model: str | None = None
) -> Freshness:
    """Compare the current index with the corpus and the configured models/chunker."""
    try:
        manifest = read_manifest(cfg)
        known = index_entries(cfg)
    except CoopbotError as exc:
        return Freshness(None, (str(exc),))
    reasons = settings_differ(manifest, cfg, model, multilingual_model)
    other = bool(manifest.source) and not same_place(manifest.source, cfg.seeds_dir)
    if other:
        reasons.append(f"built from {manifest.source}, configured {cfg.seeds_dir}")
    try:
        now = scan_corpus(cfg.seeds_dir, max_bytes=cfg.max_file_bytes).fingerprints
    except OSError:
        now = {}
    added = sorted(set(now) - set(known))
    removed = sorted(set(known) - set(now))
    changed = sorted(n for n in set(now) & set(known) if now[n] != known[n])
    for label, names in (("new", added), ("removed", removed), ("changed", changed)):
        if names:
            reasons.append(f"{len(names)} {label} file(s): {', '.join(names[:5])}")
    return Freshness(manifest, tuple(reasons), other)
