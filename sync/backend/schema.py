"""Backend schema, portable between SQLite and PostgreSQL.

Choices that let the backend grow from one SQLite file to one PostgreSQL per province, or
to a distributed PostgreSQL (Citus-style) cluster:

* **``shop_id`` is the distribution key.** Every table that grows with traffic
  (``devices``, ``entries``, ``entry_keys``, ``checkpoints``, ``alerts``) carries ``shop_id``
  and has it first in its primary key, so rows of one shop co-locate on one node and the
  ingest of one batch (one device = one shop) is a single-node transaction. Small
  reference tables (``shops``, ``watchlist``, ``users``, ``sessions``) would be replicated.
* **No sequences, no cross-shop foreign keys.** Identifiers are UUID text or natural keys
  (``device_id, seq``), so independent databases (one per province) can be merged or
  queried side by side without renumbering; ``province`` is stored on each entry row so a
  national view is a UNION over provincial databases.
* **Personal data is encrypted at rest** (:mod:`sync.backend.vault`, keys outside the
  database): ``entries.body`` (the canonical entry JSON) is compressed, then AES-256-GCM
  (``z1:`` + base64); hashes and chain fields stay plaintext, so chain checks, conflicts and
  idempotency never decrypt.
* **Search goes through ``entry_keys``** (blind key -> entry), one narrow index on a
  64-bit integer (hash on PostgreSQL, B-tree on SQLite) that serves ID number, name (every
  suffix of the name's words), item serial / IMEI and the contract's id (``txn``, which
  links events to their contract), whatever the payload shape. ``k`` is the blind index of ``type:value``
  (:meth:`sync.backend.vault.Vault.blind`): the type is inside the MAC, so one column and
  one index serve every key type, and lookups are exact matches. An integer key instead of
  hex text keeps the index small and its inserts cheap, which is what bounds ingest (each
  entry brings about six keys). The contract number is the ``entries.contract_no`` column
  (only searched keys get an ``entry_keys`` row); free text uses ``entries.search_text``,
  which holds item text only (descriptions, category, brand, model: never names, ID numbers
  or addresses; empty for events, whose type is ``entries.event_type``; trigram GIN index on
  PostgreSQL over the rows that have some, when ``pg_trgm`` is available).
  ``alerts.detail`` (it may quote a watchlist ID number or the clerk's free-text reason) and
  ``access_log.query`` (it names who was searched for) are encrypted the same way;
  ``alerts.detail_key`` is the blind value of kind and detail, so a repeated alert is still
  counted up instead of repeated. ``watchlist.value`` is the blind value of the normalised
  value (as in ``entry_keys``), the value itself is kept encrypted in ``value_enc`` for
  display, and ``note`` is encrypted.
* **Older schema versions are refused, not migrated** (version 1: plaintext bodies;
  version 2: hex blind keys). The shops hold the authoritative ledgers and the relay starts
  from whatever head the backend reports, so once their devices are enrolled again a
  re-created backend database fills again from the shops.
* **Stateless service.** All state (chain heads, enrolment tokens, sessions) lives in the
  database; per-device ingest is serialised with ``SELECT ... FOR UPDATE`` on the device
  row (PostgreSQL) or ``BEGIN IMMEDIATE`` (SQLite), so instances behind a load balancer
  never interleave one device's chain.
"""

from __future__ import annotations

SCHEMA_VERSION = 3  # 2: entries.body encrypted, keys blinded; 3: blind keys are 64-bit integers (sync/backend/vault.py)

TABLES = [
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS shops (
        shop_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        name_norm TEXT NOT NULL,
        license_no TEXT NOT NULL,
        province TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS enroll_tokens (
        token_hash TEXT PRIMARY KEY,
        shop_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT,
        device_id TEXT)""",
    """CREATE TABLE IF NOT EXISTS devices (
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        public_key TEXT NOT NULL,
        enrolled_at TEXT NOT NULL,
        head_seq BIGINT NOT NULL DEFAULT 0,
        head_hash TEXT NOT NULL,
        last_sent_at TEXT,
        last_batch_digest TEXT,
        last_batch_response TEXT,
        last_sync_at TEXT,
        backlog BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (shop_id, device_id))""",
    "CREATE UNIQUE INDEX IF NOT EXISTS devices_device ON devices (device_id)",
    """CREATE TABLE IF NOT EXISTS entries (
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        province TEXT NOT NULL,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        hash TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        demo INTEGER NOT NULL,
        contract_no TEXT,
        event_type TEXT,
        search_text TEXT NOT NULL,
        body TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (shop_id, device_id, seq))""",
    "CREATE INDEX IF NOT EXISTS entries_province_ts ON entries (province, ts)",
    """CREATE TABLE IF NOT EXISTS entry_keys (
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        k BIGINT NOT NULL)""",
    # {by_hash}: a hash index on PostgreSQL (lookups are equality only, and a hash index takes
    # about half the CPU of a B-tree per inserted key), a B-tree on SQLite
    "CREATE INDEX IF NOT EXISTS entry_keys_k ON entry_keys {by_hash}(k)",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        head_hash TEXT NOT NULL,
        ts TEXT NOT NULL,
        signature TEXT NOT NULL,
        verified INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (shop_id, device_id, seq))""",
    """CREATE TABLE IF NOT EXISTS priority_events (
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (shop_id, device_id, seq))""",
    """CREATE TABLE IF NOT EXISTS alerts (
        shop_id TEXT NOT NULL,
        alert_id TEXT NOT NULL,
        device_id TEXT,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        detail_key BIGINT NOT NULL,
        seq BIGINT,
        created_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        count BIGINT NOT NULL DEFAULT 1,
        ack_by TEXT,
        ack_at TEXT,
        PRIMARY KEY (shop_id, alert_id))""",
    "CREATE INDEX IF NOT EXISTS alerts_open ON alerts (shop_id, kind, device_id, ack_at)",
    "CREATE INDEX IF NOT EXISTS alerts_created ON alerts (created_at)",
    """CREATE TABLE IF NOT EXISTS watchlist (
        item_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        value BIGINT NOT NULL,
        value_enc TEXT NOT NULL,
        note TEXT NOT NULL,
        added_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS watchlist_value ON watchlist (kind, value)",
    """CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS login_failures (
        name TEXT NOT NULL,
        at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS login_failures_name ON login_failures (name, at)",
    """CREATE TABLE IF NOT EXISTS access_log (
        log_id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        action TEXT NOT NULL,
        query TEXT NOT NULL,
        results BIGINT NOT NULL,
        at TEXT NOT NULL)""",
]



def tables(dialect: str) -> list[str]:
    return [ddl.replace("{by_hash}", "USING hash " if dialect == "postgresql" else "") for ddl in TABLES]


# Only on PostgreSQL; each is optional (pg_trgm may be unavailable to a non-superuser).
POSTGRES_EXTRA = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # rows without item text (events) stay out: a trigram index entry costs more per row than
    # any other index on entries, and a search's non-empty pattern never matches empty text
    "CREATE INDEX IF NOT EXISTS entries_search_trgm ON entries USING gin (search_text gin_trgm_ops) WHERE search_text <> ''",
]
