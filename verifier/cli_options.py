"""``--config`` and ``--data-dir``, shared by every command line: ``chipid`` (:mod:`verifier.commands`),
``python -m sync`` (:mod:`sync.cli`) and ``python -m sync.backend`` (:mod:`sync.backend.cli`)."""

from __future__ import annotations

from pathlib import Path

import click

from verifier.config import Config, load_config
from verifier.errors import ChipidError

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="config.toml to read (default: $CHIPID_CONFIG or the embedded defaults).")

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Data directory (overrides service.data_dir).")


def config_options(f):
    """``--config FILE --data-dir DIR`` on a command."""
    return config_option(data_dir_option(f))


def cli_config(config_path: Path | None, data_dir: Path | None = None, **overrides) -> Config:
    """The settings with command-line overrides; a bad config file is a clean CLI error."""
    if data_dir is not None:
        overrides["service__data_dir"] = str(data_dir)  # --data-dir wins over the file
    try:
        return load_config(config_path).with_overrides(**overrides)
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
