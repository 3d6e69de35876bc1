"""``python -m sync ...`` = ``chipid sync ...`` (usable without the rest of the CLI)."""

from sync.cli import sync

if __name__ == "__main__":  # pragma: no cover
    sync(prog_name="chipid sync")
