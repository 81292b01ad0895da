"""One space's cycle: poll → store new comments → classify → decide → act → record.

Crash-safety:
- the cursor is written in the same transaction as the comments it covers, so it advances
  only once they are committed, and comments are inserted idempotently (unique platform id);
- a comment is classified once: its verdict row is unique, and the comment is marked
  ``classified`` in the same transaction;
- an action is claimed (``requested`` → ``in_flight``) before the platform call and closed
  after it; an action found ``in_flight`` after a crash is reconciled by reading the comment's
  state on the platform first, so no platform action is ever made twice. The claimed actions
  of one kind that follow each other are sent together (``Connector.act_many``: Graph batch
  requests of up to 50), in the order they were asked, and each is closed on its own answer.

A platform error never leaves this module as an exception: it is recorded on the space
(health, backoff) and in the poll's run row, and the other spaces go on.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from connectors.base import FetchResult, RemoteComment
from connectors.errors import (
    AuthError,
    BadPayload,
    ConnectorError,
    RateLimited,
    Refused,
    Unreachable,
)
from watcher import audit
from watcher.config import SpaceConfig
from watcher.errors import SecretError
from watcher.i18n import _
from watcher.policy import CommentInput, Context, HistoryItem, classify
from watcher.runtime import Runtime
from watcher.store.models import (
    Action,
    Comment,
    PollCursor,
    PollRun,
    Post,
    Space,
    Verdict,
)

log = logging.getLogger(__name__)

HISTORY_LIMIT = 200
MAX_TEXT = 200_000  # characters kept of one comment (platforms allow far less)
CLASSIFY_BATCH = 200
STALE_IN_FLIGHT = dt.timedelta(minutes=5)
USAGE_SLOW_DOWN = 0.75  # above this share of a platform limit, skip the next cycle
USAGE_STOP = 0.90  # above this, wait for the limit to reset


@dataclass
class CycleOutcome:
    space_id: str
    ok: bool
    skipped: bool = False
    new_comments: int = 0
    classified: int = 0
    actions_done: int = 0
    error: str | None = None
    incident: str | None = None  # a new token or secret problem: tell people once


# --- storing ---------------------------------------------------------------------------------


def _insert_ignore(session: Session, table: sa.Table, rows: list[dict], keys: Sequence[str]) -> int:
    """Insert rows, skipping those whose unique ``keys`` already exist; return rows inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = (
            insert(table)
            .values(rows)
            .on_conflict_do_nothing(index_elements=list(keys))
            .returning(*(table.c[k] for k in keys))
        )
        return len(session.execute(statement).all())
    inserted = 0
    for row in rows:  # other databases: check, then insert
        condition = sa.and_(*(table.c[k] == row[k] for k in keys))
        if session.execute(sa.select(sa.literal(1)).select_from(table).where(condition)).first():
            continue
        session.execute(table.insert().values(row))
        inserted += 1
    return inserted


def clean_text(value: str | None, limit: int | None = None) -> str | None:
    """Make platform text safe to store anywhere: no NUL, no lone surrogate, bounded length."""
    if value is None:
        return None
    text = str(value).replace("\x00", "\ufffd")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit] if limit else text


def _comment_row(space_id: str, platform: str, remote: RemoteComment, now: dt.datetime) -> dict:
    created = remote.created_time
    if created.tzinfo is None:  # a platform that forgets the zone means UTC
        created = created.replace(tzinfo=dt.UTC)
    return {
        "space_id": space_id,
        "platform": platform,
        "platform_id": clean_text(remote.platform_id, 200),
        "post_platform_id": clean_text(remote.post_id, 200),
        "parent_platform_id": clean_text(remote.parent_id, 200),
        "text": clean_text(remote.text or "", MAX_TEXT),
        "author_id": clean_text(remote.author_id, 200),
        "author_name": clean_text(remote.author_name, 400),
        "author_meta": json.loads(clean_text(json.dumps(dict(remote.author_meta or {}),
                                                        default=str)) or "{}"),
        "by_owner": remote.by_owner,
        "created_time": created.astimezone(dt.UTC),
        "permalink": clean_text(remote.permalink, 2000),
        "fetched_at": now.astimezone(dt.UTC),
        "classified": False,
        "platform_state": "hidden" if remote.hidden else "visible",
        "review_status": "none",
    }


