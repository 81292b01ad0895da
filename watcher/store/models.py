"""The store's tables (SQLModel). Schema changes go through Alembic migrations only.

All times are stored as UTC and read back as aware datetimes (:class:`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    """Return the current time, aware, in UTC (the one clock of the store)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Store aware datetimes as naive UTC; read them back aware. Refuse naive input."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class Space(SQLModel, table=True):
    """An approved space, mirrored from the configuration, with its health."""

    __tablename__ = "spaces"

    id: str = Field(primary_key=True, max_length=63)
    platform: str = Field(max_length=20)
    platform_id: str = Field(max_length=200)
    name: str = Field(max_length=200)
    owner: str = Field(max_length=200)
    mode: str = Field(max_length=10)  # observe | enforce
    health: str = Field(default="ok", max_length=12)  # ok | degraded | unhealthy
    health_reason: str | None = Field(default=None)
    consecutive_failures: int = Field(default=0)
    backoff_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    token_expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_poll_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_good_poll_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None)
    last_error_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    usage_ratio: float | None = Field(default=None)
    active: bool = Field(default=True)  # False once removed from the configuration
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Post(SQLModel, table=True):
    __tablename__ = "posts"
    __table_args__ = (sa.UniqueConstraint("space_id", "platform_id", name="uq_posts_space_pid"),)

    id: int | None = Field(default=None, primary_key=True)
    space_id: str = Field(foreign_key="spaces.id", max_length=63)
    platform_id: str = Field(max_length=200)
    text: str = Field(default="")
    created_time: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    permalink: str | None = Field(default=None)


# A comment its verdict flagged: its decision is anything but "allow" (nor None, unclassified)
FLAGGED = "decision <> 'allow'"


