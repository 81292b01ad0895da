"""Core subcommands: init, check, run, poll, status, sandbox, db upgrade, demo."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

from connectors import registry
from connectors.errors import ConnectorError
from watcher import logs
from watcher.config import load_config
from watcher.errors import SecretError, UsageError, VigieError
from watcher.i18n import _, set_language
from watcher.resources import shipped
from watcher.store.db import Store

EXAMPLE_CONFIG = shipped("vigie.toml")


def _config(args: argparse.Namespace):  # noqa: ANN202 - returns watcher.config.Config
    config = load_config(args.config)
    if not args.lang:
        set_language(config.vigie.language)
    logs.setup(config.vigie.log_level, debug=args.debug)
    return config


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.config or "vigie.toml")
    if target.exists() and not args.force:
        raise UsageError(
            _("{path} already exists; use --force to overwrite it.").format(path=target)
        )
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    state_dir = Path(args.state_dir).resolve()
    text = text.replace('state_dir = "/var/lib/vigie"', f'state_dir = "{state_dir}"')
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    os.chmod(target, 0o640)
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    print(_("Example configuration written to {path}.").format(path=target))
    print(_("State directory: {path}.").format(path=state_dir))
    print(_("Next: list your approved spaces, then run “vigie check”."))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    print(
        _("{path}: valid ({count} approved space(s)).").format(
            path=config.source, count=len(config.spaces)
        )
    )
    if not args.online:
        return 0
    from watcher.runtime import space_secrets

    failures = 0
    for space in config.spaces:
        try:
            connector = registry.build(space, space_secrets(space, os.environ))
            result = connector.check()
            connector.close()
        except (SecretError, ConnectorError) as error:
            failures += 1
            print(f"  ✗ {space.id}: {error}")
            continue
        mark = "✓" if result.ok else "✗"
        failures += 0 if result.ok else 1
        expiry = ""
        if result.token_expires_at:
            expiry = " " + _("(token expires {date})").format(
                date=result.token_expires_at.date().isoformat()
            )
        print(f"  {mark} {space.id}: {result.message}{expiry}")
    return 1 if failures else 0


def cmd_run(args: argparse.Namespace) -> int:
    from watcher.daemon import Daemon

    config = _config(args)
    if not config.spaces:
        print(_("Warning: no approved space is configured; nothing will be polled."),
              file=sys.stderr)
    Daemon(config, config_path=args.config).run_forever()
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    from watcher import pipeline
    from watcher.runtime import Runtime

    if not args.once:
        raise UsageError(_("“vigie poll” needs --once (the daemon is “vigie run”)."))
    config = _config(args)
    runtime = Runtime.open(config)
    try:
        spaces = [s.id for s in runtime.spaces()]
        if args.space:
            if args.space not in {s.id for s in config.spaces}:
                raise UsageError(_("No approved space has the id “{id}”.").format(id=args.space))
            spaces = [args.space]
        pipeline.run_actions(runtime, recover=True)
        failures = 0
        for space_id in spaces:
            outcome = pipeline.poll_space(runtime, space_id, force=True)
            if outcome.ok:
                print(
                    _("{space}: {new} new comment(s), {classified} judged, {done} action(s).")
                    .format(space=space_id, new=outcome.new_comments,
                            classified=outcome.classified, done=outcome.actions_done)
                )
            else:
                failures += 1
                print(_("{space}: failed — {error}").format(space=space_id, error=outcome.error))
        return 1 if failures else 0
    finally:
        runtime.close()


def cmd_status(args: argparse.Namespace) -> int:
    from watcher.status import collect, render_text

    config = _config(args)
    store = Store(config.database_url, config.store.busy_timeout_ms)
    try:
        report = collect(config, store, dt.datetime.now(dt.UTC))
    finally:
        store.dispose()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        print(render_text(report))
    return 3 if report["attention"] else 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from connectors.sandbox.server import SandboxServer, load_scenario

    logs.setup("INFO", debug=args.debug)
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
    config = _config(args)
    store = Store(config.database_url, config.store.busy_timeout_ms)
    before, after = store.upgrade()
    if before == after:
        print(_("The store is up to date (revision {rev}).").format(rev=after))
    else:
        print(_("Store migrated from {before} to {after}.").format(before=before or "—",
                                                                  after=after))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from watcher.demo import run_demo

    logs.setup("WARNING", debug=args.debug)
    out = Path(args.output)
    if out.exists() and not args.keep:
        shutil.rmtree(out)
    return run_demo(out, timeout=args.timeout)


def register(subparsers: argparse._SubParsersAction) -> None:
    init = subparsers.add_parser("init", help=_("write an example configuration"))
    init.add_argument("--state-dir", default="state", help=_("state directory to create"))
    init.add_argument("--force", action="store_true", help=_("overwrite an existing file"))
    init.set_defaults(func=cmd_init)

    check = subparsers.add_parser("check", help=_("validate the configuration"))
    check.add_argument("--online", action="store_true",
                       help=_("also check each space's credentials with its platform"))
    check.set_defaults(func=cmd_check)

    run = subparsers.add_parser("run", help=_("run the daemon in the foreground"))
    run.set_defaults(func=cmd_run)

    poll = subparsers.add_parser("poll", help=_("poll the spaces once"))
    poll.add_argument("--once", action="store_true", help=_("one cycle, then exit"))
    poll.add_argument("--space", metavar="ID", help=_("only this space"))
    poll.set_defaults(func=cmd_poll)

    status = subparsers.add_parser("status", help=_("health of each space"))
    status.add_argument("--json", action="store_true", help=_("machine-readable output"))
    status.set_defaults(func=cmd_status)

    sandbox = subparsers.add_parser("sandbox", help=_("run the local sandbox platform"))
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--scenario", metavar="FILE", help=_("JSON scenario to load"))
    sandbox.set_defaults(func=cmd_sandbox)

    db = subparsers.add_parser("db", help=_("manage the store"))
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help=_("apply the store's migrations"))
    upgrade.set_defaults(func=cmd_db_upgrade)

    demo = subparsers.add_parser("demo", help=_("run Vigie end to end on the built-in sandbox"))
    demo.add_argument("--output", default="demo-out", help=_("folder for the demo's files"))
    demo.add_argument("--keep", action="store_true", help=_("keep the previous demo's store"))
    demo.add_argument("--timeout", type=float, default=50.0)
    demo.set_defaults(func=cmd_demo)


__all__ = ["register", "VigieError"]
