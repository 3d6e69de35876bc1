"""Backend schema, portable between SQLite and PostgreSQL.

Choices that let the backend grow from one SQLite file to one PostgreSQL per province, or
to a distributed PostgreSQL (Citus-style) cluster:

* **``shop_id`` is the distribution key.** Every table that grows with traffic
  (``devices``, ``entries``, SQLite's ``entry_keys``, ``checkpoints``, ``alerts``) carries
  ``shop_id`` and has it first in its primary key, so rows of one shop co-locate on one node
  and the ingest of one batch (one device = one shop) is a single-node transaction. Small
  reference tables (``shops``, ``watchlist``, ``users``, ``sessions``) would be replicated.
* **No sequences, no cross-shop foreign keys.** Identifiers are UUID text or natural keys
  (``device_id, seq``), so independent databases (one per province) can be merged or
  queried side by side without renumbering; ``province`` is stored on each entry row so a
  national view is a UNION over provincial databases.
* **Personal data is encrypted at rest** (:mod:`sync.backend.vault`, keys outside the
  database): ``entries.body`` (the canonical entry JSON) is compressed, then AES-256-GCM,
  and stored as bytes (``z1`` || nonce || ciphertext || tag); hashes and chain fields stay
  plaintext, so chain checks, conflicts and idempotency never decrypt.
* **Search goes through blind keys** (:meth:`sync.backend.vault.Vault.blind`: keyed 64-bit
  BLAKE2b of ``type:value``), one per ID number, name (every suffix of the name's words),
  item serial / IMEI and the contract's id (``txn``, which links events to their contract),
  whatever the payload shape. The type is inside the MAC, so one index serves every key
  type, and lookups are exact matches. Where the keys live depends on the database:

  - PostgreSQL: ``entries.keys``, an array of the entry's keys under a GIN index. Its
    pending list takes a batch's keys in one append and merges them into the index in bulk:
    PostgreSQL spends a quarter less CPU per entry than on a separate key table under a
    hash index (measured: 25 against 33 µs per entry of the shop-ledger mix, autovacuum
    included). A search also reads the pending list (at most ``gin_pending_list_limit``,
    4 MB by default): a full one added 4 ms (median) to 6 ms (p95) to a key search, and a quarter
    of a second to one of a few hundred keys, so the alert rules merge it before each pass.
  - SQLite: one ``entry_keys`` row per key (B-tree on ``k``), as SQLite has no arrays.

  On PostgreSQL an entry row stays in its table page up to 8,160 bytes (``toast_tuple_target``,
  :data:`ENTRIES_POSTGRES`) instead of 2 KB: a contract carrying chip evidence (EF.SOD, DG1, DG13,
  DG14, DG15, an AA signature) is a 6 KB line whose sealed body is about 5.6 KB, which PostgreSQL
  would otherwise try to compress (it is already compressed and encrypted) and then cut into rows of
  its TOAST table: measured 35 against 28 µs of PostgreSQL CPU per entry of the shop-ledger mix with
  evidence, and the evidence worker reads the body back from the same page.

  The contract number is the ``entries.contract_no`` column (only searched keys are blind
  keys); free text uses ``entries.search_text``, which holds item text only (descriptions,
  category, brand, model: never names, ID numbers or addresses; empty for events, whose
  type is ``entries.event_type``; trigram GIN index on PostgreSQL over the rows that have
  some, when ``pg_trgm`` is available).
  ``alerts.detail`` (it may quote a watchlist ID number or the clerk's free-text reason) and
  ``access_log.query`` (it names who was searched for) are encrypted the same way;
  ``alerts.detail_key`` is the blind value of kind and detail, so a repeated alert is still
  counted up instead of repeated. ``watchlist.value`` is the blind value of the normalised
  value (as in the entry keys), the value itself is kept encrypted in ``value_enc`` for
  display, and ``note`` is encrypted.
* **Schema versions.** Version 3 (PostgreSQL keys in an ``entry_keys`` table) is migrated
  to 4 when the backend opens the database: one transaction moves the keys into
  ``entries.keys``. Version 4 (sealed bodies as ``z1:`` + base64 text) is migrated to 5 in
  the same way: each body becomes the bytes its base64 held (PostgreSQL rewrites the table
  once, ``ALTER COLUMN ... TYPE BYTEA``). Older versions are refused, not migrated (version 1: plaintext bodies;
  version 2: hex blind keys). The shops hold the authoritative ledgers and the relay starts
  from whatever head the backend reports, so once their devices are enrolled again a
  re-created backend database fills again from the shops.
* **Stateless service.** All state (chain heads, enrolment tokens, sessions) lives in the
  database; per-device ingest is serialised with ``SELECT ... FOR UPDATE`` on the device
  row (PostgreSQL) or ``BEGIN IMMEDIATE`` (SQLite), so instances behind a load balancer
  never interleave one device's chain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

# 2: entries.body encrypted, keys blinded; 3: blind keys are 64-bit integers (sync/backend/vault.py);
# 4: on PostgreSQL the keys are an array column of entries (3 is migrated, see MIGRATE_3_POSTGRES);
# 5: sealed entry bodies and item photos are bytes, no longer base64 text (4 is migrated)
SCHEMA_VERSION = 5

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
        body {bytes} NOT NULL,
        received_at TEXT NOT NULL,{keys_column}
        PRIMARY KEY (shop_id, device_id, seq))""",
    "CREATE INDEX IF NOT EXISTS entries_province_ts ON entries (province, ts)",
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
    # the signed downlink to the shops (sync/backend/downlink.py): append-only, message sealed by the vault
    """CREATE TABLE IF NOT EXISTS downlink (
        shop_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        kind TEXT NOT NULL,
        hold_id TEXT,
        message TEXT NOT NULL,
        signature TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        issued_by TEXT NOT NULL,
        PRIMARY KEY (shop_id, version))""",
    "CREATE INDEX IF NOT EXISTS downlink_hold ON downlink (hold_id)",
    # item photos of delivered contracts (sync/backend/photos.py), sealed by the vault
    """CREATE TABLE IF NOT EXISTS item_photos (
        shop_id TEXT NOT NULL,
        txn_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        contract_no TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        data {bytes} NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (shop_id, txn_id, kind))""",
    # alerts an inspector can act on (sync/backend/alerts.py): rule, sealed data and links, blind keys of person and serial
    """CREATE TABLE IF NOT EXISTS alert_info (
        shop_id TEXT NOT NULL,
        alert_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        info TEXT NOT NULL,
        person_key BIGINT,
        serial_key BIGINT,
        PRIMARY KEY (shop_id, alert_id))""",
    "CREATE INDEX IF NOT EXISTS alert_info_person ON alert_info (person_key)",
    "CREATE INDEX IF NOT EXISTS alert_info_serial ON alert_info (serial_key)",
    "CREATE INDEX IF NOT EXISTS alerts_last ON alerts (last_at)",
    # the alert rules worker's place in each device's chain (sync/backend/alert_rules.py)
    """CREATE TABLE IF NOT EXISTS alert_rule_cursor (
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (shop_id, device_id))""",
    # the webhook sender's place in the alert stream (sync/backend/webhook.py)
    """CREATE TABLE IF NOT EXISTS alert_cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    # chip evidence re-verified by the backend (sync/backend/evidence_worker.py): its verdict per contract entry
    # (reasons: checks and field names, no personal data), how far each device's entries were examined, and the
    # AA signatures seen (SHA-256), across shops, to catch a replayed one
    """CREATE TABLE IF NOT EXISTS evidence_verdicts (
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        txn_id TEXT NOT NULL,
        shop_verdict TEXT NOT NULL,
        backend_verdict TEXT NOT NULL,
        reasons TEXT NOT NULL,
        alert TEXT,
        verified_at TEXT NOT NULL,
        PRIMARY KEY (shop_id, device_id, seq))""",
    """CREATE TABLE IF NOT EXISTS evidence_progress (
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (shop_id, device_id))""",
    """CREATE TABLE IF NOT EXISTS aa_signatures (
        sig_sha256 TEXT PRIMARY KEY,
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL)""",
    # a shop's latest shop_profile entry (sync/backend/investigate.py); partial: nothing for other entries
    "CREATE INDEX IF NOT EXISTS entries_shop_profile ON entries (shop_id, ts) WHERE event_type = 'shop_profile'",
]



# The blind keys of an entry (see the module docstring), by database.
KEYS_POSTGRES_COLUMN = "keys BIGINT[] NOT NULL DEFAULT '{}'"
KEYS_POSTGRES = ["CREATE INDEX IF NOT EXISTS entries_keys ON entries USING gin (keys)"]
KEYS_SQLITE = [
    """CREATE TABLE IF NOT EXISTS entry_keys (
        shop_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        k BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS entry_keys_k ON entry_keys (k)",
]


