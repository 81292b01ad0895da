"""The store, queried into the view models of the weekly digest, an alert and a health notice.

Definitions (the documentation for readers is docs/reports.md):

- *new comments*: comments posted during the week (``comments.created_time``), the space's own
  replies left out;
- *hidden*: comments whose ``hide`` action was carried out during the week (``actions.done_at``);
  *observed*: verdicts ``observe_hide`` of the week (a space in observe mode);
- *queued*: verdicts ``review`` (or ``observe_review``) of the week; *still pending*: those whose
  review is not done; the *backlog*: every comment whose review is pending and that was not
  hidden (doubtful ones, and those an observe-mode space would have hidden);
- *restored*: ``unhide`` actions of the week requested by an administrator (``admin:<name>``);
- *median time to hide*: ``done_at`` of the hide action minus the comment's ``created_time``;
- a comment's category: the administrator's label when there is one, else the verdict's first
  (worst) category.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from reports import formatting
from reports.i18n import _, ngettext
from reports.model import (
    AlertMail,
    CategoryCount,
    Change,
    Digest,
    HealthMail,
    Item,
    Metrics,
    SpaceSection,
    Trouble,
    WeekMetrics,
)
from reports.period import Week
from reports.privacy import AuthorMasker, clean, evidence_text, excerpt, shorten
from watcher.categories import CATEGORY_IDS, label
from watcher.config import Config
from watcher.errors import UsageError
from watcher.i18n import current_language
from watcher.store.models import (
    Action,
    Comment,
    PollRun,
    ReviewLabel,
    Space,
    Verdict,
)

HISTORY_WEEKS = 4  # "what changed against the four previous weeks"
ITEM_LIMIT = 10  # comments shown per list; the rest is counted and left to the console
TOKEN_WARNING = dt.timedelta(days=14)  # a token expiring sooner is a trouble
STALE_AFTER = dt.timedelta(hours=24)  # no successful poll for this long is a trouble
QUOTA_WARNING = 0.9  # share of the API quota used
ERROR_TEXT_LIMIT = 200

OTHER = "other"  # hidden by an administrator with no category
COLORS: dict[str, str] = {
    "atteinte_droits": "#6a3d9a",
    "discrimination": "#c62828",
    "diffamation_irrespect": "#e65100",
    "disgracieux_repetitif": "#8d6e63",
    "commercial_pourriel": "#1565c0",
    "anonyme_repetitif": "#2e7d32",
    "illegal": "#212121",
    OTHER: "#9e9e9e",
}


def _lighten(color: str, amount: float = 0.6) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    mixed = (round(c + (255 - c) * amount) for c in (red, green, blue))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def category_label(category_id: str) -> str:
    return _("Other (no category)") if category_id == OTHER else label(category_id)


def category(category_id: str, **counts: int) -> CategoryCount:
    color = COLORS.get(category_id, COLORS[OTHER])
    return CategoryCount(
        id=category_id,
        label=category_label(category_id),
        color=color,
        light_color=_lighten(color),
        **counts,
    )


def item_url(config: Config, comment_id: int) -> str:
    return f"{config.console.base_url.rstrip('/')}/items/{comment_id}"


# --- Which spaces -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpaceInfo:
    id: str
    name: str
    platform: str
    owner: str
    mode: str
    enabled: bool
    retired: bool
    contacts: tuple[str, ...]
    row: Space | None
    poll_interval: int


def scope_spaces(
    config: Config,
    session: Session,
    *,
    space_id: str | None = None,
    owner: str | None = None,
    since: dt.datetime | None = None,
) -> list[SpaceInfo]:
    """Return the spaces of a digest: those of the configuration (in its order), then spaces
    removed from it that still had comments since ``since``. Raise UsageError for an unknown id.
    """
    rows = {row.id: row for row in session.exec(select(Space))}
    spaces: list[SpaceInfo] = []
    for space in config.spaces:
        spaces.append(
            SpaceInfo(
                space.id,
                space.name,
                space.platform,
                space.owner,
                space.mode,
                space.enabled,
                False,
                tuple(space.contacts),
                rows.get(space.id),
                config.poll_interval(space),
            )
        )
    configured = {space.id for space in config.spaces}
    retired_ids = [key for key in rows if key not in configured]
    if retired_ids and since is not None:
        active_ids = set(
            session.exec(
                select(Comment.space_id)
                .where(col(Comment.space_id).in_(retired_ids), Comment.created_time >= since)
                .distinct()
            )
        )
        for key in sorted(active_ids):
            row = rows[key]
            spaces.append(
                SpaceInfo(row.id, row.name, row.platform, row.owner, row.mode, False, True, (),
                          row, config.scheduler.poll_interval)
            )
    if space_id is not None:
        chosen = [s for s in spaces if s.id == space_id]
        if not chosen and space_id in rows:
            row = rows[space_id]
            chosen = [SpaceInfo(row.id, row.name, row.platform, row.owner, row.mode, False, True,
                                (), row, config.scheduler.poll_interval)]
        if not chosen:
            raise UsageError(
                _("There is no space “{id}” in the configuration or the store.").format(id=space_id)
            )
        spaces = chosen
    if owner is not None:
        spaces = [s for s in spaces if s.owner == owner]
    return spaces


def directions(config: Config) -> dict[str, list[str]]:
    """Return each direction (space owner) of the configuration with its contacts, in order."""
    result: dict[str, list[str]] = {}
    for space in config.spaces:
        contacts = result.setdefault(space.owner, [])
        for address in space.contacts:
            if address not in contacts:
                contacts.append(address)
    return result


# --- Facts of the window ----------------------------------------------------------------------


@dataclass
class _Hide:
    comment_id: int
    space_id: str
    created_time: dt.datetime
    done_at: dt.datetime
    category: str


@dataclass
class _Flag:
    comment_id: int
    space_id: str
    at: dt.datetime
    category: str
    pending: bool = False


class _Facts:
    """What the store holds for a set of spaces over five weeks, bucketed by week."""

    def __init__(self, session: Session, space_ids: Sequence[str], weeks: Sequence[Week]) -> None:
        self.weeks = list(weeks)
        self.start, self.end = weeks[0].start, weeks[-1].end
        self.bounds = [(week.start, week.end) for week in self.weeks]
        ids = list(space_ids)
        self.new: dict[tuple[str, int], int] = defaultdict(int)
        self.hides: dict[int, dict[int, _Hide]] = defaultdict(dict)  # week → comment → hide
        self.restored: dict[int, dict[int, str]] = defaultdict(dict)  # week → comment → space
        self.flags: dict[str, dict[int, list[_Flag]]] = {
            "observe_hide": defaultdict(list),
            "review": defaultdict(list),
            "alert": defaultdict(list),
        }
        if not ids:
            return
        for index, week in enumerate(self.weeks):
            query = (
                select(Comment.space_id, func.count())
                .where(
                    col(Comment.space_id).in_(ids),
                    Comment.created_time >= week.start,
                    Comment.created_time < week.end,
                    col(Comment.by_owner).is_(False),
                )
                .group_by(Comment.space_id)
            )
            for space_id, count in session.exec(query):
                self.new[(space_id, index)] = int(count)

        hide_rows = list(
            session.exec(
                select(Action.comment_id, Action.done_at, Comment.space_id, Comment.created_time,
                       Verdict.categories)
                .join(Comment, col(Comment.id) == Action.comment_id)
                .outerjoin(Verdict, col(Verdict.comment_id) == Action.comment_id)
                .where(
                    Action.kind == "hide",
                    Action.state == "done",
                    col(Action.done_at) >= self.start,
                    col(Action.done_at) < self.end,
                    col(Comment.space_id).in_(ids),
                )
                .order_by(col(Action.done_at))
            )
        )
        flag_rows = list(
            session.exec(
                select(Verdict.comment_id, Verdict.created_at, Verdict.decision, Verdict.alert,
                       Verdict.categories, Comment.space_id, Comment.review_status)
                .join(Comment, col(Comment.id) == Verdict.comment_id)
                .where(
                    Verdict.created_at >= self.start,
                    Verdict.created_at < self.end,
                    # ``space_id || ''``: the same values, but no index, so the planner starts
                    # from the five weeks of verdicts (ix_verdicts_created). SQLite, which has
                    # no statistics, otherwise walked every comment of the spaces through
                    # ix_comments_space_created: the whole store for a digest of every space.
                    (col(Comment.space_id) + "").in_(ids),
                    sa.or_(
                        col(Verdict.decision).in_(("observe_hide", "review", "observe_review")),
                        col(Verdict.alert).is_(True),
                    ),
                )
            )
        )
        labels = self._labels(session, {r[0] for r in hide_rows} | {r[0] for r in flag_rows})
        for comment_id, done_at, space_id, created_time, categories in hide_rows:
            index = self.week_index(done_at)
            if index is None:
                continue
            self.hides[index].setdefault(
                comment_id,
                _Hide(comment_id, space_id, created_time, done_at,
                      self._category(comment_id, categories, labels)),
            )
        for comment_id, created_at, decision, alert, categories, space_id, status in flag_rows:
            index = self.week_index(created_at)
            if index is None:
                continue
            flag = _Flag(comment_id, space_id, created_at,
                         self._category(comment_id, categories, labels), status == "pending")
            if decision in ("observe_hide", "review", "observe_review"):
                self.flags[decision.replace("observe_review", "review")][index].append(flag)
            if alert:
                self.flags["alert"][index].append(flag)

        restore_rows = session.exec(
            select(Action.comment_id, Action.done_at, Comment.space_id)
            .join(Comment, col(Comment.id) == Action.comment_id)
            .where(
                Action.kind == "unhide",
                Action.state == "done",
                col(Action.requested_by).like("admin:%"),
                col(Action.done_at) >= self.start,
                col(Action.done_at) < self.end,
                col(Comment.space_id).in_(ids),
            )
        )
        for comment_id, done_at, space_id in restore_rows:
            index = self.week_index(done_at)
            if index is not None:
                self.restored[index][comment_id] = space_id

    @staticmethod
    def _labels(session: Session, comment_ids: set[int]) -> dict[int, str]:
        """Return the latest administrator label that is a category, per comment."""
        result: dict[int, str] = {}
        ids = sorted(comment_ids)
        for start in range(0, len(ids), 500):
            rows = session.exec(
                select(ReviewLabel.comment_id, ReviewLabel.label)
                .where(col(ReviewLabel.comment_id).in_(ids[start : start + 500]))
                .order_by(col(ReviewLabel.decided_at), col(ReviewLabel.id))
            )
            for comment_id, name in rows:
                if name in CATEGORY_IDS:
                    result[comment_id] = name
                else:
                    result.pop(comment_id, None)
        return result

    @staticmethod
    def _category(comment_id: int, categories: Any, labels: dict[int, str]) -> str:
        if comment_id in labels:
            return labels[comment_id]
        if isinstance(categories, list) and categories and categories[0] in CATEGORY_IDS:
            return str(categories[0])
        return OTHER

    def week_index(self, moment: dt.datetime | None) -> int | None:
        if moment is None:
            return None
        for index, (start, end) in enumerate(self.bounds):
            if start <= moment < end:
                return index
        return None

    def metrics(self, index: int, space_ids: set[str] | None = None) -> Metrics:
        def keep(space_id: str) -> bool:
            return space_ids is None or space_id in space_ids

        hides = [h for h in self.hides[index].values() if keep(h.space_id)]
        delays = [max(0.0, (h.done_at - h.created_time).total_seconds()) for h in hides]
        queued = [f for f in self.flags["review"][index] if keep(f.space_id)]
        return Metrics(
            new_comments=sum(n for (s, i), n in self.new.items() if i == index and keep(s)),
            hidden=len(hides),
            observed=len({f.comment_id for f in self.flags["observe_hide"][index]
                          if keep(f.space_id)}),
            queued=len({f.comment_id for f in queued}),
            still_pending=len({f.comment_id for f in queued if f.pending}),
            restored=sum(1 for s in self.restored[index].values() if keep(s)),
            alerts=len({f.comment_id for f in self.flags["alert"][index] if keep(f.space_id)}),
            median_hide_seconds=statistics.median(delays) if delays else None,
        )

    def categories(self, index: int, space_ids: set[str] | None = None) -> list[CategoryCount]:
        """Return the week's comments per category (hidden, queued, observed), every category."""
        counts: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        for hide in self.hides[index].values():
            if space_ids is None or hide.space_id in space_ids:
                counts[hide.category]["hidden"].add(hide.comment_id)
        for kind, key in (("review", "review"), ("observe_hide", "observed")):
            for flag in self.flags[kind][index]:
                if space_ids is None or flag.space_id in space_ids:
                    counts[flag.category][key].add(flag.comment_id)
        ids = list(CATEGORY_IDS) + ([OTHER] if OTHER in counts else [])
        result = []
        for category_id in ids:
            hidden = len(counts[category_id]["hidden"])
            review = len(counts[category_id]["review"] - counts[category_id]["hidden"])
            observed = len(counts[category_id]["observed"])
            result.append(
                category(category_id, count=hidden + review + observed, hidden=hidden,
                         review=review, observed=observed)
            )
        return result


