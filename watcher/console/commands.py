"""``vigie console`` (serve the review console) and ``vigie users`` (manage its accounts)."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from watcher.config import Config, load_config
from watcher.console.i18n import _
from watcher.errors import StoreError, UsageError
from watcher.store.db import Store, open_store

log = logging.getLogger(__name__)


def _open(config: Config, migrate: bool) -> Store:
    return open_store(config.database_url, config.store.busy_timeout_ms, migrate=migrate)


def cmd_console(args: argparse.Namespace) -> int:
    from watcher.console.app import create_app
    from watcher.wsgi import WsgiServer

    if not 1 <= args.threads <= 64:
        raise UsageError(_("--threads must be between 1 and 64."))
    config = load_config(args.config)
    store = _open(config, migrate=False)
    if store.current_revision() != store.head_revision():
        raise StoreError(
            _("The store is not at the latest schema: run “vigie db upgrade” first.")
        )
    app = create_app(config, store)
    server = WsgiServer(app, args.listen or config.console.listen, threads=args.threads,
                        ident="vigie-console")
    print(
        _("Review console listening on {url} (public address: {base}).").format(
            url=server.url, base=config.console.base_url
        )
    )
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        store.dispose()
    return 0


def read_password(from_stdin: bool, stdin: object = None) -> str:
    """Return a new password read from stdin (first line) or asked twice on the terminal."""
    stream = stdin or sys.stdin
    if from_stdin:
        line = stream.readline()  # type: ignore[attr-defined]
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError(_("No password was given on standard input."))
        return password
    if not stream.isatty():  # type: ignore[attr-defined]
        raise UsageError(
            _("No terminal to ask for the password: give it on standard input with --password-stdin.")
        )
    first = getpass.getpass(_("New password: "))
    second = getpass.getpass(_("Same password again: "))
    if first != second:
        raise UsageError(_("The two passwords differ; nothing was changed."))
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    from watcher.console import accounts

    config = load_config(args.config)
    store = _open(config, migrate=True)
    try:
        with store.session() as db:
            accounts.validate_scope(config, db, args.scope)  # before asking for a password
        password = read_password(args.password_stdin)
        with store.session() as db:
            user = accounts.add_user(
                db,
                config,
                args.username,
                password,
                role=args.role,
                scope=args.scope,
                display_name=args.name or "",
                language=args.language,
            )
            print(
                _("Account “{name}” created (role {role}, scope {scope}).").format(
                    name=user.username, role=user.role, scope=user.scope
                )
            )
    finally:
        store.dispose()
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from watcher.console import accounts

    config = load_config(args.config)
    store = _open(config, migrate=True)
    try:
        with store.session() as db:
            accounts.require_user(db, args.username)
        password = read_password(args.password_stdin)
        with store.session() as db:
            user = accounts.set_password(db, args.username, password)
        print(
            _("Password of “{name}” changed; its open sessions are ended.").format(
                name=user.username
            )
        )
    finally:
        store.dispose()
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    from watcher.console import accounts

    config = load_config(args.config)
    store = _open(config, migrate=True)
    try:
        with store.session() as db:
            user = accounts.set_disabled(db, args.username, not args.enable)
        if args.enable:
            print(_("Account “{name}” enabled again.").format(name=user.username))
        else:
            print(
                _("Account “{name}” disabled; its open sessions are ended.").format(
                    name=user.username
                )
            )
    finally:
        store.dispose()
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from watcher.console import accounts
    from watcher.store.models import utcnow

    config = load_config(args.config)
    store = _open(config, migrate=True)
    try:
        with store.session() as db:
            users = accounts.list_users(db)
    finally:
        store.dispose()
    if not users:
        print(_("No account yet. Create one with “vigie users add NAME --role moderation”."))
        return 0
    now = utcnow()
    headers = (_("account"), _("name"), _("role"), _("scope"), _("language"), _("state"),
               _("last login"))
    rows = []
    for user in users:
        if user.disabled:
            state = _("disabled")
        elif accounts.is_locked(user, now):
            state = _("locked")
        else:
            state = _("active")
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at else "—"
        rows.append((user.username, user.display_name or "—", user.role, user.scope,
                     user.language, state, last))
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]
    for row in (headers, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    console = subparsers.add_parser(
        "console", help=_("serve the review console (behind a reverse proxy)")
    )
    console.add_argument(
        "--listen", metavar="HOST:PORT", help=_("address to listen on (default: console.listen)")
    )
    console.add_argument(
        "--threads", type=int, default=4, metavar="N",
        help=_("worker threads (default: 4)"),
    )
    console.set_defaults(func=cmd_console)

    users = subparsers.add_parser("users", help=_("manage the review console's accounts"))
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar=_("ACTION"))

    add = users_sub.add_parser("add", help=_("create an account"))
    add.add_argument("username", help=_("account name (lowercase)"))
    add.add_argument(
        "--role", required=True, choices=["lecture", "moderation"],
        help=_("lecture: reads only; moderation: also confirms, restores, reclassifies"),
    )
    add.add_argument(
        "--scope", default="*",
        help=_("“*” for every space (default) or a direction: the owner of its spaces"),
    )
    add.add_argument("--name", help=_("the person's name, shown in the console"))
    add.add_argument("--language", choices=["fr", "en"], default="fr",
                     help=_("language of the console for this account (default: fr)"))
    add.add_argument("--password-stdin", action="store_true",
                     help=_("read the password from the first line of standard input"))
    add.set_defaults(func=cmd_users_add)

    passwd = users_sub.add_parser("passwd", help=_("set a new password (and unlock the account)"))
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true",
                        help=_("read the password from the first line of standard input"))
    passwd.set_defaults(func=cmd_users_passwd)

    disable = users_sub.add_parser("disable", help=_("disable an account (ends its sessions)"))
    disable.add_argument("username")
    disable.add_argument("--enable", action="store_true", help=_("enable the account again"))
    disable.set_defaults(func=cmd_users_disable)

    listing = users_sub.add_parser("list", help=_("list the accounts"))
    listing.set_defaults(func=cmd_users_list)
