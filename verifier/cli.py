"""The ``chipid`` command line. Each area adds its command group in ``verifier/commands/``; the
sync and backend groups live in ``sync/`` (``python -m sync`` and ``python -m sync.backend`` run them alone)."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from verifier import __version__

# (module, attribute) of each command or group; one line per area.
_COMMANDS = [
    ("verifier.commands.read", "read"),
    ("verifier.commands.ledger", "ledger"),
    ("verifier.commands.user", "user"),
    ("verifier.commands.serve", "serve"),
    ("verifier.commands.card", "card"),
    ("verifier.commands.face", "face"),
    ("sync.cli", "sync"),
    ("sync.backend.cli", "backend"),
    ("verifier.commands.trust", "trust"),
    ("verifier.commands.sod", "sod"),
    ("verifier.commands.reader", "reader"),
    ("verifier.commands.lds", "lds"),
    ("verifier.commands.service", "service"),
]


@click.group()
@click.version_option(__version__, prog_name="chipid")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug with APDU traces, redacted).")
def cli(verbose: int) -> None:
    """chipid: đọc và xác thực thẻ CCCD gắn chip / read and verify chipped CCCD cards."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


for _module, _attr in _COMMANDS:
    cli.add_command(getattr(importlib.import_module(_module), _attr))


def main() -> None:
    cli(prog_name="chipid")


if __name__ == "__main__":  # pragma: no cover
    main()