def _with_widths(counts: list[CategoryCount]) -> list[CategoryCount]:
    """Give each bar its widths in percent of the widest bar; a non-zero part gets at least 1 %."""
    widest = max((c.count for c in counts), default=0)
    result = []
    for c in counts:
        if not widest or not c.count:
            result.append(c)
            continue
        hidden = round(100 * c.hidden / widest)
        other = round(100 * c.count / widest) - hidden
        if c.hidden and hidden < 1:
            hidden = 1
        if c.count > c.hidden and other < 1:
            other = 1
        excess = hidden + other - 100
        if excess > 0:
            if hidden >= other:
                hidden -= excess
            else:
                other -= excess
        result.append(
            CategoryCount(**{**c.__dict__, "hidden_width": hidden, "other_width": max(0, other)})
        )
    return result


# --- Changes against the previous weeks -------------------------------------------------------

CHANGE_KEYS = ("new_comments", "hidden", "queued", "restored", "median_hide_seconds")


def _change_label(key: str) -> str:
    return {
        "new_comments": _("New comments"),
        "hidden": _("Hidden"),
        "queued": _("Sent to review"),
        "restored": _("Restored by administrators"),
        "median_hide_seconds": _("Median time to hide"),
    }[key]


def change(key: str, current: Metrics, previous: Sequence[Metrics]) -> Change:
    """Compare one metric of this week with the mean of the previous weeks given."""
    value = getattr(current, key)
    earlier = [getattr(m, key) for m in previous]
    earlier = [v for v in earlier if v is not None]
    is_duration = key == "median_hide_seconds"
    if not earlier or value is None:
        return Change(key, _change_label(key), value, statistics.fmean(earlier) if earlier
                      else None, None, "none", is_duration)
    average = statistics.fmean(earlier)
    if average == 0:
        direction = "same" if value == 0 else "new"
        return Change(key, _change_label(key), value, average, None, direction, is_duration)
    percent = (value - average) / average * 100
    direction = "same" if round(percent) == 0 else ("up" if percent > 0 else "down")
    return Change(key, _change_label(key), value, average, percent, direction, is_duration)


