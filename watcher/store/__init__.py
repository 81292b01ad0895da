"""The store: SQLModel tables, the engine, and Alembic migrations."""

from watcher.store.db import Store, open_store

__all__ = ["Store", "open_store"]
