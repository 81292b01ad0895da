"""User-facing text in French (fr-CA, the default) or English.

Messages are written in English in the code (``_("...")``) and translated through gettext
catalogs kept as ``.po`` files beside each component (``watcher/locale``, ``reports/locale``,
``watcher/console/locale``). The catalogs are compiled in memory with Babel when first used, so
there is no build step and no compiled file to keep in step with its source.

The language is chosen once per process by :func:`set_language` (from ``--lang``, the
configuration's ``vigie.language`` or ``VIGIE_LANG``); French is the default.
"""

from __future__ import annotations

import gettext
import io
import os
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
WATCHER_LOCALE_DIR = Path(__file__).parent / "locale"

_state = threading.local()
_process_language = os.environ.get("VIGIE_LANG", DEFAULT_LANGUAGE)


def normalize(language: str | None) -> str:
    """Given a language tag such as ``fr-CA`` or ``en_US``, return ``fr`` or ``en``."""
    if not language:
        return DEFAULT_LANGUAGE
    short = language.replace("_", "-").split("-")[0].lower()
    return short if short in SUPPORTED else DEFAULT_LANGUAGE


def set_language(language: str | None) -> str:
    """Set the process-wide language; return the normalized tag."""
    global _process_language
    _process_language = normalize(language)
    return _process_language


def current_language() -> str:
    """Return the language of this thread (a console request may override the process one)."""
    return getattr(_state, "language", None) or normalize(_process_language)


class use_language:  # noqa: N801 - used as a context manager, reads like a statement
    """Within ``with use_language("en"):``, this thread speaks the given language."""

    def __init__(self, language: str | None) -> None:
        self.language = normalize(language) if language else None

    def __enter__(self) -> str:
        self.previous = getattr(_state, "language", None)
        _state.language = self.language
        return current_language()

    def __exit__(self, *exc: object) -> None:
        _state.language = self.previous


@cache
def translations(domain: str, localedir: str, language: str) -> gettext.NullTranslations:
    """Given a gettext domain, its locale folder and a language, return its translations.

    English is the language of the message ids, so English needs no catalog; a missing catalog
    falls back to the message ids.
    """
    po_path = Path(localedir) / language / "LC_MESSAGES" / f"{domain}.po"
    if not po_path.is_file():
        return gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def translator(domain: str, localedir: Path) -> Callable[[str], str]:
    """Return a ``_`` function that translates into the current language at call time."""

    def _(message: str) -> str:
        return translations(domain, str(localedir), current_language()).gettext(message)

    return _


def ngettext_for(domain: str, localedir: Path) -> Callable[[str, str, int], str]:
    """Return an ``ngettext`` function bound to a domain, resolved at call time."""

    def ngettext(singular: str, plural: str, n: int) -> str:
        return translations(domain, str(localedir), current_language()).ngettext(
            singular, plural, n
        )

    return ngettext


_ = translator("vigie", WATCHER_LOCALE_DIR)
ngettext = ngettext_for("vigie", WATCHER_LOCALE_DIR)
