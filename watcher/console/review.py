"""What the console reads and decides, without Flask: the queue, an item, a decision.

A decision never calls a platform (the console holds no token). It updates the comment's
``review_status``, writes a ``review_labels`` row (labelled data for ``vigie train``), records
an audit event and, when the platform must change, inserts an ``actions`` row in state
``requested`` that the daemon carries out within seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from watcher import audit
from watcher.categories import CATEGORY_IDS
from watcher.config import Config
from watcher.console.i18n import _
from watcher.errors import UsageError
from watcher.store.models import (
    Action,
    AuditEvent,
    Comment,
    Post,
    ReviewLabel,
    Verdict,
    utcnow,
)

DECISIONS = ("confirm", "restore", "false_alarm", "reclassify", "delete")
BULK_DECISIONS = ("confirm", "restore", "false_alarm", "reclassify")
STATUSES = ("todo", "hidden", "pending", "confirmed", "restored", "false_alarm", "reclassified", "all")
ACCEPTABLE = "acceptable"
OPEN_ACTION_STATES = ("requested", "in_flight")
PAGE_SIZE = 50


class DecisionError(UsageError):
    """A decision that cannot be taken on this item (said in one sentence)."""


@dataclass(frozen=True)
class QueueFilter:
    space: str | None = None
    category: str | None = None
    status: str = "todo"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = 1


@dataclass
class QueueRow:
    comment: Comment
    verdict: Verdict | None
    label: str | None = None  # latest review label
    action: Action | None = None  # latest action


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    counts: list[tuple[str, int]] = field(default_factory=list)  # per space, same filter


# Verdict decisions that put a comment in the queue, and those that leave it waiting for review.
QUEUED_DECISIONS = ("hide", "review", "observe_hide")
WAITING_DECISIONS = ("review", "observe_hide")
GONE_STATES = ("hidden", "deleted")


def _category_clause(comment_id: Any, category: str) -> Any:
    # JSON lists are compared as text (both SQLite and PostgreSQL render them '["a", "b"]');
    # category ids never contain one another between quotes.
    in_verdict = (
        select(Verdict.id)
        .where(Verdict.comment_id == comment_id,
               sa.cast(Verdict.categories, sa.String).like(f'%"{category}"%'))
        .exists()
    )
    relabelled = (
        select(ReviewLabel.id)
        .where(ReviewLabel.comment_id == comment_id, ReviewLabel.label == category)
        .exists()
    )
    return sa.or_(in_verdict, relabelled)


def _parts(status: str) -> tuple[list[Any], tuple[tuple[str, ...], Any] | None]:
    """The queue of a status as disjoint parts: conditions on the comment alone, and at most one
    part of comments flagged by their verdict (its decisions, and a condition on the comment).

    A comment is in the queue when it is hidden or deleted, has a review status other than
    ``none``, or its verdict's decision is one of ``QUEUED_DECISIONS``; it waits for review when
    its status is ``pending``, or ``none`` with a verdict of ``WAITING_DECISIONS`` (the
    verdict's decision is kept on the comment). Written as parts that never overlap, each part
    is read from one index (``ix_comments_status_queue``, ``ix_comments_state_queue``,
    ``ix_comments_flagged``) and the parts' counts add up: the queue never reads the verdicts.
    ``review_status != 'none'`` is read as two ranges, which an index can answer.
    """
    status_is, state = col(Comment.review_status), col(Comment.platform_state)
    if status == "todo":  # waiting, or hidden and not decided
        return ([status_is == "pending", sa.and_(status_is == "none", state == "hidden")],
                (WAITING_DECISIONS, state != "hidden"))
    if status == "hidden":
        return [state == "hidden"], None
    if status == "pending":
        return [status_is == "pending"], (WAITING_DECISIONS, sa.true())
    if status in ("confirmed", "restored", "false_alarm", "reclassified"):
        return [status_is == status], None
    # all: every comment of the queue
    return ([status_is < "none", status_is > "none",
             sa.and_(status_is == "none", state.in_(GONE_STATES))],
            (QUEUED_DECISIONS, state.not_in(GONE_STATES)))


def _flagged(decisions: tuple[str, ...]) -> Any:
    """The condition of the comments whose verdict's decision is one of ``decisions`` and whose
    review status is ``none``, read from the partial index ``ix_comments_flagged`` (the
    pipeline writes the decision on the comment with its verdict).

    The pipeline marks every comment it flags ``pending``, so this is nearly always empty:
    ``queue`` asks once whether it is, and leaves the part out of its statements if so.
    """
    # with the partial index's own condition (models.FLAGGED) in a literal, not a parameter, so
    # that both databases see the index applies
    return sa.and_(Comment.review_status == "none",
                   col(Comment.decision) != sa.literal_column("'allow'"),
                   col(Comment.decision).in_(decisions))


def _without_jit(session: Session) -> None:
    """Turn PostgreSQL's JIT compilation off for the rest of the transaction.

    The queue's statements read tens of thousands of index entries, and PostgreSQL's cost
    estimates of its per-item conditions (a category) pass the JIT thresholds: compiling them
    took 0.3 to 0.9 s on a one-million store, longer than running them (0.2 s without).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.exec(sa.text("SET LOCAL jit = off"))  # type: ignore[call-overload]


def _with_flagged(session: Session, status: str) -> bool:
    """Whether the status's part of comments flagged by their verdict may hold any item."""
    _alone, flagged = _parts(status)
    if flagged is None:
        return False
    # counted, not LIMIT 1: PostgreSQL, estimating thousands of matches from each column's own
    # statistics, would scan the table for the first one rather than read the partial index
    return bool(session.exec(select(func.count()).where(_flagged(flagged[0]))).one())


def _items(flt: QueueFilter, allowed: set[str] | None, tz: dt.tzinfo, *,
           space: str | None = None, flagged: bool = True) -> Any:
    """The queue's items for a filter: a select of ``id``, ``space_id``, ``created_time``.

    Every condition is on the comment's own columns (a category is looked up per item), so
    the items are read from the comments' indexes; only a page's 50 rows are then loaded
    whole (``queue``). ``flagged=False`` leaves out the part of comments flagged by their
    verdict, for when ``_with_flagged`` found it empty.
    """
    shared: list[Any] = []
    if allowed is not None:
        shared.append(col(Comment.space_id).in_(sorted(allowed) or [""]))
    if space:
        shared.append(Comment.space_id == space)
    if flt.date_from:
        start = dt.datetime.combine(flt.date_from, dt.time.min, tzinfo=tz)
        shared.append(Comment.created_time >= start)
    if flt.date_to:
        end = dt.datetime.combine(flt.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        shared.append(Comment.created_time < end)
    if flt.category:
        shared.append(_category_clause(Comment.id, flt.category))
    columns = (col(Comment.id).label("id"), col(Comment.space_id).label("space_id"),
               col(Comment.created_time).label("created_time"))
    alone, part = _parts(flt.status)
    selects = [select(*columns).where(condition, *shared) for condition in alone]
    if part is not None and flagged:
        decisions, condition = part
        selects.append(select(*columns).where(_flagged(decisions), condition, *shared))
    return sa.union_all(*selects) if len(selects) > 1 else selects[0]


def _newest_first(items: Any) -> Any:
    return select(items.c.id, items.c.created_time).order_by(
        items.c.created_time.desc(), items.c.id.desc())


def _newest_ids(found: list[tuple[Any, int]]) -> list[int]:
    """Ids from (created_time, id) pairs in any order, newest first, then by id as in SQL (the
    times compare as the database compares them: datetimes, or SQLite's text)."""
    return [i for _when, i in sorted(found, reverse=True)]


def queue(
    session: Session, flt: QueueFilter, allowed: set[str] | None, tz: dt.tzinfo
) -> QueuePage:
    """Return one page of the queue, newest first, and the counts per space for the filter.

    The counts and the page's ids are read from indexes (``_items``); only the page's rows
    are loaded with their verdicts.
    """
    _without_jit(session)
    flagged = _with_flagged(session, flt.status)
    # The items are found once (a per-item condition such as a category is the costly part),
    # then counted per space and paged from that one list, in one statement: a common table
    # expression read twice is materialized by PostgreSQL (12 and later) and SQLite (3.35).
    items = _items(flt, allowed, tz, flagged=flagged).cte("items")
    requested = max(1, flt.page)

    def page_of(number: int) -> Any:
        shown = _newest_first(items)
        if flt.space:
            shown = shown.where(items.c.space_id == flt.space)
        return shown.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE).subquery("page")

    shown = page_of(requested)
    both = sa.union_all(
        select(items.c.space_id, func.count(), sa.null(), sa.null()).group_by(items.c.space_id),
        select(sa.null(), sa.null(), shown.c.id, shown.c.created_time),
    )
    counts: list[tuple[str, int]] = []
    found: list[tuple[Any, int]] = []
    for space, n, item, when in session.exec(both).all():
        if item is None:
            counts.append((space, int(n)))
        else:
            found.append((when, int(item)))
    counts.sort()
    if flt.space:
        total = next((n for space, n in counts if space == flt.space), 0)
    else:
        total = sum(n for _space, n in counts)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(requested, pages)
    if page != requested:  # asked past the last page (the queue shrank): show the last one
        last = page_of(page)
        found = [(when, int(i)) for i, when in session.exec(select(last.c.id,
                                                                   last.c.created_time))]
    ids = _newest_ids(found)
    rows: list[QueueRow] = []
    if ids:
        loaded = {
            comment.id: QueueRow(comment, verdict)
            for comment, verdict in session.exec(
                select(Comment, Verdict)
                .join(Verdict, Verdict.comment_id == Comment.id, isouter=True)
                .where(col(Comment.id).in_(ids))
            ).all()
        }
        rows = [loaded[i] for i in ids if i in loaded]
        labels = latest_labels(session, ids)
        actions = latest_actions(session, ids)
        for row in rows:
            row.label = labels.get(row.comment.id or 0)
            row.action = actions.get(row.comment.id or 0)
    return QueuePage(rows=rows, total=total, page=page, pages=pages, counts=counts)


BULK_LIMIT = 500


def filtered_ids(
    session: Session, flt: QueueFilter, allowed: set[str] | None, tz: dt.tzinfo,
    limit: int = BULK_LIMIT,
) -> list[int]:
    """Return the ids of the queue's items for a filter (every page), newest first."""
    _without_jit(session)
    flagged = _with_flagged(session, flt.status)
    items = _items(flt, allowed, tz, space=flt.space, flagged=flagged).subquery("items")
    return [int(i) for i, _when in session.exec(_newest_first(items).limit(limit)).all()]


def latest_labels(session: Session, comment_ids: list[int]) -> dict[int, str]:
    labels: dict[int, str] = {}
    statement = (
        select(ReviewLabel)
        .where(col(ReviewLabel.comment_id).in_(comment_ids))
        .order_by(col(ReviewLabel.id))
    )
    for label in session.exec(statement).all():
        labels[label.comment_id] = label.label
    return labels


def latest_actions(session: Session, comment_ids: list[int]) -> dict[int, Action]:
    actions: dict[int, Action] = {}
    statement = select(Action).where(col(Action.comment_id).in_(comment_ids)).order_by(col(Action.id))
    for action in session.exec(statement).all():
        actions[action.comment_id] = action
    return actions


# --- One item ------------------------------------------------------------------------------


@dataclass
class Item:
    comment: Comment
    verdict: Verdict | None
    post: Post | None
    thread: list[Comment]
    parent: Comment | None
    others: list[Comment]  # the author's other comments in the space
    actions: list[Action]
    events: list[AuditEvent]
    labels: list[ReviewLabel]

    @property
    def label(self) -> str | None:
        return self.labels[-1].label if self.labels else None

    @property
    def categories(self) -> list[str]:
        """The item's categories: the latest human label first, then the verdict's."""
        found: list[str] = []
        if self.label and self.label != ACCEPTABLE:
            found.append(self.label)
        for category in self.verdict.categories if self.verdict else []:
            if category not in found:
                found.append(category)
        return found

    @property
    def history(self) -> list[tuple[str, Action | AuditEvent]]:
        """Actions and audit events, oldest first: ("action", Action) or ("event", AuditEvent)."""
        entries: list[tuple[dt.datetime, int, str, Action | AuditEvent]] = [
            (a.created_at, 1, "action", a) for a in self.actions
        ]
        entries += [(e.at, 0, "event", e) for e in self.events]
        entries.sort(key=lambda entry: (entry[0], entry[1], entry[3].id or 0))
        return [(kind, obj) for _at, _order, kind, obj in entries]

    @property
    def open_actions(self) -> list[Action]:
        return [a for a in self.actions if a.state in OPEN_ACTION_STATES]


def load_item(session: Session, comment_id: int, allowed: set[str] | None) -> Item | None:
    """Return the item, or None if it does not exist or is outside the account's scope."""
    comment = session.get(Comment, comment_id)
    if comment is None or (allowed is not None and comment.space_id not in allowed):
        return None
    verdict = session.exec(select(Verdict).where(Verdict.comment_id == comment_id)).first()
    post = None
    thread: list[Comment] = []
    if comment.post_platform_id:
        post = session.exec(
            select(Post).where(
                Post.space_id == comment.space_id, Post.platform_id == comment.post_platform_id
            )
        ).first()
        thread = list(
            session.exec(
                select(Comment)
                .where(
                    Comment.space_id == comment.space_id,
                    Comment.post_platform_id == comment.post_platform_id,
                )
                .order_by(col(Comment.created_time), col(Comment.id))
                .limit(200)
            ).all()
        )
    parent = None
    if comment.parent_platform_id:
        parent = session.exec(
            select(Comment).where(
                Comment.platform == comment.platform,
                Comment.platform_id == comment.parent_platform_id,
            )
        ).first()
    others: list[Comment] = []
    if comment.author_id:
        others = list(
            session.exec(
                select(Comment)
                .where(
                    Comment.space_id == comment.space_id,
                    Comment.author_id == comment.author_id,
                    Comment.id != comment.id,
                )
                .order_by(col(Comment.created_time).desc())
                .limit(50)
            ).all()
        )
    actions = list(
        session.exec(
            select(Action).where(Action.comment_id == comment_id).order_by(col(Action.id))
        ).all()
    )
    events = list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.comment_id == comment_id)
            .order_by(col(AuditEvent.id))
        ).all()
    )
    labels = list(
        session.exec(
            select(ReviewLabel)
            .where(ReviewLabel.comment_id == comment_id)
            .order_by(col(ReviewLabel.id))
        ).all()
    )
    return Item(comment, verdict, post, thread, parent, others, actions, events, labels)


