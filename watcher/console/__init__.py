"""The review console: a Flask web application for space administrators.

``create_app(config, store)`` (in :mod:`watcher.console.app`) returns the WSGI application;
``vigie console`` serves it with waitress; ``vigie users`` manages its accounts. The console
holds no platform token: decisions that change a platform are requested in the store and
carried out by the daemon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from watcher.config import Config
    from watcher.store.db import Store


def create_app(config: Config, store: Store, **kwargs: Any) -> Flask:
    """Return the console's WSGI application (see :func:`watcher.console.app.create_app`)."""
    from watcher.console.app import create_app as _create_app

    return _create_app(config, store, **kwargs)
