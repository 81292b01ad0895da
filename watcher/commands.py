"""Core subcommands: sandbox, db upgrade (the rest of the core arrives with the pipeline)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from watcher.config import load_config
from watcher.i18n import _
from watcher.store.db import Store


def cmd_sandbox(args: argparse.Namespace) -> int:
    from connectors.sandbox.server import SandboxServer, load_scenario

    server = SandboxServer(args.host, args.port)
    if args.scenario:
        count = load_scenario(server.state, Path(args.scenario))
        print(_("Scenario loaded: {count} comments.").format(count=count))
    print(_("Sandbox platform listening on {url} (Ctrl-C to stop).").format(url=server.url))
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = Store(config.database_url, config.store.busy_timeout_ms)
    before, after = store.upgrade()
    if before == after:
        print(_("The store is up to date (revision {rev}).").format(rev=after))
    else:
        print(_("Store migrated from {before} to {after}.").format(before=before or "—", after=after))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    sandbox = subparsers.add_parser("sandbox", help=_("run the local sandbox platform"))
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--scenario", metavar="FILE", help=_("JSON scenario to load"))
    sandbox.set_defaults(func=cmd_sandbox)

    db = subparsers.add_parser("db", help=_("manage the store"))
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help=_("apply the store's migrations"))
    upgrade.set_defaults(func=cmd_db_upgrade)
