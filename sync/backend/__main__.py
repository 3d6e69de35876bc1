"""``python -m sync.backend ...`` = ``chipid backend ...`` (usable without the rest of the CLI)."""

from verifier.commands.backend import backend

if __name__ == "__main__":  # pragma: no cover
    backend(prog_name="chipid backend")