# Entry rows inline up to a page (see the module docstring): a storage parameter, so an older database
# gets it too (for rows written from then on); set only when missing, as the ALTER would wait for a
# running vacuum of the table.
ENTRIES_POSTGRES = [
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = 'entries'::regclass "
    "AND 'toast_tuple_target=8160' = ANY(COALESCE(reloptions, '{}'))) THEN "
    "ALTER TABLE entries SET (toast_tuple_target = 8160); END IF; END $$",
]


def tables(dialect: str) -> list[str]:
    pg = dialect == "postgresql"
    ddl = [t.replace("{keys_column}", f"\n        {KEYS_POSTGRES_COLUMN}," if pg else "").replace("{bytes}", "BYTEA" if pg else "BLOB")
           for t in TABLES]
    return ddl + (KEYS_POSTGRES + ENTRIES_POSTGRES if pg else KEYS_SQLITE)


def has_keys(dialect: str, blinds: Sequence[int], *, any_of: bool = False) -> tuple[str, dict]:
    """An SQL condition on ``entries e`` with its parameters: the entry has every one of the
    blind keys (with ``any_of``: at least one of them)."""
    if not blinds:
        raise ValueError("has_keys needs at least one key")
    if dialect == "postgresql":  # one text parameter, however many keys (the GIN index serves both operators)
        return (f"e.keys {'&&' if any_of else '@>'} string_to_array(:keys, ',')::bigint[]",
                {"keys": ",".join(str(int(k)) for k in blinds)})
    rows = "(e.shop_id, e.device_id, e.seq) IN (SELECT k.shop_id, k.device_id, k.seq FROM entry_keys k WHERE k.k {})"
    if any_of:
        return rows.format("IN (SELECT value FROM json_each(:keys))"), {"keys": json.dumps([int(k) for k in blinds])}
    return (" AND ".join(rows.format(f"= :keys{i}") for i in range(len(blinds))),
            {f"keys{i}": int(k) for i, k in enumerate(blinds)})