def store_fetched(
    runtime: Runtime, space_id: str, result: FetchResult, *, cursor: bool = True
) -> int:
    """Store what a poll found, and its cursor, in one transaction; return new comments."""
    space = runtime.config.space(space_id)
    now = runtime.clock()
    comment_rows = [_comment_row(space_id, space.platform, c, now) for c in result.comments]
    post_rows = [
        {
            "space_id": space_id,
            "platform_id": clean_text(p.platform_id, 200),
            "text": clean_text(p.text or "", MAX_TEXT),
            "created_time": p.created_time.astimezone(dt.UTC)
            if p.created_time
            else None,
            "permalink": clean_text(p.permalink, 2000),
        }
        for p in result.posts
    ]
    with runtime.store.session() as session:
        _insert_ignore(session, Post.__table__, post_rows, ("space_id", "platform_id"))
        inserted = _insert_ignore(
            session, Comment.__table__, comment_rows, ("platform", "platform_id")
        )
        if cursor:
            for key, value in result.cursor.items():
                row = session.get(PollCursor, (space_id, key))
                if row is None:
                    row = PollCursor(space_id=space_id, key=key)
                row.value = str(value)
                row.updated_at = now
                session.add(row)
    return inserted


def load_cursor(runtime: Runtime, space_id: str) -> dict[str, str]:
    with runtime.store.session() as session:
        rows = session.exec(select(PollCursor).where(PollCursor.space_id == space_id))
        return {row.key: row.value for row in rows}


# --- classifying and deciding ----------------------------------------------------------------


def _history(session: Session, runtime: Runtime, space_id: str, batch: list[Comment]) -> list[Comment]:
    """The space's comments a batch's repetition check needs, newest first: from a window
    before the batch's oldest comment to its newest (a backlog can span more than a window)."""
    window = dt.timedelta(hours=runtime.config.policy.repetition_window_hours)
    query = (
        select(Comment)
        .where(Comment.space_id == space_id)
        .where(col(Comment.created_time) >= batch[0].created_time - window)
        .where(col(Comment.created_time) <= batch[-1].created_time)
        .order_by(col(Comment.created_time).desc(), col(Comment.id).desc())
        .limit(HISTORY_LIMIT + 2 * CLASSIFY_BATCH)
    )
    return list(session.exec(query))


def decide(verdict_action: str, mode: str, categories: Iterable[str], space_delete: Iterable[str],
           by_owner: bool, already_hidden: bool) -> tuple[str, str | None]:
    """Given the classifier's proposal and the space's settings, return (decision, action kind).

    Pure: ``decision`` is hide | review | allow | observe_hide | observe_review; the action kind
    is hide, delete or None.
    """
    if verdict_action == "allow" or by_owner:
        return "allow", None
    if verdict_action == "review":
        return ("review" if mode == "enforce" else "observe_review"), None
    if mode != "enforce":
        return "observe_hide", None
    if set(categories) & set(space_delete):
        return "hide", "delete"
    return "hide", (None if already_hidden else "hide")


def classify_pending(runtime: Runtime, space_id: str, limit: int = 10_000) -> int:
    """Classify the space's unclassified comments, oldest first; return how many were judged."""
    space = runtime.config.space(space_id)
    done = 0
    while done < limit:
        try:
            done += _classify_batch(runtime, space, space_id)
        except sa.exc.IntegrityError:
            # Another process judged some of these comments first: take the batch again.
            log.info("comments of %s were classified concurrently; retrying the batch", space_id)
            continue
        else:
            if not _has_unclassified(runtime, space_id):
                break
    return done


def _has_unclassified(runtime: Runtime, space_id: str) -> bool:
    with runtime.store.session() as session:
        return session.exec(
            select(Comment.id)
            .where(Comment.space_id == space_id, col(Comment.classified).is_(False))
            .limit(1)
        ).first() is not None


