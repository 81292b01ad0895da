"""The classifier's inputs and outputs: plain, frozen values with no I/O behind them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ActionName = Literal["hide", "review", "allow"]


@dataclass(frozen=True)
class CommentInput:
    """One comment to judge. Only ``text`` is required."""

    text: str
    id: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    created_time: dt.datetime | None = None
    platform: str | None = None
    # Anonymity signals the platform gives (see connectors.base.RemoteComment.author_meta).
    author_meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryItem:
    """An earlier comment of the same space, within the repetition window."""

    text: str
    author_id: str | None
    created_time: dt.datetime
    author_meta: Mapping[str, Any] = field(default_factory=dict)
    author_name: str | None = None  # the display name: a pseudonym is an anonymity signal


@dataclass(frozen=True)
class Thresholds:
    """Per category: (hide, review) score thresholds."""

    by_category: Mapping[str, tuple[float, float]]

    def hide(self, category: str) -> float:
        return self.by_category[category][0]

    def review(self, category: str) -> float:
        return self.by_category[category][1]


@dataclass(frozen=True)
class Evidence:
    """Why a category scored: a rule, a message a person understands, the matched text."""

    category: str
    rule_id: str
    message_fr: str
    message_en: str
    span: tuple[int, int] | None = None  # offsets in the original text
    excerpt: str = ""

    def message(self, language: str) -> str:
        return self.message_fr if language == "fr" else self.message_en

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "rule_id": self.rule_id,
            "message_fr": self.message_fr,
            "message_en": self.message_en,
            "span": list(self.span) if self.span else None,
            "excerpt": self.excerpt,
        }


@dataclass(frozen=True)
class Verdict:
    """The classifier's answer for one comment."""

    action: ActionName
    categories: tuple[str, ...]  # categories at or above their review threshold, worst first
    scores: Mapping[str, float]  # every category, in [0, 1]
    evidence: tuple[Evidence, ...]
    rule_ids: tuple[str, ...]
    alert: bool  # threats or illegal content: e-mail at once
    classifier_version: str