def can_delete(config: Config, space_id: str) -> bool:
    """A space allows deleting when its configuration lists categories for it (policy 8.2)."""
    try:
        return bool(config.space(space_id).delete_categories)
    except KeyError:
        return False


# --- Decisions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    comment_id: int
    decision: str
    label: str
    action_kind: str | None  # the platform action requested, if any
    action_id: int | None


def decide(
    session: Session,
    config: Config,
    item: Item,
    decision: str,
    username: str,
    *,
    reason: str = "",
    category: str | None = None,
) -> Outcome:
    """Record a moderator's decision on an item. Raise DecisionError if it cannot be taken."""
    comment = item.comment
    if decision not in DECISIONS:
        raise DecisionError(_("Unknown decision."))
    if comment.purged_at is not None:
        raise DecisionError(_("This comment was purged by the retention rules: it can no longer be reviewed."))
    if comment.platform_state == "deleted":
        raise DecisionError(_("This comment was deleted from the platform: nothing more can be done."))
    reason = reason.strip()[:1000]
    platform_kind: str | None = None
    if decision == "confirm":
        label = _primary_category(item, category)
        status = "confirmed"
        if comment.platform_state == "visible":
            platform_kind = "hide"
    elif decision in ("restore", "false_alarm"):
        label = ACCEPTABLE
        status = "restored" if decision == "restore" else "false_alarm"
        if comment.platform_state == "hidden":
            platform_kind = "unhide"
    elif decision == "reclassify":
        if category not in CATEGORY_IDS:
            raise DecisionError(_("Choose the category to file this comment under."))
        label = category
        status = "reclassified"
    else:  # delete
        if not can_delete(config, comment.space_id):
            raise DecisionError(
                _("This space does not allow deleting comments (only hiding them).")
            )
        label = _primary_category(item, category)
        status = "confirmed"
        platform_kind = "delete"

    if platform_kind is not None and not _active(config, comment.space_id):
        raise DecisionError(
            _(
                "This space is no longer watched by Vigie (removed or disabled in the "
                "configuration): nothing can be changed on the platform from here."
            )
        )
    actor = f"admin:{username}"
    previous = comment.review_status
    comment.review_status = status
    session.add(comment)
    session.add(ReviewLabel(comment_id=comment.id or 0, label=label, decided_by=actor))
    action_id = None
    if platform_kind is not None:
        action_id = _request_action(session, comment, platform_kind, actor, reason or decision)
    session.flush()
    audit.record(
        session,
        actor,
        f"review.{decision}",
        space_id=comment.space_id,
        comment_id=comment.id,
        details={
            "label": label,
            "previous_status": previous,
            "status": status,
            "reason": reason,
            "action": platform_kind,
            "action_id": action_id,
        },
    )
    return Outcome(comment.id or 0, decision, label, platform_kind, action_id)


