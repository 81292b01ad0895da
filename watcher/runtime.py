"""What a running Vigie holds: the configuration, the store, the loaded policy, the connectors.

Built once at start (and again on SIGHUP) by :meth:`Runtime.open`. Everything else receives it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlmodel import select

from connectors import registry
from connectors.base import Connector
from watcher import secrets as secret_store
from watcher.categories import CATEGORY_IDS
from watcher.config import Config, SpaceConfig
from watcher.policy import Policy, Thresholds, load_policy
from watcher.store.db import Store, open_store
from watcher.store.models import Space, utcnow

log = logging.getLogger(__name__)


def thresholds_from(config: Config) -> Thresholds:
    """Given the configuration, return the per-category (hide, review) thresholds."""
    return Thresholds(
        by_category={
            c: (config.policy.threshold(c).hide, config.policy.threshold(c).review)
            for c in CATEGORY_IDS
        }
    )


def space_secrets(space: SpaceConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """Resolve a space's secrets. Raise SecretError naming the one that cannot be read."""
    return {name: secret_store.resolve(ref, dict(environ)) for name, ref in space.secrets.items()}


@dataclass
class Runtime:
    config: Config
    store: Store
    policy: Policy
    thresholds: Thresholds
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Callable[[], dt.datetime] = utcnow

    def __post_init__(self) -> None:
        self._connectors: dict[str, Connector] = {}
        self._connectors_lock = threading.Lock()
        self._space_locks: dict[str, threading.RLock] = {
            s.id: threading.RLock() for s in self.config.spaces
        }

    @classmethod
    def open(
        cls,
        config: Config,
        *,
        store: Store | None = None,
        policy: Policy | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Runtime:
        """Given a validated configuration, open the store (migrated) and load the policy."""
        runtime = cls(
            config=config,
            store=store or open_store(config.database_url, config.store.busy_timeout_ms),
            policy=policy
            or load_policy(
                tuple(config.policy.extra_dirs),
                config.policy.model,
                repetition_window_hours=config.policy.repetition_window_hours,
            ),
            thresholds=thresholds_from(config),
            environ=dict(os.environ) if environ is None else environ,
        )
        runtime.sync_spaces()
        return runtime

    # --- spaces --------------------------------------------------------------------------

    def spaces(self) -> list[SpaceConfig]:
        """Return the enabled, approved spaces: the only ones ever polled."""
        return [s for s in self.config.spaces if s.enabled]

    def space_lock(self, space_id: str) -> threading.RLock:
        """The lock that keeps one space's cycle, actions and webhook deliveries apart."""
        return self._space_locks.setdefault(space_id, threading.RLock())

    def sync_spaces(self) -> None:
        """Mirror the configuration's registry of spaces into the store."""
        with self.store.session() as session:
            known = {s.id: s for s in session.exec(select(Space))}
            listed = set()
            for cfg in self.config.spaces:
                listed.add(cfg.id)
                row = known.get(cfg.id) or Space(id=cfg.id, platform=cfg.platform,
                                                 platform_id=cfg.platform_id, name=cfg.name,
                                                 owner=cfg.owner, mode=cfg.mode)
                row.platform = cfg.platform
                row.platform_id = cfg.platform_id
                row.name = cfg.name
                row.owner = cfg.owner
                row.mode = cfg.mode
                row.active = cfg.enabled
                session.add(row)
            for space_id, row in known.items():
                if space_id not in listed and row.active:
                    row.active = False
                    session.add(row)

    # --- connectors ----------------------------------------------------------------------

    def secrets_for(self, space: SpaceConfig) -> dict[str, str]:
        return space_secrets(space, self.environ)

    def connector(self, space_id: str) -> Connector:
        """Return the space's connector, built on first use."""
        with self._connectors_lock:
            if space_id not in self._connectors:
                space = self.config.space(space_id)
                self._connectors[space_id] = registry.build(space, self.secrets_for(space))
            return self._connectors[space_id]

    def forget_connector(self, space_id: str) -> None:
        """Drop a cached connector (after a token error: the next use re-reads the secret)."""
        with self._connectors_lock:
            connector = self._connectors.pop(space_id, None)
        if connector is not None:
            connector.close()

    def close(self) -> None:
        with self._connectors_lock:
            for connector in self._connectors.values():
                connector.close()
            self._connectors.clear()
        self.store.dispose()
