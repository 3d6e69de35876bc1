"""Resolve the service's settings and open its ledger (shared by the CLI commands and the API)."""

from __future__ import annotations

from pathlib import Path

from verifier.config import Config, load_config
from verifier.ledger.store import Ledger


def service_config(config_path: str | Path | None = None, data_dir: str | Path | None = None, **overrides) -> Config:
    """``config.toml`` (or defaults) with command-line overrides (``--data-dir`` wins over the file)."""
    cfg = load_config(config_path)
    if data_dir is not None:
        overrides["service__data_dir"] = str(data_dir)
    return cfg.with_overrides(**overrides)


def open_ledger(cfg: Config) -> Ledger:
    return Ledger.open(cfg.data_dir, config=cfg)