# Version 3 -> 4 on PostgreSQL, in one transaction (on SQLite the two versions are the same).
MIGRATE_3_POSTGRES = [
    f"ALTER TABLE entries ADD COLUMN {KEYS_POSTGRES_COLUMN}",
    ("UPDATE entries e SET keys = k.keys FROM (SELECT shop_id, device_id, seq, array_agg(k) AS keys FROM entry_keys "
     "GROUP BY shop_id, device_id, seq) k WHERE e.shop_id = k.shop_id AND e.device_id = k.device_id AND e.seq = k.seq"),
    *KEYS_POSTGRES,
    "DROP TABLE entry_keys",
]

# Version 4 -> 5: the columns that hold sealed entry bodies (text ``z1:`` + base64 until 4, see
# sync/backend/vault.py).
SEALED_COLUMNS = (("entries", "body"), ("item_photos", "data"))
# On PostgreSQL one statement per column still of type text (each table is rewritten once):
# ``z1:`` + base64(x) becomes ``z1`` || x. SQLite cannot change a column's type; its rows are
# rewritten as BLOB values (sync/backend/db.py), which a column declared TEXT holds as they are.
MIGRATE_4_POSTGRES = ("ALTER TABLE {table} ALTER COLUMN {column} TYPE BYTEA USING "
                      "'\\x{format}'::bytea || decode(substr({column}, 4), 'base64')")


# Only on PostgreSQL; each is optional (pg_trgm may be unavailable to a non-superuser).
POSTGRES_EXTRA = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # rows without item text (events) stay out: a trigram index entry costs more per row than
    # any other index on entries, and a search's non-empty pattern never matches empty text
    "CREATE INDEX IF NOT EXISTS entries_search_trgm ON entries USING gin (search_text gin_trgm_ops) WHERE search_text <> ''",
]
