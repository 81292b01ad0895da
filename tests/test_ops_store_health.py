"""Store failures are said in one human line (the daemon logs it and keeps going)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from watcher import store_health
from watcher.i18n import use_language
from watcher.store.db import open_store
from watcher.store.models import Space


def test_locked_sqlite_store_is_named(tmp_path: Path) -> None:
    db = tmp_path / "vigie.db"
    store = open_store(f"sqlite:///{db}", busy_timeout_ms=100)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(OperationalError) as caught, store.session() as session:
            session.add(Space(id="p", platform="facebook", platform_id="1", name="P",
                              owner="O", mode="observe"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.dispose()
    assert store_health.is_store_error(caught.value)
    message = store_health.describe(caught.value)
    assert "verrouillé" in message and "\n" not in message
    with use_language("en"):
        assert "locked by another program" in store_health.describe(caught.value)


def test_other_errors_keep_the_database_reason() -> None:
    error = OperationalError("INSERT", {}, Exception("disk I/O error\nmore"))
    with use_language("en"):
        message = store_health.describe(error)
    assert "disk I/O error" in message and "more" not in message
    assert not store_health.is_store_error(ValueError("x"))