# --- Troubles ---------------------------------------------------------------------------------


@dataclass
class _RunStats:
    total: int = 0
    failed: int = 0
    quota: int = 0
    last_error: str | None = None


def _run_stats(session: Session, space_ids: Sequence[str], week: Week) -> dict[str, _RunStats]:
    stats: dict[str, _RunStats] = defaultdict(_RunStats)
    if not space_ids:
        return stats
    failed = sa.case((col(PollRun.ok).is_(True), 0), else_=1)
    quota_kind = sa.or_(
        func.lower(func.coalesce(PollRun.error_kind, "")).like("%rate%"),
        func.lower(func.coalesce(PollRun.error_kind, "")).like("%quota%"),
    )
    quota = sa.case((quota_kind, 1), else_=0)
    rows = session.exec(
        select(PollRun.space_id, func.count(), func.sum(failed), func.sum(quota))
        .where(col(PollRun.space_id).in_(list(space_ids)), PollRun.started_at >= week.start,
               PollRun.started_at < week.end)
        .group_by(PollRun.space_id)
    )
    for space_id, total, failures, quotas in rows:
        stats[space_id] = _RunStats(int(total), int(failures or 0), int(quotas or 0))
    for space_id, entry in stats.items():
        if entry.failed:
            last = session.exec(
                select(PollRun.error, PollRun.error_kind)
                .where(PollRun.space_id == space_id, col(PollRun.ok).is_(False),
                       PollRun.started_at >= week.start, PollRun.started_at < week.end)
                .order_by(col(PollRun.started_at).desc())
                .limit(1)
            ).first()
            if last:
                entry.last_error = last[0] or last[1]
    return stats


