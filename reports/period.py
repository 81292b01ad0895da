"""Weeks, Monday to Sunday in the configured time zone, and the weekly schedule.

A week is named by its ISO label (``2026-W47``). Its bounds are local midnights converted to
UTC, so a week that crosses a daylight-saving change is 167 or 169 hours long, as it should be.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

from reports.i18n import _
from watcher.errors import UsageError

WEEK_LABEL = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Week:
    """An ISO week in a time zone."""

    year: int
    number: int
    timezone: str

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @cached_property
    def start(self) -> dt.datetime:
        """Monday 00:00 local time, in UTC."""
        return _local_midnight(self.monday, self.timezone)

    @cached_property
    def end(self) -> dt.datetime:
        """The next Monday 00:00 local time, in UTC (exclusive)."""
        return _local_midnight(self.monday + dt.timedelta(days=7), self.timezone)

    def shifted(self, weeks: int) -> Week:
        """Return the week ``weeks`` weeks later (earlier when negative)."""
        return week_of(self.monday + dt.timedelta(weeks=weeks), self.timezone)

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def _local_midnight(day: dt.date, timezone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def week_of(day: dt.date, timezone: str) -> Week:
    """Given a local date, return its week."""
    year, number, _weekday = day.isocalendar()
    return Week(year, number, timezone)


def week_containing(moment: dt.datetime, timezone: str) -> Week:
    """Given an aware moment, return the week it falls in, in the given time zone."""
    return week_of(moment.astimezone(ZoneInfo(timezone)).date(), timezone)


def parse_week(text: str | None, timezone: str, now: dt.datetime) -> Week:
    """Given ``2026-W47``, ``current``, ``last`` or None (last), return the week.

    Raise UsageError if the text names no week.
    """
    value = (text or "last").strip()
    if value.lower() in ("last", "derniere", "dernière", "previous"):
        return week_containing(now, timezone).shifted(-1)
    if value.lower() in ("current", "courante", "this"):
        return week_containing(now, timezone)
    match = WEEK_LABEL.match(value)
    if match:
        year, number = int(match.group(1)), int(match.group(2))
        try:
            dt.date.fromisocalendar(year, number, 1)
        except ValueError:
            pass
        else:
            return Week(year, number, timezone)
    raise UsageError(
        _("“{value}” is not a week: expected for example 2026-W47, “last” or “current”.").format(
            value=value
        )
    )


def parse_weekly_at(value: str) -> tuple[int, dt.time]:
    """Given ``mon 08:00``, return (weekday 0-6, local time)."""
    day, clock = value.split()
    hour, minute = clock.split(":")
    return DAYS.index(day), dt.time(int(hour), int(minute))


def fire_time(week: Week, weekly_at: str) -> dt.datetime:
    """Return when the report of ``week`` is due: ``weekly_at`` in the following week, in UTC."""
    weekday, clock = parse_weekly_at(weekly_at)
    day = week.monday + dt.timedelta(days=7 + weekday)
    return dt.datetime.combine(day, clock, tzinfo=ZoneInfo(week.timezone)).astimezone(dt.UTC)


def due_week(weekly_at: str, timezone: str, now: dt.datetime) -> Week:
    """Return the most recent week whose report time has come by ``now``."""
    previous = week_containing(now, timezone).shifted(-1)
    if fire_time(previous, weekly_at) <= now:
        return previous
    return previous.shifted(-1)
