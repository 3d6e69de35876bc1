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
    Setting("trust.validity_policy", "chain", "Certificate validity policy for the DSC chain: chain (ICAO 9303-12: the CSCA valid when it issued the DSC, the DSC valid now; a DSC valid to 2043 under a CSCA that ends earlier still verifies), shell (every certificate valid now: wrongly rejects genuine cards once their CSCA has expired), or signing-time (DSC valid when the SOD was signed)."),
    Setting("trust.auto_refresh", True, "chipid serve runs `chipid trust refresh` for Vietnam daily (first run a minute after start; not in demo mode): downloads the eID CSCA \"CSCA Vietnam\" when it is missing (accepted only if it verifies the shipped CCCD Document Signer) and the current CRLs, each verified before it is stored. No network is reported in the health status, never fatal. Off: run `chipid trust refresh` by hand."),
    # --- pawn ledger (counter service) -------------------------------------------
    Setting("ledger.key_env", "CHIPID_LEDGER_KEY", "Environment variable holding the ledger's AES-256 data key (base64 of 32 bytes). When it is unset, ledger.key_file is used."),
    Setting("ledger.key_file", "", "File holding the ledger's AES-256 data key (created with mode 0600 at first start). Empty: DATA_DIR/keys/ledger.key. Keep a backup apart from the database."),
    Setting("ledger.device_key_file", "", "PEM file of the device's Ed25519 signing key for checkpoints (created at first start, mode 0600). Empty: DATA_DIR/keys/device-ed25519.pem."),
    Setting("ledger.checkpoint_every", 100, "Sign a checkpoint of the ledger head after this many entries (and on demand)."),
    # --- users, sessions and tokens ------------------------------------------------
    Setting("auth.session_hours", 12, "Lifetime of a browser session (hours) after login."),
    Setting("auth.cookie_secure", False, "Mark the session cookie Secure (set true when a TLS reverse proxy fronts the service)."),
    Setting("auth.max_failed_logins", 10, "Failed logins for one user name within 15 minutes before further attempts are refused."),
    # --- pawn contracts ---------------------------------------------------------------
    Setting("pawn.max_interest_rate_year_pct", 20.0, "Legal cap on the yearly interest rate in percent (Civil Code 2015 art. 468). Contracts above it are refused."),
    Setting("pawn.contract_prefix", "HĐ", "Prefix of contract numbers (HĐ-2026-000001)."),
    Setting("pawn.shop_name", "Cửa hàng cầm đồ (chưa cấu hình)", "Shop name printed on contracts and receipts."),
    Setting("pawn.shop_address", "", "Shop address printed on contracts and receipts."),
    Setting("pawn.shop_license", "", "Number of the shop's certificate of security-and-order eligibility, printed on contracts."),
    # --- face verification (biometrics/) ------------------------------------------------
    Setting("face.match_threshold", 0.45, "Face distance at or below which chip portrait and camera face are the same person (match). Calibration: dlib ResNet descriptors, same person 0.15-0.56 and different people 0.66-0.89 on the shared test photos and grey JPEG 2000 chip-like portraits made from them (python -m benchmarks.bench_face); 0.45 is stricter than face_recognition's 0.6 because that model separates East-Asian faces less well. See biometrics/compare.py."),
    Setting("face.no_match_threshold", 0.60, "Face distance above which the decision is no_match; between the two thresholds the clerk compares both photos and decides (refer). 0.60 = face_recognition's default tolerance."),
    Setting("face.min_face_px", 80, "Smallest face width in the camera picture (pixels); smaller faces are refused as poor_quality (too small)."),
    Setting("face.min_brightness", 55.0, "Darkest acceptable mean grey level of the face (0-255): below it, poor_quality (too dark)."),
    Setting("face.max_brightness", 215.0, "Brightest acceptable mean grey level of the face (0-255): above it, poor_quality (overexposed)."),
    Setting("face.min_sharpness", 4.0, "Least acceptable face sharpness (normalised Laplacian variance x100; sharp test photos score 13-85, blurred 0.6-1.4)."),
    Setting("face.max_yaw", 0.32, "Largest head turn accepted for the comparison, as the sideways offset of the nose in inter-eye distances (0.32 is about 40 degrees)."),
    Setting("face.min_eye_openness", 0.30, "Eye-openness measure under which the eyes count as closed (open eyes measured 0.45-1.1, painted-shut eyes 0.15-0.35 on the test photos; a heuristic: lower it if customers with open eyes are refused, 0 disables the gate)."),
    Setting("face.liveness_seconds", 4.0, "How long the camera records the customer performing the liveness challenge (seconds)."),
    # --- camera -----------------------------------------------------------------------------
    Setting("camera.source", "0", "Camera: a USB camera index (\"0\"), a device path (/dev/video0), an IP camera URL (rtsp://..., http://...), or an image/video file or folder of images (tests, demo)."),
    Setting("camera.width", 640, "Requested capture width in pixels."),
    Setting("camera.height", 480, "Requested capture height in pixels."),
    Setting("camera.warmup_frames", 5, "Frames read and discarded after opening the camera while exposure settles."),
    Setting("camera.burst", 5, "Frames grabbed for one capture; the best one (one sharp, frontal, well-sized face) is kept."),
    Setting("camera.timeout_s", 5.0, "Seconds to wait for the camera or stream to open and deliver frames."),
    Setting("camera.qr_watch", True, "Watch the camera for a card's QR code while the counter is idle and start the scan by itself (about two frames a second, in memory only, never stored; paused during a scan and while the face step uses the camera). The scan is recorded as started by \"camera-qr\". false: only the \"Đọc QR bằng camera\" button reads the QR."),
    Setting("camera.mirrored", False, "The camera mirrors its picture (selfie view): flips the left/right of the head-turn challenge."),
    # --- privacy and retention --------------------------------------------------------
    Setting("privacy.face_retention_days", 30, "Face images (chip photo and camera photo) stored with a contract are purged after this many days."),
    Setting("privacy.store_camera_photo", False, "Store the camera photo (a raw camera frame) with the contract, encrypted, for privacy.face_retention_days (for disputes). Off by default: only the face decision and the face template are kept (Decree 13/2023)."),
    Setting("privacy.scan_ttl_minutes", 30, "A finished scan (identity read from the chip, held in memory only, never written to disk) is forgotten after this many minutes; a contract keeps what it needs in the ledger."),
    # --- delivery to the police backend (shop side) -----------------------------------
    Setting("sync.backend_url", "", "URL of the police backend (https://...). Empty: the URL recorded by `chipid sync enroll`. Plain http:// is accepted only for loopback addresses (tests, demo)."),
    Setting("sync.backend_cert_sha256", "", "SHA-256 (hex) of the backend's TLS certificate (DER), pinned: the relay refuses any other certificate. Required for https://."),
    Setting("sync.batch_size", 500, "Ledger entries per signed batch (1-5000)."),
    Setting("sync.backoff_base_s", 1.0, "First retry delay after a failed delivery (seconds); doubles per failed attempt (new entries during the wait do not count), with full jitter, but stays under half of how long the backend has been unreachable: a backend back after a second is probed about this often and found at once."),
    Setting("sync.backoff_max_s", 300.0, "Longest retry delay (seconds), reached by a backend that keeps failing (unreachable for twice this long, or refusing batches)."),
    Setting("sync.interval_s", 5.0, "When nothing is pending, how often the relay looks for new entries (seconds)."),
    Setting("sync.timeout_s", 30.0, "HTTP timeout of one delivery attempt (seconds)."),
    # --- police backend ------------------------------------------------------------------
    Setting("backend.host", "127.0.0.1", "Address the police backend binds to."),
    Setting("backend.port", 8090, "TCP port of the police backend."),
    Setting("backend.data_dir", "~/.local/share/chipid-backend", "Backend data directory (holds backend.sqlite3 when no PostgreSQL URL is set)."),
    Setting("backend.database_url_env", "CHIPID_BACKEND_DATABASE_URL", "Environment variable holding the PostgreSQL URL (postgresql://user:pass@host/db). Unset or empty: SQLite in backend.data_dir."),
    Setting("backend.tls_cert", "", "PEM certificate for HTTPS on the backend (its SHA-256 is what shops pin). Empty: plain HTTP (loopback or behind a TLS proxy)."),
    Setting("backend.tls_key", "", "PEM private key for backend.tls_cert."),
    Setting("backend.data_key_env", "CHIPID_BACKEND_DATA_KEY", "Environment variable holding the backend's entry encryption key (base64 of 32 bytes, AES-256-GCM). Unset (with backend.index_key_env): both keys derive from backend.data_dir/keys/backend.key, created on first start."),
    Setting("backend.index_key_env", "CHIPID_BACKEND_INDEX_KEY", "Environment variable holding the backend's blind-index key (base64 of 32 bytes, keyed BLAKE2b of ID numbers, names, serials). Set both or neither; PostgreSQL deployments should set both."),
    Setting("backend.metrics_token_env", "CHIPID_BACKEND_METRICS_TOKEN", "Environment variable holding the bearer token Prometheus sends to GET /metrics (besides inspector and admin sessions). Unset or empty: sessions only."),
    Setting("backend.rules_enabled", True, "Run the alert rules over all shops (same serial at two shops, one person pawning many items or at many shops, silent shops) in a worker thread of chipid backend serve, at the lowest CPU priority and waiting while ingest keeps the cores busy (ingest first), each pass reading a device's new contracts and those they are compared with in two key searches."),
    Setting("backend.rule_interval_s", 5.0, "Seconds between two passes of the alert rules over the newly stored entries (a pass with more to read goes on at once)."),
    Setting("backend.rule_serial_days", 90, "Alert (serial_two_shops) when a serial / IMEI / frame / plate was pawned at another shop within this many days before."),
    Setting("backend.rule_items_n", 3, "Alert (person_items) when one person pawns this many items of one category (phones, motorbikes...) or more within backend.rule_items_days days, at any shops."),
    Setting("backend.rule_items_days", 7, "The window of backend.rule_items_n, in days."),
    Setting("backend.rule_shops_k", 3, "Alert (person_shops_day) when one person pawns at this many shops or more on one day (Vietnam time)."),
    Setting("backend.rule_silent_hours", 48.0, "Alert (shop_silent) when a device that has sent before sends nothing for this many hours."),
    Setting("backend.alert_webhook_url", "", "POST every new or counted-up alert as JSON to this URL, signed (X-Chipid-Signature: sha256=HMAC-SHA256 of the body), retried with back-off; at least once (X-Chipid-Delivery names each delivery). Empty: no webhook."),
    Setting("backend.alert_webhook_secret_env", "CHIPID_BACKEND_WEBHOOK_SECRET", "Environment variable holding the webhook's HMAC secret. Required when backend.alert_webhook_url is set."),
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
