"""Shared helpers for the classifier tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from functools import cache

from watcher.policy import (
    CommentInput,
    Context,
    HistoryItem,
    Policy,
    Verdict,
    classify,
    load_policy,
)
from watcher.policy.engine import default_thresholds
from watcher.policy.model import MODEL_CATEGORIES

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


@cache
def policy() -> Policy:
    return load_policy()


@cache
def rules_only() -> Policy:
    return load_policy(with_model=False)


def judge(text: str, history: Sequence[HistoryItem] = (), pol: Policy | None = None,
          **fields) -> Verdict:  # type: ignore[no-untyped-def]
    context = Context(now=NOW, policy=pol or policy(), thresholds=default_thresholds(),
                      history=tuple(history))
    return classify(CommentInput(text=text, **fields), context)


class StubModel:
    """A stand-in model giving every comment the same probabilities (0 where none is given)."""

    version = "stub"

    def __init__(self, **probabilities: float) -> None:
        self.probabilities = dict.fromkeys(MODEL_CATEGORIES, 0.0) | probabilities

    def predict(self, text: str) -> dict[str, float]:
        return dict(self.probabilities)  # a copy: the engine overwrites what the allow-list wins


def with_model(pol: Policy | None = None, **probabilities: float) -> Policy:
    """The policy (the shipped one by default) with a StubModel of these probabilities."""
    return dataclasses.replace(pol or policy(), model=StubModel(**probabilities))
