"""Section 8.1 of policy R-SG-06 as data, judged by pure functions.

``classify(comment, context) -> Verdict`` does no I/O and reads no clock: the time, the
space's recent history and the loaded policy all come in through ``context``.
"""

from watcher.policy.engine import Context, Policy, classify, load_policy
from watcher.policy.types import (
    CommentInput,
    Evidence,
    HistoryItem,
    Thresholds,
    Verdict,
)

__all__ = [
    "CommentInput",
    "Context",
    "Evidence",
    "HistoryItem",
    "Policy",
    "Thresholds",
    "Verdict",
    "classify",
    "load_policy",
]
