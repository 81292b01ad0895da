"""Access requests (Loi sur l'accès, Law 25): everything Vigie stores about one person.

``vigie export --author ID [--space ID]`` writes it as JSON: the person's comments with their
text and author details (unless already purged), the verdict on each, every action taken on
them, the administrators' labels, and the audit events that concern them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from watcher import __version__
from watcher.store.db import Store
from watcher.store.models import Action, AuditEvent, Comment, ReviewLabel, Verdict

FORMAT = "vigie-access-export/1"


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _comment(session: Session, comment: Comment) -> dict[str, Any]:
    verdict = session.exec(select(Verdict).where(Verdict.comment_id == comment.id)).first()
    actions = session.exec(
        select(Action).where(Action.comment_id == comment.id).order_by(col(Action.id))
    )
    labels = session.exec(
        select(ReviewLabel).where(ReviewLabel.comment_id == comment.id).order_by(
            col(ReviewLabel.id)
        )
    )
    events = session.exec(
        select(AuditEvent).where(AuditEvent.comment_id == comment.id).order_by(col(AuditEvent.id))
    )
    return {
        "space": comment.space_id,
        "platform": comment.platform,
        "platform_id": comment.platform_id,
        "post_platform_id": comment.post_platform_id,
        "parent_platform_id": comment.parent_platform_id,
        "text": comment.text,
        "author_id": comment.author_id,
        "author_name": comment.author_name,
        "author_details": comment.author_meta,
        "created_time": _when(comment.created_time),
        "collected_at": _when(comment.fetched_at),
        "permalink": comment.permalink,
        "state_on_platform": comment.platform_state,
        "review_status": comment.review_status,
        "purged_at": _when(comment.purged_at),
        "verdict": None
        if verdict is None
        else {
            "decision": verdict.decision,
            "proposed_action": verdict.action,
            "mode": verdict.mode,
            "categories": verdict.categories,
            "scores": verdict.scores,
            "evidence": verdict.evidence,
            "rules": verdict.rule_ids,
            "alert": verdict.alert,
            "classifier_version": verdict.classifier_version,
            "decided_at": _when(verdict.created_at),
        },
        "actions": [
            {
                "kind": a.kind,
                "state": a.state,
                "requested_by": a.requested_by,
                "reason": a.reason,
                "requested_at": _when(a.created_at),
                "done_at": _when(a.done_at),
            }
            for a in actions
        ],
        "review_labels": [
            {"label": r.label, "decided_by": r.decided_by, "decided_at": _when(r.decided_at)}
            for r in labels
        ],
        "audit_events": [
            {"at": _when(e.at), "actor": e.actor, "kind": e.kind, "details": e.details}
            for e in events
        ],
    }


def export_author(
    store: Store, author_id: str, space_id: str | None = None, *, now: dt.datetime
) -> dict[str, Any]:
    """Given a platform author id (and optionally a space), return all Vigie holds on them."""
    with store.session() as session:
        query = select(Comment).where(Comment.author_id == author_id)
        if space_id:
            query = query.where(Comment.space_id == space_id)
        comments = list(session.exec(query.order_by(col(Comment.created_time), col(Comment.id))))
        return {
            "format": FORMAT,
            "generated_at": now.isoformat(),
            "generated_by": f"vigie {__version__}",
            "author_id": author_id,
            "space": space_id,
            "comment_count": len(comments),
            "names_seen": sorted({c.author_name for c in comments if c.author_name}),
            "comments": [_comment(session, c) for c in comments],
        }
