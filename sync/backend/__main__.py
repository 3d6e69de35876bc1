"""``python -m sync.backend ...`` = ``chipid backend ...`` (usable without the rest of the CLI)."""

from sync.backend.cli import backend

if __name__ == "__main__":  # pragma: no cover
    backend(prog_name="chipid backend")
