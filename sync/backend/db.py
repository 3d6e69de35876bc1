"""Database access for the police backend: one SQLAlchemy engine over SQLite or PostgreSQL.

SQLite (the default, ``<data_dir>/backend.sqlite3``) runs in WAL mode with
``synchronous=FULL``; write transactions start with ``BEGIN IMMEDIATE`` so that two backend
processes on one file serialise instead of failing on lock upgrade. PostgreSQL is used when
a ``postgresql://`` URL is given (driver: psycopg 3); write transactions lock the device row
with ``SELECT ... FOR UPDATE`` (see :mod:`sync.backend.ingest`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from sync.backend import schema
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

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            self.dialect = "sqlite"
            self.engine = _sqlite_engine(url)
        elif url.startswith(("postgresql", "postgres")):
            self.dialect = "postgresql"
            self.engine = _postgres_engine(url)
        else:
            raise ConfigError(f"database URL: expected sqlite:/// or postgresql://, found {_redact(url)!r}")

    @classmethod
    def open(cls, data_dir: str | Path | None = None, database_url: str | None = None, *, migrate: bool = True) -> "Database":
        if database_url:
            db = cls(database_url)
        else:
            if data_dir is None:
                raise ConfigError("backend: expected a data directory or a database URL, found neither")
            d = Path(data_dir).expanduser()
            d.mkdir(parents=True, exist_ok=True)
            db = cls(f"sqlite:///{d / SQLITE_FILE}")
        if migrate:
            db.migrate()
        return db

    def migrate(self) -> None:
        """Create the tables (idempotent; safe when several instances start together)."""
        try:
            with self.write() as conn:
                if self.dialect == "postgresql":
                    # Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog.
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727001)")
                for ddl in schema.tables(self.dialect):
                    conn.exec_driver_sql(ddl)
                fresh = conn.execute(
                    text("INSERT INTO meta (key, value) VALUES ('schema_version', :v) ON CONFLICT (key) DO NOTHING"),
                    {"v": str(schema.SCHEMA_VERSION)},
                ).rowcount == 1
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