def _error_text(text: str | None) -> str:
    return shorten(clean(text or ""), ERROR_TEXT_LIMIT)


def space_troubles(
    info: SpaceInfo, runs: _RunStats | None, now: dt.datetime, timezone: str
) -> tuple[str, list[str]] | None:
    """Return (severity, reasons) when a space needs someone's attention, else None."""
    if info.retired or not info.enabled:
        return None
    errors: list[str] = []
    warnings: list[str] = []
    row = info.row
    if row is None:
        warnings.append(_("Not polled yet: the daemon has not reached this space."))
        return "warning", warnings
    reason = _error_text(row.health_reason or row.last_error)
    if row.health == "unhealthy":
        errors.append(_("Polling is failing: {reason}").format(reason=reason or "—"))
    elif row.health == "degraded":
        warnings.append(_("Polling is degraded: {reason}").format(reason=reason or "—"))
    if row.backoff_until and row.backoff_until > now:
        warnings.append(
            _("Polling paused after repeated failures until {when}.").format(
                when=formatting.datetime(row.backoff_until, timezone)
            )
        )
    if row.consecutive_failures >= 3:
        warnings.append(
            ngettext("{count} failed poll in a row.", "{count} failed polls in a row.",
                     row.consecutive_failures).format(count=row.consecutive_failures)
        )
    if row.token_expires_at is not None:
        if row.token_expires_at <= now:
            errors.append(
                _("The access token expired on {date}: renew it.").format(
                    date=formatting.date(row.token_expires_at, timezone)
                )
            )
        elif row.token_expires_at - now <= TOKEN_WARNING:
            warnings.append(
                _("The access token expires on {date}: renew it before then.").format(
                    date=formatting.date(row.token_expires_at, timezone)
                )
            )
    if row.usage_ratio is not None and row.usage_ratio >= 1.0:
        errors.append(_("The platform's API quota is exhausted."))
    elif row.usage_ratio is not None and row.usage_ratio >= QUOTA_WARNING:
        warnings.append(
            _("The platform's API quota is nearly used ({percent}).").format(
                percent=formatting.percent(row.usage_ratio * 100)
            )
        )
    if runs and runs.failed:
        message = ngettext(
            "{failed} of {total} poll failed this week",
            "{failed} of {total} polls failed this week",
            runs.total,
        ).format(failed=runs.failed, total=runs.total)
        if runs.last_error:
            message += _(" (last error: {error})").format(error=_error_text(runs.last_error))
        (errors if runs.failed * 2 > runs.total else warnings).append(message + ".")
    if runs and runs.quota:
        warnings.append(
            ngettext("{count} poll hit the API quota this week.",
                     "{count} polls hit the API quota this week.", runs.quota).format(
                count=runs.quota
            )
        )
    last_good = row.last_good_poll_at
    if last_good is not None and now - last_good > STALE_AFTER:
        errors.append(
            _("No successful poll since {when}.").format(
                when=formatting.datetime(last_good, timezone)
            )
        )
    elif last_good is None and row.last_poll_at is not None:
        errors.append(_("No poll of this space has succeeded yet."))
    if errors:
        return "error", errors + warnings
    if warnings:
        return "warning", warnings
    return None


