"""Shared fixtures: real stores (SQLite and, when available, PostgreSQL) and a real sandbox."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from connectors.sandbox.server import SandboxServer
from watcher.i18n import set_language
from watcher.store.db import Store, open_store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATASETS = SHARED / "datasets"
FIXTURES = SHARED / "fixtures"
POSTGRES_URL = os.environ.get("VIGIE_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _french_by_default() -> Iterator[None]:
    set_language("fr")
    yield
    set_language("fr")


def _postgres_database() -> Iterator[str]:
    """Create a throw-away database on the test server; drop it afterwards."""
    assert POSTGRES_URL
    admin_url = make_url(POSTGRES_URL)
    name = f"vigie_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend (PostgreSQL only when VIGIE_TEST_DATABASE_URL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'vigie.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("VIGIE_TEST_DATABASE_URL is not set (PostgreSQL tests)")
    yield from _postgres_database()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on each backend."""
    opened = open_store(database_url)
    yield opened
    opened.dispose()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox platform listening on a free local port."""
    with SandboxServer() as server:
        yield server


def shared_or_skip(path: Path) -> Path:
    """Return a path under ../shared, or skip the test cleanly when it is absent."""
    if not path.exists():
        pytest.skip(f"{path} is absent (shared data is read in place, never copied)")
    return path
