"""``vigie status``: per space, last good poll, lag, errors, token expiry, queue size."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select

from watcher.config import Config
from watcher.i18n import _
from watcher.store.db import Store
from watcher.store.models import Action, Comment, Space

TOKEN_WARNING = dt.timedelta(days=14)


def _count_if(condition: Any) -> Any:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END): a count within a GROUP BY."""
    return func.sum(sa.case((condition, 1), else_=0))


def collect(config: Config, store: Store, now: dt.datetime) -> dict[str, Any]:
    """Return the status of every configured space as plain data; ``attention`` when a person
    is needed (a space unhealthy or late, a token expiring, failed actions)."""
    spaces: list[dict[str, Any]] = []
    with store.session() as session:
        rows = {s.id: s for s in session.exec(select(Space))}
        # One pass over each table: per space, the counts as conditional sums.
        comment_counts = {
            space_id: (total, hidden, queued)
            for space_id, total, hidden, queued in session.exec(
                select(  # type: ignore[call-overload]
                    Comment.space_id,
                    func.count(),
                    _count_if(Comment.platform_state == "hidden"),
                    _count_if(Comment.review_status == "pending"),
                ).group_by(Comment.space_id)
            )
        }
        action_counts = {
            space_id: (pending, failed)
            for space_id, pending, failed in session.exec(
                select(  # type: ignore[call-overload]
                    Comment.space_id,
                    _count_if(col(Action.state).in_(("requested", "in_flight"))),
                    _count_if(col(Action.state) == "failed"),
                )
                .join(Action, col(Action.comment_id) == Comment.id)
                .where(col(Action.state).in_(("requested", "in_flight", "failed")))
                .group_by(Comment.space_id)
            )
        }
    attention = False
    for space in config.spaces:
        row = rows.get(space.id)
        interval = config.poll_interval(space)
        last_good = row.last_good_poll_at if row else None
        lag = (now - last_good).total_seconds() if last_good else None
        problems: list[str] = []
        if not space.enabled:
            state = "disabled"
        elif row is not None and row.health == "unhealthy":
            state = "unhealthy"
            problems.append(row.health_reason or _("unhealthy"))
        elif row is None or last_good is None:
            state = "never_polled"
            problems.append(_("never polled successfully"))
        else:
            state = row.health
            if lag is not None and lag > 3 * interval + 60:
                problems.append(_("late: last good poll {minutes} min ago").format(
                    minutes=int(lag // 60)))
        if row and row.token_expires_at and row.token_expires_at - now < TOKEN_WARNING:
            problems.append(_("token expires {date}").format(
                date=row.token_expires_at.date().isoformat()))
        total, hidden, queued = comment_counts.get(space.id, (0, 0, 0))
        pending_actions, failed_actions = action_counts.get(space.id, (0, 0))
        if failed_actions:
            problems.append(_("{n} failed action(s)").format(n=failed_actions))
        if problems and space.enabled:
            attention = True
        spaces.append(
            {
                "id": space.id,
                "platform": space.platform,
                "name": space.name,
                "mode": space.mode,
                "state": state,
                "last_poll_at": row.last_poll_at if row else None,
                "last_good_poll_at": last_good,
                "lag_seconds": int(lag) if lag is not None else None,
                "last_error": row.last_error if row else None,
                "last_error_at": row.last_error_at if row else None,
                "token_expires_at": row.token_expires_at if row else None,
                "comments": total,
                "hidden": int(hidden or 0),
                "queued": int(queued or 0),
                "pending_actions": int(pending_actions or 0),
                "failed_actions": int(failed_actions or 0),
                "problems": problems,
            }
        )
    return {"generated_at": now, "attention": attention, "spaces": spaces}


def _ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    if moment is None:
        return _("never")
    seconds = int((now - moment).total_seconds())
    if seconds < 120:
        return _("{n} s ago").format(n=seconds)
    if seconds < 7200:
        return _("{n} min ago").format(n=seconds // 60)
    return _("{n} h ago").format(n=seconds // 3600)


def render_text(report: dict[str, Any]) -> str:
    """Given :func:`collect`'s data, return the human table."""
    now = report["generated_at"]
    if not report["spaces"]:
        return _("No approved space is configured.")
    lines = []
    for s in report["spaces"]:
        mark = "!" if s["problems"] else "·"
        lines.append(
            f"{mark} {s['id']} ({s['platform']}, {s['mode']}) — "
            + _("last good poll: {ago}; comments: {comments}, hidden: {hidden}, "
                "queued for review: {queued}").format(
                ago=_ago(s["last_good_poll_at"], now), comments=s["comments"],
                hidden=s["hidden"], queued=s["queued"])
        )
        if s["last_error"] and s["problems"]:
            lines.append("    " + _("last error: {error}").format(error=s["last_error"]))
        for problem in s["problems"]:
            lines.append("    ⚠ " + problem)
    lines.append(
        _("Attention needed.") if report["attention"] else _("Everything is in order.")
    )
    return "\n".join(lines)