# --- Items ------------------------------------------------------------------------------------


def _items(
    config: Config,
    rows: Iterable[tuple[Comment, Verdict | None]],
    names: dict[str, SpaceInfo],
    masker: AuthorMasker,
    acted: dict[int, dt.datetime] | None = None,
    labels: dict[int, str] | None = None,
) -> list[Item]:
    items = []
    language = current_language()
    for comment, verdict in rows:
        assert comment.id is not None
        evidence = list(verdict.evidence) if verdict else []
        chosen = (labels or {}).get(comment.id)
        category_ids = [chosen] if chosen else list(verdict.categories if verdict else [])
        info = names.get(comment.space_id)
        items.append(
            Item(
                comment_id=comment.id,
                space_name=info.name if info else comment.space_id,
                platform=formatting.platform(comment.platform),
                posted_at=comment.created_time,
                acted_at=(acted or {}).get(comment.id),
                author=masker(comment.author_id, comment.author_name),
                excerpt=excerpt(comment.text, evidence, config.report.excerpt_length,
                                purged=comment.purged_at is not None),
                categories=tuple(category(c) for c in category_ids if c in CATEGORY_IDS)
                or (category(OTHER),),
                url=item_url(config, comment.id),
                evidence=tuple(
                    (
                        str(e.get("message_fr" if language == "fr" else "message_en") or
                            e.get("rule_id") or ""),
                        evidence_text(e),
                    )
                    for e in evidence
                    if isinstance(e, dict)
                ),
            )
        )
    return items


