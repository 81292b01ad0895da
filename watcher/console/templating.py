"""Jinja set-up for the console: gettext, labels of statuses and states, local times.

Templates are autoescaped (Flask's default for ``.html``): a comment's text is always shown as
text. Labels are functions so they are translated in the language of each request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel import Locale
from babel.dates import format_datetime
from flask import Flask, current_app, g

from watcher.categories import BY_ID
from watcher.console.i18n import _, ngettext


def category_label(category_id: str | None) -> str:
    if not category_id:
        return "—"
    if category_id == "acceptable":
        return _("Acceptable (no breach of the policy)")
    category = BY_ID.get(category_id)
    return category.label(g.get("lang")) if category else category_id


def review_status_label(status: str) -> str:
    return {
        "none": _("Not reviewed"),
        "pending": _("Waiting for review"),
        "confirmed": _("Hide confirmed"),
        "restored": _("Restored"),
        "false_alarm": _("False alarm"),
        "reclassified": _("Reclassified"),
    }.get(status, status)


def platform_state_label(state: str) -> str:
    return {
        "visible": _("Visible"),
        "hidden": _("Hidden"),
        "deleted": _("Deleted"),
    }.get(state, state)


def action_kind_label(kind: str) -> str:
    return {"hide": _("Hide"), "unhide": _("Restore"), "delete": _("Delete")}.get(kind, kind)


def action_state_label(state: str) -> str:
    return {
        "requested": _("Pending"),
        "in_flight": _("In progress"),
        "done": _("Done"),
        "failed": _("Failed"),
        "refused": _("Refused by the platform"),
    }.get(state, state)


def decision_label(decision: str) -> str:
    return {
        "hide": _("Vigie hid this comment."),
        "review": _("Vigie put this comment aside for a person to review."),
        "observe_hide": _(
            "Vigie would have hidden this comment, but the space is in observation mode: "
            "it stayed visible."
        ),
        "allow": _("Vigie left this comment visible."),
    }.get(decision, decision)


def event_label(event: Any) -> str:
    """Given an audit event, return what happened, in a sentence a person understands."""
    kind = event.kind
    known = {
        "review.confirm": _("Hide confirmed"),
        "review.restore": _("Restore requested"),
        "review.false_alarm": _("Marked as a false alarm"),
        "review.reclassify": _("Reclassified"),
        "review.delete": _("Deletion requested"),
    }
    if kind in known:
        return known[kind]
    parts = kind.split(".")
    if parts[0] == "verdict" and len(parts) == 2:
        return _("Verdict of Vigie:") + " " + verdict_label(parts[1])
    if parts[0] == "action" and len(parts) == 3:
        return _("Platform action:") + f" {action_kind_label(parts[1])} — {action_state_label(parts[2])}"
    return kind


def verdict_label(decision: str) -> str:
    return {
        "hide": _("hide"),
        "review": _("put aside for review"),
        "observe_hide": _("would hide (observation mode)"),
        "allow": _("leave visible"),
    }.get(decision, decision)


def reason_label(reason: str | None) -> str:
    """An action's reason: a category id (from Vigie) becomes its label."""
    if not reason:
        return "—"
    return category_label(reason) if reason in BY_ID else reason


def actor_label(actor: str) -> str:
    if actor == "system":
        return _("Vigie (automatic)")
    if actor.startswith("admin:"):
        return actor.split(":", 1)[1]
    return actor


_LOCALES = {"fr": Locale.parse("fr_CA"), "en": Locale.parse("en_CA")}


def local_time(value: dt.datetime | None, with_time: bool = True) -> str:
    if value is None:
        return "—"
    tz = current_app.extensions["vigie_console"].tz
    locale = _LOCALES["fr" if g.get("lang", "fr") == "fr" else "en"]
    pattern = "yyyy-MM-dd HH:mm" if with_time else "yyyy-MM-dd"
    return format_datetime(value, pattern, tzinfo=tz, locale=locale)


def excerpt(text: str | None, length: int = 220) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def web_url(value: str | None) -> str | None:
    """Return an http(s) address as given, anything else (javascript:, data:) as None."""
    if value and value.lower().startswith(("https://", "http://")):
        return value
    return None


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{round(value * 100)} %" if g.get("lang", "fr") == "fr" else f"{round(value * 100)}%"


def install_templating(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_, ngettext=ngettext, newstyle=True
    )
    app.jinja_env.filters.update(
        category=category_label,
        review_status=review_status_label,
        platform_state=platform_state_label,
        action_kind=action_kind_label,
        action_state=action_state_label,
        decision=decision_label,
        event=event_label,
        reason=reason_label,
        actor=actor_label,
        local_time=local_time,
        excerpt=excerpt,
        percent=percent,
        web_url=web_url,
    )

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"lang": g.get("lang", "fr"), "user": g.get("user")}
