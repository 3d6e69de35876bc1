"""Database access for the police backend: one SQLAlchemy engine over SQLite or PostgreSQL.

SQLite (the default, ``<data_dir>/backend.sqlite3``) runs in WAL mode with
``synchronous=FULL``; write transactions start with ``BEGIN IMMEDIATE`` so that two backend
processes on one file serialise instead of failing on lock upgrade. PostgreSQL is used when
a ``postgresql://`` URL is given (driver: psycopg 3); write transactions lock the device row
with ``SELECT ... FOR UPDATE`` (see :mod:`sync.backend.ingest`).
"""

from __future__ import annotations

import base64
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from sync.backend import schema
from sync.backend.vault import DATA_KEY_ENV, ENTRY_FORMAT, INDEX_KEY_ENV, Vault
from verifier.errors import ConfigError, SyncError

log = logging.getLogger(__name__)

SQLITE_FILE = "backend.sqlite3"


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


class Database:
    """The backend's storage. ``read()`` / ``write()`` yield a SQLAlchemy ``Connection``."""

    def __init__(self, url: str, vault: Vault) -> None:
        self.url = url
        self.vault = vault
        #: the backend's data directory when opened with one (:meth:`open`): the evidence worker's trust is in it
        self.data_dir: Path | None = None
        if url.startswith("sqlite"):
            self.dialect = "sqlite"
            self.engine = _sqlite_engine(url)
        elif url.startswith(("postgresql", "postgres")):
            self.dialect = "postgresql"
            self.engine = _postgres_engine(url)
        else:
            raise ConfigError(f"database URL: expected sqlite:/// or postgresql://, found {_redact(url)!r}")

    @classmethod
    def open(cls, data_dir: str | Path | None = None, database_url: str | None = None, *, migrate: bool = True,
             vault: Vault | None = None, data_key_env: str = DATA_KEY_ENV, index_key_env: str = INDEX_KEY_ENV) -> "Database":
        """Open (and by default migrate) the backend database. Keys: ``vault`` when given, else
        the environment variables ``data_key_env`` / ``index_key_env``, else the key file in
        ``data_dir`` (for a SQLite URL without ``data_dir``: the database file's directory)."""
        if database_url:
            url = database_url
            key_dir = data_dir
            if key_dir is None and url.startswith("sqlite:///"):
                key_dir = Path(url[len("sqlite:///"):]).parent
        else:
            if data_dir is None:
                raise ConfigError("backend: expected a data directory or a database URL, found neither")
            d = Path(data_dir).expanduser()
            d.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{d / SQLITE_FILE}"
            key_dir = d
        if vault is None:
            vault = Vault.load(key_dir, data_key_env=data_key_env, index_key_env=index_key_env)
        db = cls(url, vault)
        db.data_dir = Path(data_dir).expanduser() if data_dir is not None else None  # its trust/ (evidence_worker)
        if migrate:
            db.migrate()
        else:
            db.check()
        return db

    def _check_meta(self, conn: Connection) -> None:
        meta = dict(conn.execute(text("SELECT key, value FROM meta WHERE key IN ('schema_version', 'key_check')")).all())
        version = meta.get("schema_version")
        if version != str(schema.SCHEMA_VERSION):
            extra = " (older versions are not migrated: re-create the backend database, enrol the shops' devices " \
                    "again and let them re-sync from their ledgers)" if version in ("1", "2") else ""
            raise SyncError(f"backend database {_redact(self.url)}: expected schema version {schema.SCHEMA_VERSION}, "
                            f"found {version!r}{extra}")
        if meta.get("key_check") != self.vault.key_check():
            raise SyncError(f"backend database {_redact(self.url)}: its entries were written with other keys than the ones "
                            "loaded (check the backend key variables or keys/backend.key)")

    def check(self) -> None:
        """Refuse a database of another schema version or written with other keys."""
        try:
            with self.read() as conn:
                self._check_meta(conn)
        except SQLAlchemyError as e:
            raise SyncError(f"cannot read the backend schema version in {_redact(self.url)}: {e}") from e

    def migrate(self) -> None:
        """Create the tables (idempotent; safe when several instances start together)."""
        try:
            with self.write() as conn:
                if self.dialect == "postgresql":
                    # Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog.
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727001)")
                ddls = schema.tables(self.dialect)
                conn.exec_driver_sql(ddls[0])  # meta, to read the version of an existing database
                self._upgrade(conn)
                for ddl in ddls[1:]:
                    conn.exec_driver_sql(ddl)
                fresh = conn.execute(
                    text("INSERT INTO meta (key, value) VALUES ('schema_version', :v) ON CONFLICT (key) DO NOTHING"),
                    {"v": str(schema.SCHEMA_VERSION)},
                ).rowcount == 1
                if fresh:
                    conn.execute(text("INSERT INTO meta (key, value) VALUES ('key_check', :v)"), {"v": self.vault.key_check()})
                self._check_meta(conn)
            if self.dialect == "postgresql" and fresh:  # optional indexes: created once, on the empty tables
                for ddl in schema.POSTGRES_EXTRA:
                    try:
                        with self.write() as conn:
                            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727001)")
                            conn.exec_driver_sql(ddl)
                    except SQLAlchemyError as e:  # optional speed-ups only
                        log.warning("optional PostgreSQL index skipped (%s): %s", ddl.split(" ON ")[0], e.__class__.__name__)
        except SQLAlchemyError as e:
            raise SyncError(f"cannot create the backend schema in {_redact(self.url)}: {e}") from e

    def _upgrade(self, conn: Connection) -> None:
        """Older versions in the open transaction: 3 -> 4 (on PostgreSQL the entry keys move from the
        ``entry_keys`` table into ``entries.keys``; a SQLite database of version 3 is already laid
        out as 4), then 4 -> 5 (sealed bodies from ``z1:`` + base64 text to bytes)."""
        version = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
        if version == "3":
            if self.dialect == "postgresql":
                log.info("migrating backend database %s from schema version 3 to 4 (entry keys into entries.keys)",
                         _redact(self.url))
                for ddl in schema.MIGRATE_3_POSTGRES:
                    conn.exec_driver_sql(ddl)
            version = "4"
        if version != "4":
            return
        log.info("migrating backend database %s from schema version 4 to 5 (sealed bodies as bytes)", _redact(self.url))
        for table, column in schema.SEALED_COLUMNS:
            if self.dialect == "postgresql":
                if conn.execute(text("SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
                                     "AND table_name = :t AND column_name = :c"), {"t": table, "c": column}).scalar() == "text":
                    conn.exec_driver_sql(schema.MIGRATE_4_POSTGRES.format(table=table, column=column, format=ENTRY_FORMAT.hex()))
            else:
                _sqlite_sealed_to_bytes(conn, table, column)
        conn.exec_driver_sql("UPDATE meta SET value = '5' WHERE key = 'schema_version'")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_sealed_to_bytes(conn: Connection, table: str, column: str, chunk: int = 10_000) -> None:
    """Schema 4 -> 5 on SQLite: each ``z1:`` + base64 text value of ``table.column`` becomes the
    bytes ``z1`` || what the base64 held, in chunks of rows (the open transaction holds them all)."""
    raw = conn.connection.driver_connection
    if raw.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is None:
        return
    last = -1 << 63
    while True:
        rows = raw.execute(f"SELECT rowid, {column} FROM {table} WHERE rowid > ? AND typeof({column}) = 'text' "
                           f"ORDER BY rowid LIMIT {chunk}", (last,)).fetchall()
        if not rows:
            return
        raw.executemany(f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                        [(ENTRY_FORMAT + base64.b64decode(value[3:], validate=True), rowid) for rowid, value in rows])
        last = rows[-1][0]


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"isolation_level": None, "check_same_thread": False, "timeout": 60},
        pool_size=8,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    return engine


def _postgres_engine(url: str) -> Engine:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
