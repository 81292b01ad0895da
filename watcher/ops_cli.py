"""Operations subcommands: ``vigie audit verify``, ``vigie purge``, ``vigie export``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlmodel import func as sql_func
from sqlmodel import select

from watcher import audit, retention
from watcher.config import Config, load_config
from watcher.errors import StoreError, UsageError
from watcher.i18n import WATCHER_LOCALE_DIR, ngettext_for, set_language, translator
from watcher.privacy import export_author
from watcher.store.db import Store, open_store
from watcher.store.models import AuditEvent, utcnow

_ = translator("ops", WATCHER_LOCALE_DIR)
ngettext = ngettext_for("ops", WATCHER_LOCALE_DIR)

EXIT_TAMPERED = 1


def _open(args: argparse.Namespace, *, migrate: bool) -> tuple[Config, Store]:
    """Load the configuration (its language unless --lang) and open the store."""
    config = load_config(args.config)
    if not getattr(args, "lang", None):
        set_language(config.vigie.language)
    store = open_store(config.database_url, config.store.busy_timeout_ms, migrate=migrate)
    if not migrate and store.current_revision() is None:
        store.dispose()
        raise StoreError(
            _("The store at {url} is empty: start the daemon or run “vigie db upgrade” first.")
            .format(url=config.database_url)
        )
    return config, store


def cmd_audit_verify(args: argparse.Namespace) -> int:
    _config, store = _open(args, migrate=False)
    try:
        with store.session() as session:
            total = session.exec(select(sql_func.count()).select_from(AuditEvent)).one()
            broken = audit.verify(session)
    finally:
        store.dispose()
    if not broken:
        print(
            ngettext(
                "Audit log intact: {count} event checked, every hash matches.",
                "Audit log intact: {count} events checked, every hash matches.",
                total,
            ).format(count=total)
        )
        return 0
    shown = ", ".join(str(i) for i in broken[:20]) + (" …" if len(broken) > 20 else "")
    sys.stderr.write(
        ngettext(
            "Audit log ALTERED: {count} event of {total} does not match its hash or its "
            "predecessor (id: {ids}). The log was changed outside Vigie; keep a copy of the "
            "store and compare it with a backup.",
            "Audit log ALTERED: {count} events of {total} do not match their hash or their "
            "predecessor (ids: {ids}). The log was changed outside Vigie; keep a copy of the "
            "store and compare it with a backup.",
            len(broken),
        ).format(count=len(broken), total=total, ids=shown)
        + "\n"
    )
    return EXIT_TAMPERED


def cmd_purge(args: argparse.Namespace) -> int:
    config, store = _open(args, migrate=True)
    try:
        stats = retention.purge(config, store, utcnow(), dry_run=args.dry_run)
    finally:
        store.dispose()
    if args.json:
        print(json.dumps(stats.as_dict(), ensure_ascii=False, indent=2))
        return 0
    title = (
        _("Retention (dry run: nothing changed):")
        if args.dry_run
        else _("Retention: what expired was destroyed or anonymized:")
    )
    lines = [
        title,
        _("  comments left up, text and author removed: {n}").format(n=stats.comments_left_up),
        _("  moderation records, text and author removed: {n}").format(
            n=stats.comments_moderated
        ),
        _("  archived reports deleted: {n}").format(n=stats.reports),
        _("  outbox e-mails deleted: {n}").format(n=stats.outbox_files),
        _("  webhook delivery keys deleted: {n}").format(n=stats.webhook_keys),
    ]
    if stats.skipped_pending:
        lines.append(
            _("  expired but left for later (not yet classified, or an action pending): {n}")
            .format(n=stats.skipped_pending)
        )
    if not stats.total:
        lines.append(_("Nothing has expired."))
    else:
        done = (
            _("{total} items would be purged; the counts used by reports would be kept.")
            if args.dry_run
            else _("{total} items purged; the counts used by reports are kept.")
        )
        lines.append(done.format(total=stats.total))
    print("\n".join(lines))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    author = (args.author or "").strip()
    if not author:
        raise UsageError(_("Give the author's platform id: vigie export --author ID."))
    config, store = _open(args, migrate=False)
    try:
        if args.space:
            try:
                config.space(args.space)
            except KeyError:
                raise UsageError(
                    _("No space “{space}” in the configuration.").format(space=args.space)
                ) from None
        data = export_author(store, author, args.space, now=utcnow())
    finally:
        store.dispose()
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
    if args.output and args.output != "-":
        path = Path(args.output)
        try:
            with path.open("x", encoding="utf-8") as out:  # never overwrite another export
                out.write(text)
            path.chmod(0o600)
        except FileExistsError:
            raise UsageError(
                _("{path} already exists: choose another file.").format(path=path)
            ) from None
        except OSError as error:
            raise UsageError(
                _("{path} cannot be written: {reason}.").format(path=path, reason=error.strerror)
            ) from None
        sys.stderr.write(
            ngettext(
                "{count} comment of author {author} written to {path}.",
                "{count} comments of author {author} written to {path}.",
                data["comment_count"],
            ).format(count=data["comment_count"], author=author, path=path)
            + "\n"
        )
    else:
        sys.stdout.write(text)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    audit_parser = subparsers.add_parser("audit", help=_("check the audit log"))
    audit_sub = audit_parser.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify", help=_("recompute the audit log's hash chain and report any change")
    )
    verify.set_defaults(func=cmd_audit_verify)

    purge = subparsers.add_parser(
        "purge", help=_("destroy or anonymize what the retention periods say has expired")
    )
    purge.add_argument(
        "--dry-run", action="store_true", help=_("count what would be purged, change nothing")
    )
    purge.add_argument("--json", action="store_true", help=_("print the counts as JSON"))
    purge.set_defaults(func=cmd_purge)

    export = subparsers.add_parser(
        "export", help=_("everything stored about one person, as JSON (access requests)")
    )
    export.add_argument("--author", required=True, metavar="ID",
                        help=_("the author's id on the platform"))
    export.add_argument("--space", metavar="ID", help=_("only this space"))
    export.add_argument("-o", "--output", metavar="FILE",
                        help=_("write to this new file (mode 600) instead of standard output"))
    export.set_defaults(func=cmd_export)
