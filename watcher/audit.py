"""The tamper-evident audit log: each event is chained to the previous one by a SHA-256 hash.

``record`` appends an event inside the caller's transaction; ``verify`` recomputes the chain and
returns the events whose hash does not match (``vigie audit verify``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from watcher.store.models import AuditEvent, utcnow


def _digest(event: AuditEvent) -> str:
    payload = json.dumps(
        {
            "id": event.id,
            "at": event.at.isoformat(),
            "actor": event.actor,
            "kind": event.kind,
            "space_id": event.space_id,
            "comment_id": event.comment_id,
            "details": event.details,
            "prev": event.prev_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    session: Session,
    actor: str,
    kind: str,
    *,
    space_id: str | None = None,
    comment_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event in the session's transaction and return it.

    The chain is serialized by locking the last event's row (PostgreSQL) or by SQLite's
    write lock, so two writers never chain to the same predecessor.
    """
    last_query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        session.exec(sa.text("LOCK TABLE audit_events IN EXCLUSIVE MODE"))  # type: ignore[call-overload]
    last = session.exec(last_query).first()
    event = AuditEvent(
        at=utcnow().replace(microsecond=0),
        actor=actor,
        kind=kind,
        space_id=space_id,
        comment_id=comment_id,
        details=json.loads(json.dumps(details or {}, default=str)),
        prev_hash=last.hash if last else "",
    )
    session.add(event)
    session.flush()  # assigns the id, which is part of the hash
    event.hash = _digest(event)
    session.add(event)
    session.flush()
    return event


def verify(session: Session) -> list[int]:
    """Return the ids of events whose hash or link to the previous event does not match."""
    broken: list[int] = []
    previous = ""
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if event.prev_hash != previous or event.hash != _digest(event):
            broken.append(event.id or 0)
        previous = event.hash
    return broken
