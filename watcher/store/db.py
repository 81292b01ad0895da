"""Opening the store: SQLite by default (WAL, busy timeout), any SQLAlchemy URL otherwise.

The schema is created and changed only by Alembic migrations (``vigie db upgrade``, also run
at start).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from watcher.errors import StoreError
from watcher.i18n import _

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, manage transactions (BEGIN IMMEDIATE below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _sqlite_begin(conn: Any) -> None:
    # Take the write lock at the start of every transaction: no upgrade deadlocks between
    # the daemon's threads, the console and the CLI.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class Store:
    """The engine and its sessions."""

    def __init__(self, url: str, busy_timeout_ms: int = 10_000) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(
                _("“{url}” is not a database address SQLAlchemy understands.").format(url=url)
            ) from None
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.is_sqlite:
            database = parsed.database
            if database and database != ":memory:":
                folder = Path(database).parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise StoreError(
                        _("The store folder {path} cannot be created: {reason}.").format(
                            path=folder, reason=error.strerror
                        )
                    ) from None
            kwargs["connect_args"] = {
                "timeout": busy_timeout_ms / 1000,
                "check_same_thread": False,
            }
        self.engine: Engine = sa.create_engine(url, **kwargs)
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas(busy_timeout_ms))
            sa.event.listen(self.engine, "begin", _sqlite_begin)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session; commit on success, roll back on error."""
        session = Session(self.engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()

    def upgrade(self) -> tuple[str | None, str | None]:
        """Apply every pending migration; return (revision before, revision after)."""
        try:
            before = self.current_revision()
            config = alembic_config(self.url)
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            return before, self.current_revision()
        except OperationalError as error:
            raise StoreError(
                _("The store cannot be reached or changed: {reason}").format(
                    reason=str(error.orig).strip()
                )
            ) from None
        except SQLAlchemyError as error:
            raise StoreError(
                _("The store could not be migrated: {reason}").format(reason=error)
            ) from None

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str, busy_timeout_ms: int = 10_000, migrate: bool = True) -> Store:
    """Given a database URL, return an open Store, migrated to the latest schema."""
    store = Store(url, busy_timeout_ms)
    if migrate:
        store.upgrade()
    return store
