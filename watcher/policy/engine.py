"""PLACEHOLDER engine (core skeleton): a handful of rules so the pipeline can run end to end.

The classifier issue replaces this module's internals; the public names (Context, Policy,
load_policy, classify) and their signatures are the contract the rest of Vigie relies on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from watcher.categories import BY_ID, CATEGORY_IDS
from watcher.policy.types import (
    CommentInput,
    Evidence,
    HistoryItem,
    Thresholds,
    Verdict,
)

VERSION = "skeleton-0"


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    pattern: re.Pattern[str]
    score: float
    message_fr: str
    message_en: str


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    version: str = VERSION


@dataclass(frozen=True)
class Context:
    now: dt.datetime
    policy: Policy
    thresholds: Thresholds
    history: Sequence[HistoryItem] = field(default_factory=tuple)


def load_policy(extra_dirs: Sequence[Path] = (), model_path: Path | None = None) -> Policy:
    rules = (
        Rule("fr.threat.kill", "illegal", re.compile(r"\b(je vais te tuer|i will kill you)\b", re.I),
             0.95, "Menace de violence", "Threat of violence"),
        Rule("fr.insult.con", "diffamation_irrespect",
             re.compile(r"\b(mange d[ea] la marde|t'?es (un|une) (con|conne|idiot)|idiot|crisse de)\b", re.I),
             0.9, "Insulte", "Insult"),
        Rule("spam.link", "commercial_pourriel",
             re.compile(r"(https?://\S+.*(promo|gratuit|free|crypto))|(\bcrypto\b.*\bgagn)", re.I),
             0.9, "Publicité ou pourriel", "Advertising or spam"),
    )
    return Policy(rules=rules)


def classify(comment: CommentInput, context: Context) -> Verdict:
    scores = dict.fromkeys(CATEGORY_IDS, 0.0)
    evidence: list[Evidence] = []
    for rule in context.policy.rules:
        match = rule.pattern.search(comment.text)
        if match:
            scores[rule.category] = max(scores[rule.category], rule.score)
            evidence.append(Evidence(rule.category, rule.id, rule.message_fr, rule.message_en,
                                     match.span(), match.group(0)))
    thresholds = context.thresholds
    hidden = [c for c in CATEGORY_IDS if scores[c] >= thresholds.hide(c)]
    flagged = [c for c in CATEGORY_IDS if scores[c] >= thresholds.review(c)]
    action = "hide" if hidden else ("review" if flagged else "allow")
    return Verdict(
        action=action,
        categories=tuple(sorted(flagged, key=lambda c: -scores[c])),
        scores=scores,
        evidence=tuple(evidence),
        rule_ids=tuple(e.rule_id for e in evidence),
        alert=any(BY_ID[c].alert for c in flagged),
        classifier_version=context.policy.version,
    )