class Comment(SQLModel, table=True):
    """A comment as fetched. Unique per platform and platform id; never inserted twice."""

    __tablename__ = "comments"
    __table_args__ = (
        sa.UniqueConstraint("platform", "platform_id", name="uq_comments_platform_pid"),
        sa.Index("ix_comments_space_created", "space_id", "created_time"),
        sa.Index("ix_comments_space_author", "space_id", "author_id"),
        sa.Index("ix_comments_unclassified", "classified", "space_id"),
        # The comments still to classify, in order (migration 0003_bench).
        sa.Index("ix_comments_pending", "space_id", "created_time", "id",
                 sqlite_where=sa.text("classified IS 0"),
                 postgresql_where=sa.text("classified IS false")),
        # The console queue's parts, counted and paged from the index alone (migration 0005;
        # they replace ix_comments_review_status and 0004's ix_comments_state_review).
        sa.Index("ix_comments_status_queue", "review_status", "created_time", "id", "space_id"),
        sa.Index("ix_comments_state_queue", "platform_state", "review_status", "created_time",
                 "id", "space_id"),
        # The comments their verdict flagged, by review status (migration 0006): the console
        # finds those no one has reviewed (nearly none) without reading the whole history.
        # Its condition is repeated in literals by watcher.console.review._flagged.
        sa.Index("ix_comments_flagged", "review_status", "decision",
                 sqlite_where=sa.text(FLAGGED), postgresql_where=sa.text(FLAGGED)),
    )

    id: int | None = Field(default=None, primary_key=True)
    space_id: str = Field(foreign_key="spaces.id", max_length=63)
    platform: str = Field(max_length=20)
    platform_id: str = Field(max_length=200)
    post_platform_id: str | None = Field(default=None, max_length=200)
    parent_platform_id: str | None = Field(default=None, max_length=200)
    text: str = Field(default="")
    author_id: str | None = Field(default=None, max_length=200)
    author_name: str | None = Field(default=None, max_length=400)
    author_meta: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    by_owner: bool = Field(default=False)
    created_time: dt.datetime = Field(sa_type=UTCDateTime)
    permalink: str | None = Field(default=None)
    fetched_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    classified: bool = Field(default=False)
    # What we know of its state on the platform: visible | hidden | deleted
    platform_state: str = Field(default="visible", max_length=10)
    # Human review: none | pending | confirmed | restored | false_alarm | reclassified
    review_status: str = Field(default="none", max_length=14)
    # Its verdict's decision (Verdict.decision), written with the verdict; None until classified
    decision: str | None = Field(default=None, max_length=20)
    # Set when retention purged the text and author (counts are kept).
    purged_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Verdict(SQLModel, table=True):
    """The classifier's verdict on a comment: exactly one per comment."""

    __tablename__ = "verdicts"
    __table_args__ = (
        sa.Index("ix_verdicts_created", "created_at"),
        # The comments the classifier flagged, for the console queue (migration 0004).
        sa.Index("ix_verdicts_decision", "decision", "comment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    comment_id: int = Field(foreign_key="comments.id", unique=True)
    action: str = Field(max_length=8)  # hide | review | allow (the classifier's proposal)
    decision: str = Field(max_length=20)  # hide | review | allow | observe_hide | observe_review
    mode: str = Field(max_length=10)  # the space's mode when decided
    categories: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    scores: dict[str, float] = Field(default_factory=dict, sa_type=sa.JSON)
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    rule_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    alert: bool = Field(default=False)
    alert_sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    classifier_version: str = Field(max_length=80)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Action(SQLModel, table=True):
    """A platform action, requested by the system or an administrator, carried out once.

    States: requested → in_flight → done | failed | refused. An action found ``in_flight`` after
    a crash is reconciled by reading the comment's state on the platform before any new call.
    """

    __tablename__ = "actions"
    __table_args__ = (
        sa.Index("ix_actions_state_next", "state", "next_attempt_at"),
        sa.Index("ix_actions_comment", "comment_id"),
        # The hides and restores done in a period, for the weekly report (migration 0004).
        sa.Index("ix_actions_kind_state_done", "kind", "state", "done_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    comment_id: int = Field(foreign_key="comments.id")
    kind: str = Field(max_length=8)  # hide | unhide | delete
    state: str = Field(default="requested", max_length=10)
    requested_by: str = Field(default="system", max_length=200)  # "system" or an admin's name
    reason: str = Field(default="")
    attempts: int = Field(default=0)
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class PollCursor(SQLModel, table=True):
    __tablename__ = "poll_cursors"

    space_id: str = Field(foreign_key="spaces.id", primary_key=True, max_length=63)
    key: str = Field(primary_key=True, max_length=200)
    value: str = Field(default="")
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PollRun(SQLModel, table=True):
    """One poll of one space: what it found and how it ended."""

    __tablename__ = "poll_runs"
    __table_args__ = (sa.Index("ix_poll_runs_space_started", "space_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    space_id: str = Field(foreign_key="spaces.id", max_length=63)
    started_at: dt.datetime = Field(sa_type=UTCDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    ok: bool = Field(default=False)
    new_comments: int = Field(default=0)
    calls: int = Field(default=0)
    error_kind: str | None = Field(default=None, max_length=40)
    error: str | None = Field(default=None)


class AuditEvent(SQLModel, table=True):
    """Append-only audit log; each event is chained to the previous one by a hash."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=200)  # "system", "admin:<name>", "cli"
    kind: str = Field(max_length=60)
    space_id: str | None = Field(default=None, max_length=63)
    comment_id: int | None = Field(default=None)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)


class Report(SQLModel, table=True):
    """Every rendered report or alert, archived so it can be read and re-sent."""

    __tablename__ = "reports"
    __table_args__ = (sa.Index("ix_reports_kind_period", "kind", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # weekly | direction | alert | health
    period: str = Field(default="", max_length=20)  # e.g. 2026-W47
    scope: str = Field(default="", max_length=200)  # "" (all), a direction, a space id
    subject: str = Field(default="")
    recipients: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    html: str = Field(default="", sa_type=sa.Text)
    text: str = Field(default="", sa_type=sa.Text)
    language: str = Field(default="fr", max_length=5)
    status: str = Field(default="pending", max_length=10)  # pending | sent | failed | outbox
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None)
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    """A console account."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=120)
    display_name: str = Field(default="", max_length=200)
    password_hash: str = Field(default="")
    role: str = Field(default="lecture", max_length=12)  # lecture | moderation
    scope: str = Field(default="*", max_length=200)  # "*" or a direction (space owner)
    language: str = Field(default="fr", max_length=5)
    disabled: bool = Field(default=False)
    failed_logins: int = Field(default=0)
    locked_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReviewLabel(SQLModel, table=True):
    """An administrator's decision on a comment: labelled data for ``vigie train``."""

    __tablename__ = "review_labels"

    id: int | None = Field(default=None, primary_key=True)
    comment_id: int = Field(foreign_key="comments.id", index=True)
    label: str = Field(max_length=40)  # a category id, or "acceptable"
    decided_by: str = Field(max_length=200)
    decided_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """A webhook delivery already handled (platforms retry for up to 36 hours)."""

    __tablename__ = "webhook_deliveries"

    key: str = Field(primary_key=True, max_length=128)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