def _comment_rows(session: Session, ids: Sequence[int]) -> dict[int, tuple[Comment, Verdict | None]]:
    if not ids:
        return {}
    rows = session.exec(
        select(Comment, Verdict)
        .outerjoin(Verdict, col(Verdict.comment_id) == Comment.id)
        .where(col(Comment.id).in_(list(ids)))
    )
    return {comment.id: (comment, verdict) for comment, verdict in rows if comment.id is not None}


def _awaiting_decision() -> tuple[Any, ...]:
    """Conditions for a comment waiting for an administrator with nothing done on the platform:
    review pending, and not hidden (hidden comments awaiting confirmation are already handled)."""
    return (
        Comment.review_status == "pending",
        sa.or_(col(Verdict.decision).is_(None), col(Verdict.decision) != "hide"),
    )


# --- The digest -------------------------------------------------------------------------------


def build_digest(
    config: Config,
    session: Session,
    week: Week,
    now: dt.datetime,
    *,
    space_id: str | None = None,
    owner: str | None = None,
) -> Digest:
    """Given a week and a scope (every space, one direction or one space), return its digest."""
    weeks = [week.shifted(offset) for offset in range(-HISTORY_WEEKS, 1)]
    spaces = scope_spaces(config, session, space_id=space_id, owner=owner, since=weeks[0].start)
    ids = [s.id for s in spaces]
    by_id = {s.id: s for s in spaces}
    facts = _Facts(session, ids, weeks)
    current = HISTORY_WEEKS
    timezone = config.vigie.timezone

    first_seen = min((s.row.created_at for s in spaces if s.row is not None), default=None)
    history = tuple(
        WeekMetrics(w.label, w.monday, facts.metrics(i),
                    counted=first_seen is not None and w.end > first_seen)
        for i, w in enumerate(weeks)
    )
    totals = history[current].metrics
    previous = [h.metrics for h in history[:current] if h.counted]
    changes = tuple(change(key, totals, previous) for key in CHANGE_KEYS)

    backlog_by_space: dict[str, int] = defaultdict(int)
    if ids:
        for key, count in session.exec(
            select(Comment.space_id, func.count())
            .outerjoin(Verdict, col(Verdict.comment_id) == Comment.id)
            .where(col(Comment.space_id).in_(ids), *_awaiting_decision())
            .group_by(Comment.space_id)
        ):
            backlog_by_space[key] = int(count)

    runs = _run_stats(session, ids, week)
    troubles: list[Trouble] = []
    sections: list[SpaceSection] = []
    for info in spaces:
        trouble = space_troubles(info, runs.get(info.id), now, timezone)
        if trouble:
            troubles.append(
                Trouble(info.id, info.name, formatting.platform(info.platform), info.owner,
                        trouble[0], tuple(trouble[1]))
            )
        only = {info.id}
        metrics = facts.metrics(current, only)
        earlier = [facts.metrics(i, only) for i, h in enumerate(history[:current]) if h.counted]
        sections.append(
            SpaceSection(
                id=info.id,
                name=info.name,
                platform=formatting.platform(info.platform),
                owner=info.owner,
                mode=info.mode,
                enabled=info.enabled,
                retired=info.retired,
                metrics=metrics,
                backlog=backlog_by_space[info.id],
                hidden_by_category=tuple(
                    c for c in facts.categories(current, only) if c.hidden
                ),
                hidden_change=change("hidden", metrics, earlier),
                in_trouble=trouble is not None,
            )
        )
    troubles.sort(key=lambda t: (t.severity != "error", t.space_name.lower()))

    chart = _with_widths(facts.categories(current))
    masker = AuthorMasker(config.report.mask_authors)
    labels = facts._labels(session, set(facts.hides[current]))

    alert_flags = sorted(facts.flags["alert"][current], key=lambda f: f.at, reverse=True)
    alert_ids = list(dict.fromkeys(f.comment_id for f in alert_flags))
    alert_rows = _comment_rows(session, alert_ids[:ITEM_LIMIT])
    alerts = _items(config, (alert_rows[i] for i in alert_ids[:ITEM_LIMIT]
                                      if i in alert_rows), by_id, masker)

    hides = sorted(facts.hides[current].values(), key=lambda h: h.done_at, reverse=True)
    shown = [h.comment_id for h in hides[:ITEM_LIMIT]]
    hidden_rows = _comment_rows(session, shown)
    hidden_items = _items(
        config, (hidden_rows[i] for i in shown if i in hidden_rows), by_id, masker,
        acted={h.comment_id: h.done_at for h in hides[:ITEM_LIMIT]}, labels=labels,
    )

    backlog = sum(backlog_by_space.values())
    pending_rows: list[tuple[Comment, Verdict | None]] = []
    if ids and backlog:
        pending_rows = list(
            session.exec(
                select(Comment, Verdict)
                .outerjoin(Verdict, col(Verdict.comment_id) == Comment.id)
                .where(col(Comment.space_id).in_(ids), *_awaiting_decision())
                .order_by(col(Comment.created_time), col(Comment.id))
                .limit(ITEM_LIMIT)
            )
        )
    pending_items = _items(config, pending_rows, by_id, masker)

    kind = "direction" if owner is not None else "weekly"
    digest = Digest(
        kind=kind,
        scope=owner or "",
        week=week.label,
        monday=week.monday,
        sunday=week.sunday,
        in_progress=now < week.end,
        generated_at=now,
        timezone=timezone,
        language=current_language(),
        console_url=config.console.base_url.rstrip("/"),
        masked_authors=config.report.mask_authors,
        totals=totals,
        backlog=backlog,
        changes=changes,
        history=history,
        compared_weeks=len(previous),
        chart=tuple(chart),
        chart_total=sum(c.count for c in chart),
        spaces=tuple(sections),
        troubles=tuple(troubles),
        alerts=tuple(alerts),
        alerts_more=max(0, len(alert_ids) - len(alerts)),
        hidden_items=tuple(hidden_items),
        hidden_more=max(0, len(hides) - len(hidden_items)),
        pending_items=tuple(pending_items),
        pending_more=max(0, backlog - len(pending_items)),
    )
    return _with_subject(digest, spaces[0].name if space_id is not None and spaces else None)


