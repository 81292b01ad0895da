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


def collect(config: Config, store: Store, now: dt.datetime) -> dict[str, Any]:
    """Return the status of every configured space as plain data; ``attention`` when a person
    is needed (a space unhealthy or late, a token expiring, failed actions)."""
    spaces: list[dict[str, Any]] = []
    with store.session() as session:
        rows = {s.id: s for s in session.exec(select(Space))}
        counts = dict(
            session.exec(
                select(Comment.space_id, func.count()).group_by(Comment.space_id)  # type: ignore[arg-type]
            ).all()
        )
        hidden = dict(
            session.exec(
                select(Comment.space_id, func.count())  # type: ignore[arg-type]
                .where(Comment.platform_state == "hidden")
                .group_by(Comment.space_id)
            ).all()
        )
        queued = dict(
            session.exec(
                select(Comment.space_id, func.count())  # type: ignore[arg-type]
                .where(Comment.review_status == "pending")
                .group_by(Comment.space_id)
            ).all()
        )
        failed_actions = dict(
            session.exec(
                select(Comment.space_id, func.count())  # type: ignore[arg-type]
                .join(Action, col(Action.comment_id) == Comment.id)
                .where(col(Action.state).in_(("failed",)))
                .group_by(Comment.space_id)
            ).all()
        )
        pending_actions = dict(
            session.exec(
                select(Comment.space_id, func.count())  # type: ignore[arg-type]
                .join(Action, col(Action.comment_id) == Comment.id)
                .where(sa.or_(col(Action.state) == "requested", col(Action.state) == "in_flight"))
                .group_by(Comment.space_id)
            ).all()
        )
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
        if failed_actions.get(space.id):
            problems.append(_("{n} failed action(s)").format(n=failed_actions[space.id]))
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
                "comments": counts.get(space.id, 0),
                "hidden": hidden.get(space.id, 0),
                "queued": queued.get(space.id, 0),
                "pending_actions": pending_actions.get(space.id, 0),
                "failed_actions": failed_actions.get(space.id, 0),
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
