"""Retention (Loi sur l'accès, Law 25): destroy or anonymize personal information that expired.

Run daily by the daemon and by ``vigie purge [--dry-run]``. Periods come from ``[retention]``
(days; 0 keeps forever). What expires, counted from when Vigie collected the comment:

- **comments left up** (never flagged, never acted on, not under review): after
  ``comments_left_up_days`` the text is emptied, the author's id, name and details are set to
  NULL, the permalink dropped, and the verdict's evidence loses its excerpts;
- **moderation records** (hidden, deleted, queued for review, or acted on in any way): the same,
  after ``hidden_items_days`` (the centre's retention schedule) — they are the evidence when a
  hide is disputed, so they are kept longer;
- **archived reports** (which quote excerpts) older than ``reports_days`` are deleted, with the
  copies left in the outbox folder;
- **webhook delivery keys** (no personal information) are dropped after seven days.

Rows are kept, emptied: the counts reports need (comments per space, category, decision and
week), the verdict's categories and scores, and the platform id (so a comment purged is never
fetched and judged again) stay. ``purged_at`` records when. A comment whose action is still
pending or that is not yet classified is left for a later purge.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from watcher import audit
from watcher.config import Config
from watcher.store.db import Store
from watcher.store.models import Action, Comment, Report, Verdict, WebhookDelivery

log = logging.getLogger(__name__)

BATCH = 500
WEBHOOK_KEYS_DAYS = 7
# Verdict evidence keys that quote the comment; the others (rule, category, messages written
# by the policy's authors, offsets) say why without saying what.
EVIDENCE_TEXT_KEYS = ("excerpt", "text", "match", "snippet", "quote")
MODERATED_DECISIONS = ("hide", "review", "observe_hide", "observe_review")


@dataclass
class PurgeStats:
    """What a purge destroyed or anonymized (or would, in a dry run)."""

    dry_run: bool = False
    comments_left_up: int = 0
    comments_moderated: int = 0
    reports: int = 0
    outbox_files: int = 0
    webhook_keys: int = 0
    skipped_pending: int = 0  # expired, but an action or the classification is still to come
    cutoffs: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return (
            self.comments_left_up
            + self.comments_moderated
            + self.reports
            + self.outbox_files
            + self.webhook_keys
        )

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["total"] = self.total
        return data


def _cutoff(now: dt.datetime, days: int) -> dt.datetime | None:
    return now - dt.timedelta(days=days) if days > 0 else None


def _moderated_condition() -> sa.ColumnElement[bool]:
    """SQL condition: the comment is a moderation record (flagged, hidden, reviewed or acted on)."""
    acted = sa.exists().where(Action.__table__.c.comment_id == Comment.__table__.c.id)
    flagged = sa.exists().where(
        Verdict.__table__.c.comment_id == Comment.__table__.c.id,
        Verdict.__table__.c.decision.in_(MODERATED_DECISIONS),
    )
    return sa.or_(
        col(Comment.platform_state) != "visible",
        col(Comment.review_status) != "none",
        acted,
        flagged,
    )


def _pending_condition() -> sa.ColumnElement[bool]:
    """SQL condition: the comment still has work to come (an action, or its classification)."""
    open_action = sa.exists().where(
        Action.__table__.c.comment_id == Comment.__table__.c.id,
        Action.__table__.c.state.in_(("requested", "in_flight")),
    )
    return sa.or_(col(Comment.classified).is_(False), open_action)


def _expired_ids(
    session: Session, cutoff: dt.datetime, moderated: bool, after_id: int
) -> list[int]:
    kind = _moderated_condition()
    query = (
        select(Comment.id)
        .where(col(Comment.purged_at).is_(None))
        .where(col(Comment.fetched_at) < cutoff)
        .where(kind if moderated else sa.not_(kind))
        .where(sa.not_(_pending_condition()))
        .where(col(Comment.id) > after_id)
        .order_by(col(Comment.id))
        .limit(BATCH)
    )
    return [i for i in session.exec(query) if i is not None]


def _count_skipped(session: Session, cutoffs: list[tuple[dt.datetime, bool]]) -> int:
    total = 0
    for cutoff, moderated in cutoffs:
        kind = _moderated_condition()
        query = (
            select(sa.func.count())
            .select_from(Comment)
            .where(col(Comment.purged_at).is_(None))
            .where(col(Comment.fetched_at) < cutoff)
            .where(kind if moderated else sa.not_(kind))
            .where(_pending_condition())
        )
        total += int(session.exec(query).one())
    return total


def strip_evidence(evidence: list[dict]) -> list[dict]:
    """Given a verdict's evidence, return it without the quoted text."""
    return [
        {k: v for k, v in item.items() if k not in EVIDENCE_TEXT_KEYS}
        if isinstance(item, dict)
        else {}
        for item in evidence or []
    ]


