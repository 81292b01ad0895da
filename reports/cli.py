"""``vigie report``: preview, send, resend and list the archived reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlmodel import col, select

from reports import formatting, service
from reports.i18n import _
from reports.mail import slug
from reports.period import parse_week
from watcher.config import EMAIL, Config, load_config
from watcher.errors import UsageError
from watcher.i18n import set_language
from watcher.store.db import Store, open_store
from watcher.store.models import Report, utcnow

EXIT_OK = 0
EXIT_NOT_DELIVERED = 1


def _open(args: argparse.Namespace) -> tuple[Config, Store]:
    config = load_config(args.config)
    if not args.lang:
        set_language(config.vigie.language)
    return config, open_store(config.database_url, config.store.busy_timeout_ms)


def _status(report: Report) -> str:
    return {
        "pending": _("to send"),
        "sending": _("being sent"),
        "sent": _("sent"),
        "outbox": _("written to the outbox"),
        "failed": _("failed"),
    }.get(report.status, report.status)


def _describe(config: Config, report: Report) -> str:
    line = _("Report {id} ({kind} {period}{scope}): {status}").format(
        id=report.id,
        kind=report.kind,
        period=report.period,
        scope=f", {report.scope}" if report.scope else "",
        status=_status(report),
    )
    if report.status == "outbox":
        line += " → " + str(service.outbox_paths(config, report)[0])
    elif report.status == "sent":
        line += " → " + ", ".join(report.recipients)
    elif report.status == "failed":
        line += f" — {report.last_error}"
        if report.next_attempt_at:
            line += " " + _("(next attempt {when})").format(
                when=formatting.datetime(report.next_attempt_at, config.vigie.timezone)
            )
        else:
            line += " " + _("(no more attempts: use “vigie report resend {id}”)").format(
                id=report.id
            )
    return line


def cmd_preview(args: argparse.Namespace) -> int:
    config, store = _open(args)
    try:
        now = utcnow()
        week = parse_week(args.week, config.vigie.timezone, now)
        rendered = service.render_weekly(
            config, store, week, args.space, owner=args.direction, now=now,
            language=args.lang or config.vigie.language,
        )
    finally:
        store.dispose()
    if args.output:
        path = Path(args.output)
    else:
        suffix = f"-{slug(args.space)}" if args.space else ""
        suffix += f"-{slug(args.direction)}" if args.direction else ""
        path = config.outbox_dir / f"preview-{week.label}{suffix}.html"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered.html, encoding="utf-8")
        if args.text:
            path.with_suffix(".txt").write_text(rendered.text, encoding="utf-8")
    except OSError as error:
        raise UsageError(
            _("The preview cannot be written to {path}: {reason}. Choose a file with --output.")
            .format(path=path, reason=error.strerror or error)
        ) from None
    print(_("Subject: {subject}").format(subject=rendered.subject))
    print(path.resolve())
    if args.text:
        print(path.with_suffix(".txt").resolve())
    return EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    config, store = _open(args)
    try:
        reports = service.send_week(config, store, args.week)
        for report in reports:
            print(_describe(config, report))
    finally:
        store.dispose()
    failed = [r for r in reports if r.status not in ("sent", "outbox")]
    if failed:
        sys.stderr.write(
            _("{count} report(s) not delivered yet; the daemon will try again.").format(
                count=len(failed)
            )
            + "\n"
        )
        return EXIT_NOT_DELIVERED
    return EXIT_OK


def _address(value: str) -> str:
    if not EMAIL.match(value):
        raise argparse.ArgumentTypeError(_("not a valid e-mail address: {value}").format(value=value))
    return value


def cmd_resend(args: argparse.Namespace) -> int:
    config, store = _open(args)
    try:
        report = service.resend(config, store, args.id, recipients=args.to)
        print(_describe(config, report))
    finally:
        store.dispose()
    return EXIT_OK if report.status in ("sent", "outbox") else EXIT_NOT_DELIVERED


def cmd_list(args: argparse.Namespace) -> int:
    config, store = _open(args)
    try:
        with store.session() as session:
            query = select(Report).order_by(col(Report.id).desc()).limit(args.limit)
            if args.kind:
                query = query.where(Report.kind == args.kind)
            rows = list(session.exec(query))
    finally:
        store.dispose()
    if not rows:
        print(_("No report is archived yet."))
        return EXIT_OK
    tz = config.vigie.timezone
    for report in rows:
        created = formatting.iso_datetime(report.created_at, tz)
        print(
            f"{report.id:>6}  {created}  {report.kind:<9} {report.period:<20} "
            f"{_status(report):<22} {report.attempts:>2}  {report.subject}"
        )
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser("report", help=_("weekly vigil reports: preview, send, resend"))
    commands = report.add_subparsers(dest="report_command", required=True, metavar=_("COMMAND"))
    week_help = _("ISO week such as 2026-W47, “last” (the default) or “current”")

    preview = commands.add_parser(
        "preview", help=_("render a digest into an HTML file and print its path")
    )
    preview.add_argument("--week", metavar="2026-W47", help=week_help)
    scope = preview.add_mutually_exclusive_group()
    scope.add_argument("--space", metavar="ID", help=_("only this space"))
    scope.add_argument("--direction", metavar=_("NAME"),
                       help=_("the digest of one direction (a space owner)"))
    preview.add_argument("-o", "--output", metavar=_("FILE"),
                         help=_("where to write the HTML (default: the outbox folder)"))
    preview.add_argument("--text", action="store_true",
                         help=_("also write the plain-text version beside it"))
    preview.set_defaults(func=cmd_preview)

    send = commands.add_parser(
        "send", help=_("send a week's digests now (communications service and directions)")
    )
    send.add_argument("--week", metavar="2026-W47", help=week_help)
    send.set_defaults(func=cmd_send)

    resend = commands.add_parser("resend", help=_("send an archived report again"))
    resend.add_argument("id", type=int, metavar="ID", help=_("the report's number (vigie report list)"))
    resend.add_argument("--to", action="append", type=_address, metavar=_("ADDRESS"),
                        help=_("send to this address instead (may be repeated)"))
    resend.set_defaults(func=cmd_resend)

    listing = commands.add_parser("list", help=_("list the archived reports, newest first"))
    listing.add_argument("--limit", type=int, default=20, help=_("how many (default 20)"))
    listing.add_argument("--kind", choices=["weekly", "direction", "alert", "health"])
    listing.set_defaults(func=cmd_list)



