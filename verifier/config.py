"""Every setting of chipid, declared once, typed by its default, with help text.

Settings are read from ``config.toml`` (sections = the part before the dot).
Secrets are never written inline: a setting whose name ends in ``_env`` names an
environment variable that holds the secret.

``python -m verifier.config`` prints the documented ``config.toml`` template;
the repository's ``config.toml`` is exactly that output (a test checks it, and that
README.md documents every key).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    key: str  # "section.name"
    default: Any
    help: str

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]


SETTINGS: tuple[Setting, ...] = (
    # --- the counter service -------------------------------------------------
    Setting("service.host", "127.0.0.1", "Address the counter service binds to. Keep 127.0.0.1 unless a reverse proxy with TLS fronts it."),
    Setting("service.port", 8080, "TCP port of the counter service."),
    Setting("service.data_dir", "~/.local/share/chipid", "Directory for the ledger, trust store, device key and logs."),
    Setting("service.language", "vi", "Default language of the web pages and reasons: vi or en."),
    # --- card reader -----------------------------------------------------------
    Setting("reader.name", "auto", "Reader to use: auto (configured or first PC/SC, then NFC reader; the emulator in demo mode when none), emulator, pcsc, pcsc:NAME, nfc, nfc:DEVICE (e.g. nfc:usb, nfc:udp:127.0.0.1:54321)."),
    Setting("reader.timeout_s", 30.0, "Seconds to wait for a card to be presented."),
    # --- chip access and reading ----------------------------------------------
    Setting("chip.access_policy", "pace-then-bac", "Chip access protocol: pace-then-bac, pace, or bac."),
    Setting("chip.extended_length", "auto", "Extended-length READ BINARY: auto (use when reader and card support it), on, off."),
    Setting("chip.max_le", 0, "Largest short Le to try for READ BINARY (1-256); 0 lets the session learn it from the card (starting at 256)."),
    # --- trust -----------------------------------------------------------------
    Setting("trust.demo", False, "Trust the test CSCA of the emulated chip. Everything verified under demo trust is marked DEMO. Never enable in a shop."),
    Setting("trust.crl_max_age_days", 90, "A CRL older than its nextUpdate plus this many days is reported as stale."),
    Setting("trust.validity_policy", "shell", "Certificate validity policy for the DSC chain: shell (every certificate valid now), chain (each valid when the next was issued), or signing-time (DSC valid when the SOD was signed)."),
)

_BY_KEY = {s.key: s for s in SETTINGS}


class Config:
    """Typed, read-only view of the settings. ``cfg["face.match_threshold"]``."""

    def __init__(self, values: dict[str, Any] | None = None, source: Path | None = None) -> None:
        self._values = {s.key: s.default for s in SETTINGS}
        self.source = source
        for key, value in (values or {}).items():
            self._values[key] = _coerce(key, value)

    def __getitem__(self, key: str) -> Any:
        if key not in _BY_KEY:
            raise ConfigError(f"unknown setting {key!r}")
        return self._values[key]

    def with_overrides(self, **overrides: Any) -> "Config":
        """A copy with some values replaced; keys use ``section__name`` or dotted strings."""
        values = dict(self._values)
        for key, value in overrides.items():
            key = key.replace("__", ".")
            if value is not None:
                values[key] = _coerce(key, value)
        return Config(values, self.source)

    @property
    def data_dir(self) -> Path:
        return Path(os.path.expanduser(str(self["service.data_dir"])))


def _coerce(key: str, value: Any) -> Any:
    setting = _BY_KEY.get(key)
    if setting is None:
        raise ConfigError(f"unknown setting {key!r}: expected one of the keys documented in README.md")
    want = type(setting.default)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        raise ConfigError(f"setting {key!r}: expected {want.__name__}, found {type(value).__name__} {value!r}")
    return value


def load_config(path: str | Path | None = None) -> Config:
    """Load ``config.toml``; a missing file at the default location means all defaults."""
    if path is None:
        env = os.environ.get("CHIPID_CONFIG")
        path = Path(env) if env else None
    if path is None:
        return Config()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"config file {path} not found") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from e
    values: dict[str, Any] = {}
    for section, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: expected a [section] table, found top-level key {section!r}")
        for name, value in table.items():
            values[f"{section}.{name}"] = value
    return Config(values, path)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def template() -> str:
    """The documented config.toml, generated from :data:`SETTINGS`."""
    lines = [
        "# chipid configuration. Generated by `python -m verifier.config`; every key is",
        "# documented here and in README.md. Values shown are the embedded defaults.",
        "# Secrets are never written here: keys ending in _env name an environment variable.",
    ]
    section = None
    for s in SETTINGS:
        if s.section != section:
            section = s.section
            lines += ["", f"[{section}]"]
        lines.append(f"# {s.help}")
        lines.append(f"{s.name} = {_toml_value(s.default)}")
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The settings table of README.md, generated from :data:`SETTINGS`."""
    rows = ["| setting | default | what it does |", "|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `{s.key}` | `{_toml_value(s.default)}` | {s.help} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(markdown_table() if sys.argv[1:] == ["markdown"] else template(), end="")
