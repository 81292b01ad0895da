"""What a report may show of a comment: a short excerpt, a masked author, no personal data.

Comment text is hostile input. Here it is only cut and cleaned (control and bidirectional
characters removed, whitespace folded); escaping is the templates' job (autoescape), and the
text is never rendered as a template.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from reports.i18n import _

# Categories whose matched spans are personal information (policy 8.1, first category).
PERSONAL_CATEGORIES = frozenset({"atteinte_droits"})
MASK = "\u2588\u2588\u2588"  # drawn as a black bar; the reader sees something was removed
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))
_SPACES = re.compile(r"\s+")


def personal_spans(evidence: Iterable[Mapping[str, Any]], length: int) -> list[tuple[int, int]]:
    """Given a verdict's evidence, return the merged spans of personal information to mask."""
    spans: list[tuple[int, int]] = []
    for item in evidence:
        if item.get("category") not in PERSONAL_CATEGORIES:
            continue
        span = item.get("span")
        if not isinstance(span, list | tuple) or len(span) != 2:
            continue
        try:
            start, end = int(span[0]), int(span[1])
        except (TypeError, ValueError):
            continue
        start, end = max(0, start), min(length, end)
        if start < end:
            spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mask_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Return ``text`` with each span replaced by a mask."""
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        pieces.append(text[position:start])
        pieces.append(MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def clean(text: str) -> str:
    """Remove control and bidirectional-override characters; fold whitespace to one space."""
    text = text.translate(_BIDI)
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in text
        if unicodedata.category(ch) != "Cf" or ch in "\u200d"  # keep emoji joiners
    )
    return _SPACES.sub(" ", text).strip()


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, at a word boundary, ending with “…”."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def excerpt(
    text: str,
    evidence: Iterable[Mapping[str, Any]] = (),
    limit: int = 140,
    purged: bool = False,
) -> str:
    """Given a comment's text and its verdict's evidence, return what a report may show."""
    if purged:
        return _("(text removed by the retention policy)")
    if not text.strip():
        return _("(no text)")
    masked = mask_spans(text, personal_spans(evidence, len(text)))
    return shorten(clean(masked), limit) or _("(no text)")


def evidence_text(item: Mapping[str, Any], limit: int = 60) -> str:
    """Return the matched text of one evidence item, masked when it is personal information."""
    if item.get("category") in PERSONAL_CATEGORIES:
        return MASK if item.get("excerpt") else ""
    return shorten(clean(str(item.get("excerpt") or "")), limit)


class AuthorMasker:
    """Names authors in a report: real names, or stable pseudonyms (“Person 1”) when masked."""

    def __init__(self, mask: bool) -> None:
        self.mask = mask
        self._numbers: dict[str, int] = {}

    def __call__(self, author_id: str | None, author_name: str | None) -> str:
        if not self.mask:
            return clean(author_name or "") or _("(unknown author)")
        key = author_id or author_name
        if not key:
            return _("(unknown author)")
        number = self._numbers.setdefault(key, len(self._numbers) + 1)
        return _("Person {number}").format(number=number)
