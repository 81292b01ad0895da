"""The templates: one sandboxed Jinja environment, HTML and plain text from one view model.

Templates live in ``reports/templates``: ``<name>.html`` is autoescaped, ``<name>.txt`` is not
(it becomes a text/plain part, where markup means nothing). The environment is sandboxed, so
even an edited template cannot reach Python internals, and comment text only ever enters as data:
it is never compiled as a template.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reports import formatting
from reports.i18n import _, ngettext
from watcher.i18n import use_language


class Rendered(NamedTuple):
    subject: str
    html: str
    text: str


def _gettext(message: str) -> str:
    return _(message)


def _ngettext(singular: str, plural: str, count: int) -> str:
    return ngettext(singular, plural, count)


@cache
def environment() -> ImmutableSandboxedEnvironment:
    """Return the reports' Jinja environment (sandboxed, autoescaped HTML, i18n)."""
    env = ImmutableSandboxedEnvironment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        number=formatting.number,
        percent=formatting.percent,
        date=formatting.date,
        short_date=formatting.short_date,
        week_range=formatting.week_range,
        datetime=formatting.datetime,
        duration=formatting.duration,
    )
    return env


def render(name: str, model: Any, language: str) -> Rendered:
    """Given a template name (``weekly``, ``alert``, ``health``) and its model, render both parts.

    The model carries its subject; the text part ends with a newline.
    """
    env = environment()
    with use_language(language):
        html = env.get_template(f"{name}.html").render(m=model)
        text = env.get_template(f"{name}.txt").render(m=model)
    return Rendered(model.subject, html, text)
