"""Shared helpers for the classifier tests."""

from __future__ import annotations

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
