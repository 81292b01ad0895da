"""The view model: plain data that both the HTML and the text templates render.

Nothing here queries the store or formats for a language; :mod:`reports.digest` fills it and
the templates' filters format numbers, dates and durations in the report's language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metrics:
    """What happened in one scope during one week."""

    new_comments: int = 0
    hidden: int = 0  # hidden on the platform (hide action done)
    observed: int = 0  # would have been hidden, space in observe mode
    queued: int = 0  # sent to human review
    still_pending: int = 0  # of those queued, still waiting for a decision
    restored: int = 0  # made visible again by an administrator
    alerts: int = 0  # urgent alerts raised
    median_hide_seconds: float | None = None  # posting → hidden


@dataclass(frozen=True)
class WeekMetrics:
    label: str  # 2026-W47
    monday: dt.date
    metrics: Metrics
    counted: bool = True  # False when Vigie was not watching yet (left out of averages)


@dataclass(frozen=True)
class Change:
    """This week against the mean of the (up to) four previous weeks."""

    key: str  # new_comments | hidden | queued | restored | median_hide_seconds
    label: str
    current: float | None
    average: float | None  # None: no earlier week to compare with
    percent: float | None  # None when the average is zero or missing
    direction: str  # up | down | same | new | none
    is_duration: bool = False


@dataclass(frozen=True)
class CategoryCount:
    id: str
    label: str
    color: str
    light_color: str
    count: int = 0  # every comment of the week placed in this category
    hidden: int = 0
    review: int = 0
    observed: int = 0
    hidden_width: int = 0  # bar widths in percent of the widest bar
    other_width: int = 0


@dataclass(frozen=True)
class Trouble:
    space_id: str
    space_name: str
    platform: str
    owner: str
    severity: str  # error | warning
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class SpaceSection:
    id: str
    name: str
    platform: str
    owner: str
    mode: str  # observe | enforce
    enabled: bool
    retired: bool  # no longer in the configuration
    metrics: Metrics
    backlog: int  # every comment of the space still waiting for review
    hidden_by_category: tuple[CategoryCount, ...]
    hidden_change: Change | None
    in_trouble: bool


@dataclass(frozen=True)
class Item:
    """One comment shown in a report: always an excerpt, never the full text."""

    comment_id: int
    space_name: str
    platform: str
    posted_at: dt.datetime
    acted_at: dt.datetime | None
    author: str
    excerpt: str
    categories: tuple[CategoryCount, ...]
    url: str
    evidence: tuple[tuple[str, str], ...] = ()  # (message, matched text)


@dataclass(frozen=True)
class Digest:
    kind: str  # weekly | direction
    scope: str  # "" for every space, else the direction (space owner)
    week: str
    monday: dt.date
    sunday: dt.date
    in_progress: bool  # the week is not over yet
    generated_at: dt.datetime
    timezone: str
    language: str
    console_url: str
    masked_authors: bool
    totals: Metrics
    backlog: int
    changes: tuple[Change, ...]
    history: tuple[WeekMetrics, ...]  # the four previous weeks then this one
    compared_weeks: int  # how many previous weeks the averages use
    chart: tuple[CategoryCount, ...]
    chart_total: int
    spaces: tuple[SpaceSection, ...]
    troubles: tuple[Trouble, ...]
    alerts: tuple[Item, ...]
    alerts_more: int
    hidden_items: tuple[Item, ...]
    hidden_more: int
    pending_items: tuple[Item, ...]
    pending_more: int
    subject: str = ""


@dataclass(frozen=True)
class AlertMail:
    generated_at: dt.datetime
    timezone: str
    language: str
    space_name: str
    space_id: str
    platform: str
    owner: str
    mode: str
    decision: str  # hide | review | allow | observe_hide
    item: Item
    console_url: str
    subject: str = ""


@dataclass(frozen=True)
class HealthMail:
    generated_at: dt.datetime
    timezone: str
    language: str
    space_name: str
    space_id: str
    platform: str
    owner: str
    message: str
    health: str
    last_error: str
    last_error_at: dt.datetime | None
    last_good_poll_at: dt.datetime | None
    consecutive_failures: int
    backoff_until: dt.datetime | None
    token_expires_at: dt.datetime | None
    console_url: str
    reasons: tuple[str, ...] = field(default_factory=tuple)
    subject: str = ""