def _with_subject(digest: Digest, space_name: str | None) -> Digest:
    monday = formatting.date(digest.monday)
    if space_name:
        subject = _("Vigie weekly report, {space}, week of {monday}").format(
            space=clean(space_name), monday=monday
        )
    elif digest.scope:
        subject = _("Vigie weekly report, {direction}, week of {monday}").format(
            direction=clean(digest.scope), monday=monday
        )
    else:
        subject = _("Vigie weekly report, week of {monday}").format(monday=monday)
    subject += _(": {hidden} hidden, {pending} awaiting review").format(
        hidden=formatting.number(digest.totals.hidden), pending=formatting.number(digest.backlog)
    )
    if digest.totals.alerts:
        subject += ngettext(", {count} urgent alert", ", {count} urgent alerts",
                            digest.totals.alerts).format(count=digest.totals.alerts)
    if digest.troubles:
        subject += ngettext(", {count} space needs attention", ", {count} spaces need attention",
                            len(digest.troubles)).format(count=len(digest.troubles))
    return Digest(**{**digest.__dict__, "subject": subject})


# --- Alerts and health notices ----------------------------------------------------------------


def build_alert(
    config: Config, session: Session, comment: Comment, verdict: Verdict, now: dt.datetime
) -> AlertMail:
    """Return the urgent alert for one comment flagged by the classifier."""
    spaces = {s.id: s for s in scope_spaces(config, session)}
    info = spaces.get(comment.space_id)
    row = session.get(Space, comment.space_id)
    masker = AuthorMasker(config.report.mask_authors)
    item = _items(config, [(comment, verdict)], spaces, masker)[0]
    name = info.name if info else (row.name if row else comment.space_id)
    subject = _("URGENT — Vigie alert, {space}: {category}").format(
        space=clean(name), category=item.categories[0].label
    )
    return AlertMail(
        generated_at=now,
        timezone=config.vigie.timezone,
        language=current_language(),
        space_name=name,
        space_id=comment.space_id,
        platform=formatting.platform(comment.platform),
        owner=info.owner if info else (row.owner if row else ""),
        mode=info.mode if info else (row.mode if row else ""),
        decision=verdict.decision,
        item=item,
        console_url=config.console.base_url.rstrip("/"),
        subject=subject,
    )


