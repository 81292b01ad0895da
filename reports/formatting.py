"""Numbers, dates and durations written the way a reader of the report's language expects.

Babel does the locale work (fr-CA: “16 novembre 2026”, “1 234”, “12 %”); times are shown in
the configured time zone.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_interval, format_time
from babel.numbers import format_decimal, format_percent

from reports.i18n import _
from watcher.i18n import current_language

LOCALES = {"fr": "fr_CA", "en": "en_CA"}
PLATFORM_LABELS = {"facebook": "Facebook", "instagram": "Instagram", "x": "X", "youtube": "YouTube"}


@cache
def _parsed(tag: str) -> Locale:
    return Locale.parse(tag)


def locale() -> Locale:
    """Return the Babel locale of the current language (parsed once)."""
    return _parsed(LOCALES.get(current_language(), "fr_CA"))


def number(value: float | int | None) -> str:
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.#", locale=locale())


def percent(value: float | None, signed: bool = False) -> str:
    """Given a percentage (12.5 for 12.5 %), return it written for the reader."""
    if value is None:
        return "—"
    text = format_percent(abs(value) / 100, locale=locale())
    if signed and round(value) != 0:
        text = ("+" if value > 0 else "−") + text
    return text


def date(value: dt.date | dt.datetime | None, timezone: str | None = None, style: str = "long") -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.astimezone(ZoneInfo(timezone)) if timezone else value
        value = value.date()
    return format_date(value, format=style, locale=locale())


def week_range(monday: dt.date) -> str:
    """Given a Monday, return its week written as a range: “16–22 novembre 2026”."""
    return format_interval(monday, monday + dt.timedelta(days=6), "yMMMMd", locale=locale())


def short_date(value: dt.date | dt.datetime | None, timezone: str | None = None) -> str:
    """“16 nov.” / “Nov 16”: for tables where space is short."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = (value.astimezone(ZoneInfo(timezone)) if timezone else value).date()
    return format_date(value, format="d MMM" if current_language() == "fr" else "MMM d", locale=locale())


def datetime(value: dt.datetime | None, timezone: str) -> str:
    """“16 nov. 2026 14 h 05” in the configured time zone."""
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(timezone))
    day = format_date(local, format="medium", locale=locale())
    if current_language() == "fr":
        return f"{day} {local.hour} h {local.minute:02d}"
    return f"{day} {format_time(local, format='short', locale=locale())}"


def iso_datetime(value: dt.datetime | None, timezone: str) -> str:
    if value is None:
        return ""
    return format_datetime(value.astimezone(ZoneInfo(timezone)), "yyyy-MM-dd HH:mm", locale="en")


def duration(seconds: float | None) -> str:
    """Given seconds, return “< 1 min”, “12 min”, “2 h 05 min” or “3 d 4 h”."""
    if seconds is None:
        return "—"
    minutes = int(round(max(seconds, 0) / 60))
    if minutes < 1:
        return _("< 1 min")
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("{hours} h {minutes:02d} min").format(hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return _("{days} d {hours} h").format(days=days, hours=hours)


def platform(value: str) -> str:
    return PLATFORM_LABELS.get(value, value)