def _classify_batch(runtime: Runtime, space: SpaceConfig, space_id: str) -> int:
    """Classify one batch of the space's oldest unclassified comments, in one transaction."""
    done = 0
    with runtime.store.session() as session:
        batch = list(
            session.exec(
                select(Comment)
                .where(Comment.space_id == space_id, col(Comment.classified).is_(False))
                .order_by(col(Comment.created_time), col(Comment.id))
                .limit(CLASSIFY_BATCH)
            )
        )
        if not batch:
            return 0
        recent = _history(session, runtime, space_id, batch)
        for comment in batch:
            history = [
                HistoryItem(
                    text=h.text,
                    author_id=h.author_id,
                    created_time=h.created_time,
                    author_meta=h.author_meta or {},
                    author_name=h.author_name,
                )
                for h in recent
                if h.id != comment.id
                and (h.created_time, h.id or 0) < (comment.created_time, comment.id or 0)
            ][:HISTORY_LIMIT]
            verdict = classify(
                CommentInput(
                    text=comment.text,
                    id=comment.platform_id,
                    author_id=comment.author_id,
                    author_name=comment.author_name,
                    created_time=comment.created_time,
                    platform=comment.platform,
                    author_meta=comment.author_meta or {},
                ),
                Context(
                    now=runtime.clock(),
                    policy=runtime.policy,
                    thresholds=runtime.thresholds,
                    history=history,
                ),
            )
            decision, action_kind = decide(
                verdict.action,
                space.mode,
                verdict.categories,
                space.delete_categories,
                comment.by_owner,
                comment.platform_state == "hidden",
            )
            session.add(
                Verdict(
                    comment_id=comment.id or 0,
                    action=verdict.action,
                    decision=decision,
                    mode=space.mode,
                    categories=list(verdict.categories),
                    scores={k: round(float(v), 4) for k, v in verdict.scores.items()},
                    evidence=[e.as_dict() for e in verdict.evidence],
                    rule_ids=list(verdict.rule_ids),
                    alert=verdict.alert,
                    classifier_version=verdict.classifier_version,
                    created_at=runtime.clock(),
                )
            )
            comment.classified = True
            comment.decision = decision  # the console's queue reads it from an index
            if decision != "allow":
                comment.review_status = "pending"
            session.add(comment)
            if action_kind:
                session.add(
                    Action(
                        comment_id=comment.id or 0,
                        kind=action_kind,
                        requested_by="system",
                        reason=", ".join(verdict.categories),
                        created_at=runtime.clock(),
                        updated_at=runtime.clock(),
                    )
                )
            if decision != "allow":
                audit.record(
                    session,
                    "system",
                    f"verdict.{decision}",
                    space_id=space_id,
                    comment_id=comment.id,
                    details={
                        "categories": list(verdict.categories),
                        "rules": list(verdict.rule_ids),
                        "version": verdict.classifier_version,
                    },
                )
            done += 1
    return done


# --- acting ----------------------------------------------------------------------------------

_TARGET_STATE = {"hide": "hidden", "unhide": "visible", "delete": "deleted"}


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def _claim(session: Session, action_id: int, now: dt.datetime) -> bool:
    """Move one action from requested to in_flight; False if someone else took it."""
    result = session.execute(
        sa.update(Action.__table__)
        .where(Action.__table__.c.id == action_id, Action.__table__.c.state == "requested")
        .values(
            state="in_flight",
            attempts=Action.__table__.c.attempts + 1,
            updated_at=now.astimezone(dt.UTC),
        )
    )
    return result.rowcount == 1


def _finish(
    runtime: Runtime, action_id: int, state: str, *, error: str | None = None,
    retry_at: dt.datetime | None = None,
) -> None:
    now = runtime.clock()
    with runtime.store.session() as session:
        action = session.get(Action, action_id)
        if action is None:
            return
        comment = session.get(Comment, action.comment_id)
        action.state = state
        action.updated_at = now
        action.last_error = error
        action.next_attempt_at = retry_at
        if state == "done":
            action.done_at = now
            if comment is not None:
                comment.platform_state = _TARGET_STATE[action.kind]
                session.add(comment)
        session.add(action)
        audit.record(
            session,
            "system" if action.requested_by == "system" else action.requested_by,
            f"action.{action.kind}.{state}",
            space_id=comment.space_id if comment else None,
            comment_id=action.comment_id,
            details={"action_id": action.id, "error": error, "attempts": action.attempts},
        )