def build_health(
    config: Config, session: Session, space_id: str, message: str, now: dt.datetime
) -> HealthMail:
    """Return the health notice for a space that needs a system administrator."""
    spaces = {s.id: s for s in scope_spaces(config, session)}
    info = spaces.get(space_id)
    row = session.get(Space, space_id)
    if info is None and row is None:
        raise UsageError(
            _("There is no space “{id}” in the configuration or the store.").format(id=space_id)
        )
    name = info.name if info else row.name  # type: ignore[union-attr]
    reasons: list[str] = []
    if info is not None:
        trouble = space_troubles(info, None, now, config.vigie.timezone)
        reasons = trouble[1] if trouble else []
    return HealthMail(
        generated_at=now,
        timezone=config.vigie.timezone,
        language=current_language(),
        space_name=name,
        space_id=space_id,
        platform=formatting.platform(info.platform if info else row.platform),  # type: ignore[union-attr]
        owner=info.owner if info else row.owner,  # type: ignore[union-attr]
        message=_error_text(message) if message else "",
        health=row.health if row else "ok",
        last_error=_error_text(row.last_error) if row else "",
        last_error_at=row.last_error_at if row else None,
        last_good_poll_at=row.last_good_poll_at if row else None,
        consecutive_failures=row.consecutive_failures if row else 0,
        backoff_until=row.backoff_until if row else None,
        token_expires_at=row.token_expires_at if row else None,
        console_url=config.console.base_url.rstrip("/"),
        reasons=tuple(reasons),
        subject=_("Vigie: the space {space} needs a system administrator").format(
            space=clean(name)
        ),
    )