def _active(config: Config, space_id: str) -> bool:
    try:
        return config.space(space_id).enabled
    except KeyError:
        return False


def _primary_category(item: Item, chosen: str | None) -> str:
    if chosen:
        if chosen not in CATEGORY_IDS:
            raise DecisionError(_("Unknown category."))
        return chosen
    if item.categories:
        return item.categories[0]
    raise DecisionError(
        _("Vigie gave this comment no category: reclassify it into the right one instead.")
    )


def _request_action(session: Session, comment: Comment, kind: str, actor: str, reason: str) -> int:
    """Insert a requested platform action, unless the same one is already waiting."""
    waiting = session.exec(
        select(Action).where(
            Action.comment_id == comment.id,
            Action.kind == kind,
            col(Action.state).in_(OPEN_ACTION_STATES),
        )
    ).first()
    if waiting is not None:
        return waiting.id or 0
    now = utcnow()
    action = Action(
        comment_id=comment.id or 0,
        kind=kind,
        state="requested",
        requested_by=actor,
        reason=reason,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    return action.id or 0


# --- Statistics ----------------------------------------------------------------------------

STAT_DECISIONS = ("hide", "review", "observe_hide", "allow")
STAT_REVIEWS = ("confirmed", "restored", "false_alarm", "reclassified")


@dataclass
class SpaceStats:
    space_id: str
    judged: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    reviews: dict[str, int] = field(default_factory=dict)

    @property
    def undone(self) -> int:
        """Hides a person undid (restored or false alarm)."""
        return self.reviews.get("restored", 0) + self.reviews.get("false_alarm", 0)


def statistics(
    session: Session, allowed: set[str] | None, since: dt.datetime
) -> tuple[list[SpaceStats], dict[str, int]]:
    """Return, for comments judged since ``since``: counts per space, and flags per category."""
    judged = (
        select(Comment.space_id, Verdict.decision, Comment.review_status, func.count(Comment.id))
        .join(Verdict, Verdict.comment_id == Comment.id)
        .where(Verdict.created_at >= since)
        .group_by(Comment.space_id, Verdict.decision, Comment.review_status)
    )
    if allowed is not None:
        judged = judged.where(col(Comment.space_id).in_(sorted(allowed) or [""]))
    by_space: dict[str, SpaceStats] = {}
    for space_id, decision, status, count in session.exec(judged).all():
        stats = by_space.setdefault(space_id, SpaceStats(space_id))
        stats.judged += int(count)
        stats.decisions[decision] = stats.decisions.get(decision, 0) + int(count)
        if status in STAT_REVIEWS:
            stats.reviews[status] = stats.reviews.get(status, 0) + int(count)
    flagged = (
        select(Verdict.categories)
        .join(Comment, Verdict.comment_id == Comment.id)
        .where(Verdict.created_at >= since, col(Verdict.decision) != "allow")
    )
    if allowed is not None:
        flagged = flagged.where(col(Comment.space_id).in_(sorted(allowed) or [""]))
    per_category: dict[str, int] = dict.fromkeys(CATEGORY_IDS, 0)
    for categories in session.exec(flagged).all():
        for category in categories or []:
            if category in per_category:
                per_category[category] += 1
    return sorted(by_space.values(), key=lambda s: s.space_id), per_category