def _anonymize(session: Session, ids: list[int], now: dt.datetime) -> None:
    session.execute(
        sa.update(Comment.__table__)
        .where(Comment.__table__.c.id.in_(ids))
        .values(
            text="",
            author_id=None,
            author_name=None,
            author_meta={},
            permalink=None,
            purged_at=now.astimezone(dt.UTC),
        )
    )
    for verdict in session.exec(select(Verdict).where(col(Verdict.comment_id).in_(ids))):
        verdict.evidence = strip_evidence(verdict.evidence)
        session.add(verdict)


def _batches(
    store: Store, cutoff: dt.datetime, moderated: bool
) -> Iterator[tuple[Session, list[int]]]:
    """Yield (session, ids) batches of expired comments, one transaction per batch."""
    after = 0
    while True:
        with store.session() as session:
            ids = _expired_ids(session, cutoff, moderated, after)
            if not ids:
                return
            yield session, ids
        after = ids[-1]


def _outbox_files(folder: Path, cutoff: dt.datetime) -> list[Path]:
    if not folder.is_dir():
        return []
    old = []
    for path in folder.iterdir():
        try:
            modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        except OSError:
            continue
        if path.is_file() and modified < cutoff:
            old.append(path)
    return old


def purge(config: Config, store: Store, now: dt.datetime, *, dry_run: bool = False) -> PurgeStats:
    """Destroy or anonymize what expired at ``now`` per ``config.retention``; return the counts.

    With ``dry_run``, count only. Each batch is its own transaction, so an interrupted purge
    leaves every row either untouched or fully purged, and the next run goes on.
    """
    if now.tzinfo is None:
        raise ValueError("purge needs an aware datetime")
    retention = config.retention
    stats = PurgeStats(dry_run=dry_run)
    left_up_cutoff = _cutoff(now, retention.comments_left_up_days)
    moderated_cutoff = _cutoff(now, retention.hidden_items_days)
    reports_cutoff = _cutoff(now, retention.reports_days)
    for name, value in (
        ("comments_left_up", left_up_cutoff),
        ("comments_moderated", moderated_cutoff),
        ("reports", reports_cutoff),
    ):
        stats.cutoffs[name] = value.isoformat() if value else "never"

    for cutoff, moderated in ((left_up_cutoff, False), (moderated_cutoff, True)):
        if cutoff is None:
            continue
        count = 0
        if dry_run:
            after = 0
            with store.session() as session:
                while ids := _expired_ids(session, cutoff, moderated, after):
                    count += len(ids)
                    after = ids[-1]
        else:
            for session, ids in _batches(store, cutoff, moderated):
                _anonymize(session, ids, now)
                count += len(ids)
        if moderated:
            stats.comments_moderated = count
        else:
            stats.comments_left_up = count

    with store.session() as session:
        stats.skipped_pending = _count_skipped(
            session,
            [(c, m) for c, m in ((left_up_cutoff, False), (moderated_cutoff, True)) if c],
        )
        if reports_cutoff is not None:
            condition = col(Report.created_at) < reports_cutoff
            stats.reports = int(
                session.exec(select(sa.func.count()).select_from(Report).where(condition)).one()
            )
            if not dry_run and stats.reports:
                session.execute(sa.delete(Report.__table__).where(condition))
        webhook_cutoff = now - dt.timedelta(days=WEBHOOK_KEYS_DAYS)
        condition = col(WebhookDelivery.received_at) < webhook_cutoff
        stats.webhook_keys = int(
            session.exec(select(sa.func.count()).select_from(WebhookDelivery).where(condition)).one()
        )
        if not dry_run and stats.webhook_keys:
            session.execute(sa.delete(WebhookDelivery.__table__).where(condition))

    if reports_cutoff is not None:
        old_files = _outbox_files(config.outbox_dir, reports_cutoff)
        stats.outbox_files = len(old_files)
        if not dry_run:
            for path in old_files:
                try:
                    path.unlink()
                except OSError as error:
                    stats.outbox_files -= 1
                    log.warning("cannot delete %s: %s", path, error.strerror)

    if not dry_run and stats.total:
        with store.session() as session:
            audit.record(
                session,
                "system",
                "retention.purge",
                details={k: v for k, v in stats.as_dict().items() if k != "dry_run"},
            )
    log.info(
        "retention: %d comments left up and %d moderation records anonymized, %d reports, "
        "%d outbox files and %d webhook keys deleted%s",
        stats.comments_left_up,
        stats.comments_moderated,
        stats.reports,
        stats.outbox_files,
        stats.webhook_keys,
        " (dry run)" if dry_run else "",
    )
    return stats