def _due(now: dt.datetime, recover: bool) -> sa.ColumnElement[bool]:
    """The actions to carry out now: requested and due, or left in flight (stale, or all)."""
    return sa.or_(
        sa.and_(
            col(Action.state) == "requested",
            sa.or_(
                col(Action.next_attempt_at).is_(None),
                col(Action.next_attempt_at) <= now,
            ),
        ),
        sa.and_(
            col(Action.state) == "in_flight",
            sa.true() if recover else col(Action.updated_at) <= now - STALE_IN_FLIGHT,
        ),
    )


def _pending_actions(runtime: Runtime, space_id: str, recover: bool) -> list[tuple[Action, Comment]]:
    now = runtime.clock()
    with runtime.store.session() as session:
        query = (
            select(Action, Comment)
            .join(Comment, col(Comment.id) == Action.comment_id)
            .where(Comment.space_id == space_id)
            .where(_due(now, recover))
            .order_by(col(Action.id))
        )
        return [(a, c) for a, c in session.exec(query)]


def spaces_with_actions(runtime: Runtime) -> set[str]:
    """Return the ids of the spaces that have actions to carry out now, in one query."""
    now = runtime.clock()
    with runtime.store.session() as session:
        query = (
            select(Comment.space_id)
            .join(Action, col(Comment.id) == Action.comment_id)
            .where(_due(now, False))
            .distinct()
        )
        return set(session.exec(query))


def run_actions(runtime: Runtime, space_id: str | None = None, *, recover: bool = False) -> int:
    """Carry out the requested actions (of one space, or of all); return how many were done.

    With ``recover`` (at start), every ``in_flight`` action is reconciled; otherwise only
    those left in flight for more than five minutes.
    """
    spaces = [space_id] if space_id else [s.id for s in runtime.spaces()]
    done = 0
    for sid in spaces:
        with runtime.space_lock(sid):
            done += _run_space_actions(runtime, sid, recover)
    return done


def _run_space_actions(runtime: Runtime, sid: str, recover: bool) -> int:
    """Carry out one space's due actions: claim them one by one (an action left in flight by a
    crash is first looked at on the platform), then act on the claimed ones of each kind
    together (``Connector.act_many``: Graph sends them 50 to a batch request)."""
    space = runtime.config.space(sid)
    done = 0
    claimed: list[tuple[Action, Comment]] = []
    stopped: ConnectorError | SecretError | None = None  # a rate limit or a revoked token
    for action, comment in _pending_actions(runtime, sid, recover):
        action_id = action.id or 0
        if space.mode != "enforce" and action.requested_by == "system":
            _finish(runtime, action_id, "refused", error=_("observe mode"))
            continue
        try:
            connector = runtime.connector(sid)
            if action.state == "in_flight":
                # Left in flight by a crash: look before acting again.
                if connector.state(comment.platform_id) == _TARGET_STATE[action.kind]:
                    _finish(runtime, action_id, "done")
                    done += 1
                    continue
                with runtime.store.session() as session:
                    session.execute(
                        sa.update(Action.__table__)
                        .where(Action.__table__.c.id == action_id)
                        .values(state="requested")
                    )
        except (RateLimited, AuthError, SecretError) as error:
            stopped = error
            break
        except ConnectorError:
            continue  # could not look: the action stays in flight, looked at again later
        with runtime.store.session() as session:
            if _claim(session, action_id, runtime.clock()):
                claimed.append((action, comment))
            # else: another worker took it
    # Consecutive actions of one kind go together; the order of the actions is kept (a restore
    # asked after a hide is carried out after it).
    for kind, group in itertools.groupby(claimed, key=lambda pair: pair[0].kind):
        items = list(group)
        results: list[ConnectorError | None] = []
        if stopped is None:
            try:
                results = runtime.connector(sid).act_many(
                    kind, [comment.platform_id for _action, comment in items])
            except SecretError as error:
                stopped = error
        for index, (action, _comment) in enumerate(items):
            if index < len(results):
                error = results[index]
                if error is None:
                    _finish(runtime, action.id or 0, "done")
                    done += 1
                    continue
                if isinstance(error, RateLimited | AuthError):
                    stopped = stopped or error
            else:  # not tried: after a rate limit or a refused token
                error = stopped or Unreachable(_("The platform gave no answer for this action."))
            _settle_failure(runtime, action, error)
    if isinstance(stopped, AuthError | SecretError):
        _mark_unhealthy(runtime, sid, str(stopped))
    return done


