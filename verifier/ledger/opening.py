"""Open the service's ledger from its settings (shared by the CLI commands and the API)."""

from __future__ import annotations

from verifier.config import Config
from verifier.ledger.store import Ledger


def open_ledger(cfg: Config) -> Ledger:
    return Ledger.open(cfg.data_dir, config=cfg)