def _settle_failure(runtime: Runtime, action: Action, error: ConnectorError | SecretError) -> None:
    """Record what became of a claimed action that was not done."""
    action_id = action.id or 0
    now = runtime.clock()
    if isinstance(error, RateLimited):
        _release(runtime, action_id, str(error), error.retry_at or now + dt.timedelta(minutes=15))
    elif isinstance(error, AuthError | SecretError):
        _release(runtime, action_id, str(error), now + dt.timedelta(minutes=10))
    elif isinstance(error, Refused):
        _finish(runtime, action_id, "refused", error=str(error))
    else:
        attempts = action.attempts + 1
        if attempts >= runtime.config.scheduler.max_action_attempts:
            _finish(runtime, action_id, "failed", error=str(error))
        else:
            _release(runtime, action_id, str(error), now + _backoff(attempts))


def _release(runtime: Runtime, action_id: int, error: str, retry_at: dt.datetime) -> None:
    """Put a claimed action back to requested, to be tried again at ``retry_at``."""
    with runtime.store.session() as session:
        session.execute(
            sa.update(Action.__table__)
            .where(Action.__table__.c.id == action_id)
            .values(
                state="requested",
                last_error=error[:2000],
                next_attempt_at=retry_at.astimezone(dt.UTC),
                updated_at=runtime.clock().astimezone(dt.UTC),
            )
        )


# --- health ----------------------------------------------------------------------------------


def _mark_unhealthy(runtime: Runtime, space_id: str, reason: str) -> bool:
    """Mark a space unhealthy; return True if it was not already (a new incident)."""
    runtime.forget_connector(space_id)
    with runtime.store.session() as session:
        space = session.get(Space, space_id)
        if space is None:
            return False
        new_incident = space.health != "unhealthy"
        space.health = "unhealthy"
        space.health_reason = reason[:2000]
        space.last_error = reason[:2000]
        space.last_error_at = runtime.clock()
        session.add(space)
        if new_incident:
            audit.record(session, "system", "space.unhealthy", space_id=space_id,
                         details={"reason": reason[:500]})
    return new_incident


def _record_failure(runtime: Runtime, space_id: str, reason: str, kind: str,
                    retry_at: dt.datetime | None) -> None:
    now = runtime.clock()
    with runtime.store.session() as session:
        space = session.get(Space, space_id)
        if space is None:
            return
        space.consecutive_failures += 1
        space.last_error = reason[:2000]
        space.last_error_at = now
        # Three failures in a row, or a platform that makes us wait (quota, rate limit).
        if space.health == "ok" and (space.consecutive_failures >= 3 or kind == "rate_limited"):
            space.health = "degraded"
            space.health_reason = reason[:2000]
        interval = dt.timedelta(seconds=runtime.config.poll_interval(runtime.config.space(space_id)))
        # Skip 0, 1, 3, 7… cycles after successive failures, at most an hour.
        extra = min(interval * (2 ** min(space.consecutive_failures - 1, 6) - 1),
                    dt.timedelta(hours=1))
        space.backoff_until = retry_at or (now + extra if extra else None)
        session.add(space)


def _record_success(runtime: Runtime, space_id: str, result: FetchResult) -> None:
    now = runtime.clock()
    with runtime.store.session() as session:
        space = session.get(Space, space_id)
        if space is None:
            return
        recovered = space.health != "ok"
        space.health = "ok"
        space.health_reason = None
        space.consecutive_failures = 0
        space.last_good_poll_at = now
        space.backoff_until = None
        usage = result.usage
        space.usage_ratio = usage.ratio if usage else None
        if usage and usage.ratio is not None:
            interval = dt.timedelta(
                seconds=runtime.config.poll_interval(runtime.config.space(space_id))
            )
            if usage.ratio >= USAGE_STOP:
                space.backoff_until = usage.reset_at or now + dt.timedelta(minutes=15)
            elif usage.ratio >= USAGE_SLOW_DOWN:
                space.backoff_until = now + interval
        session.add(space)
        if recovered:
            audit.record(session, "system", "space.recovered", space_id=space_id)


# --- the cycle -------------------------------------------------------------------------------


def poll_space(runtime: Runtime, space_id: str, *, force: bool = False) -> CycleOutcome:
    """Run one full cycle for one space. Never raises for platform or secret errors."""
    with runtime.space_lock(space_id):
        return _poll_space(runtime, space_id, force=force)


def _poll_space(runtime: Runtime, space_id: str, *, force: bool) -> CycleOutcome:
    now = runtime.clock()
    with runtime.store.session() as session:
        space = session.get(Space, space_id)
        if space is not None and not force and space.backoff_until and space.backoff_until > now:
            return CycleOutcome(space_id, ok=True, skipped=True)
        if space is not None:
            space.last_poll_at = now
            session.add(space)
        run = PollRun(space_id=space_id, started_at=now)
        session.add(run)
    outcome = CycleOutcome(space_id, ok=False)
    try:
        connector = runtime.connector(space_id)
        result = connector.fetch(load_cursor(runtime, space_id))
        outcome.new_comments = store_fetched(runtime, space_id, result)
        outcome.classified = classify_pending(runtime, space_id)
        outcome.actions_done = run_actions(runtime, space_id)
        _record_success(runtime, space_id, result)
        outcome.ok = True
        run.calls = result.calls
    except (AuthError, SecretError) as error:
        outcome.error = str(error)
        run.error_kind = "auth" if isinstance(error, AuthError) else "secret"
        if _mark_unhealthy(runtime, space_id, str(error)):
            outcome.incident = str(error)
        _record_failure(runtime, space_id, str(error), run.error_kind,
                        now + dt.timedelta(minutes=15))
    except RateLimited as error:
        outcome.error = str(error)
        run.error_kind = "rate_limited"
        _record_failure(runtime, space_id, str(error), run.error_kind,
                        error.retry_at or now + dt.timedelta(minutes=15))
    except BadPayload as error:
        outcome.error = str(error)
        run.error_kind = "bad_payload"
        _record_failure(runtime, space_id, str(error), run.error_kind, None)
    except ConnectorError as error:
        outcome.error = str(error)
        run.error_kind = "unreachable"
        _record_failure(runtime, space_id, str(error), run.error_kind, None)
    finally:
        run.finished_at = runtime.clock()
        run.ok = outcome.ok
        run.new_comments = outcome.new_comments
        run.error = outcome.error
        with runtime.store.session() as session:
            session.merge(run)
    if outcome.error:
            log.warning("%s", _("Space {space}: {error}").format(space=space_id, error=outcome.error))
    return outcome


def check_space(runtime: Runtime, space_id: str) -> str | None:
    """Check a space's token with its platform; record its expiry. Return a new incident."""
    try:
        result = runtime.connector(space_id).check()
    except (AuthError, SecretError) as error:
        return str(error) if _mark_unhealthy(runtime, space_id, str(error)) else None
    except ConnectorError as error:
        log.warning("%s", _("Space {space}: {error}").format(space=space_id, error=error))
        return None
    with runtime.store.session() as session:
        space = session.get(Space, space_id)
        if space is not None:
            space.token_expires_at = result.token_expires_at
            session.add(space)
    if not result.ok:
        return result.message if _mark_unhealthy(runtime, space_id, result.message) else None
    return None


def ingest_and_process(runtime: Runtime, space_id: str, comments: list[RemoteComment]) -> int:
    """Hand comments received otherwise (a webhook) to the same pipeline; return new ones.

    The poll cursor is left alone: polling stays the safety net.
    """
    with runtime.space_lock(space_id):
        new = store_fetched(runtime, space_id, FetchResult(comments=comments, cursor={}),
                            cursor=False)
        classify_pending(runtime, space_id)
        run_actions(runtime, space_id)
    return new
