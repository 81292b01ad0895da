"""The issue's targets, measured on the labelled sets read in place (skipped when absent).

Targets not met yet are marked ``xfail(strict=True)`` with the measured figure: the test fails the
day the target is reached, so the marker cannot outlive the gap. Each set also has a regression
floor a little under today's measurement. The figures and how to reproduce them are in
docs/evaluation.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import DATASETS, REPO, shared_or_skip
from policy_helpers import policy

from watcher.policy.engine import default_thresholds
from watcher.policy.evaluation import SETS, Result, evaluate_pairs, read_heldout

pytestmark = pytest.mark.datasets
_results: dict[str, Result] = {}


def measure(name: str) -> Result:
    if name not in _results:
        folder, reader = SETS[name]
        path = shared_or_skip(DATASETS / folder)
        _results[name] = evaluate_pairs(name, list(reader(path)), policy(), default_thresholds(),
                                        dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    return _results[name]


def test_mlma_regression_floor() -> None:
    result = measure("mlma_fr")
    assert result.false_hide_rate <= 0.05
    assert result.balanced_accuracy >= 0.60


def test_cyberagression_regression_floor() -> None:
    result = measure("cyberagression_fr")
    assert result.false_hide_rate <= 0.015
    assert result.balanced_accuracy >= 0.63


def test_youtube_spam_regression_floor() -> None:
    result = measure("youtube_spam")
    assert result.recall_flagged >= 0.80
    assert result.false_flag_rate <= 0.055
    assert result.false_hide_rate <= 0.03


def test_sms_spam_regression_floor() -> None:  # auxiliary set: no target, a floor only
    result = measure("sms_spam")
    assert result.recall_flagged >= 0.74
    assert result.false_flag_rate <= 0.06
    assert result.false_hide_rate <= 0.02


def test_youtube_spam_false_flag_target() -> None:
    assert measure("youtube_spam").false_flag_rate <= 0.05


@pytest.mark.xfail(strict=True, reason="target not met: see docs/evaluation.md")
def test_mlma_balanced_accuracy_target() -> None:
    assert measure("mlma_fr").balanced_accuracy >= 0.80


@pytest.mark.xfail(strict=True, reason="target not met: see docs/evaluation.md")
def test_cyberagression_balanced_accuracy_target() -> None:
    assert measure("cyberagression_fr").balanced_accuracy >= 0.80


def test_youtube_spam_recall_target() -> None:
    assert measure("youtube_spam").recall_flagged >= 0.85


HELDOUT = sorted((REPO / "tests" / "data").glob("heldout_*.jsonl"))


def heldout(path: Path) -> Result:
    if path.stem not in _results:
        pairs = list(read_heldout(path))
        assert pairs, f"{path} has no labelled line this reader understands"
        _results[path.stem] = evaluate_pairs(path.stem, pairs, policy(), default_thresholds(),
                                             dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    return _results[path.stem]


@pytest.mark.skipif(not HELDOUT, reason="no held-out set tests/data/heldout_*.jsonl")
@pytest.mark.parametrize("path", HELDOUT, ids=lambda p: p.stem)
def test_heldout_acceptable_french_targets(path: Path) -> None:
    result = heldout(path)
    assert result.false_hide_rate <= 0.02, result
    assert result.false_flag_rate <= 0.08, result


@pytest.mark.skipif(not HELDOUT, reason="no held-out set tests/data/heldout_*.jsonl")
@pytest.mark.parametrize("path", HELDOUT, ids=lambda p: p.stem)
def test_heldout_regression_floor(path: Path) -> None:
    result = heldout(path)
    assert result.recall_flagged >= 0.87, result
    assert result.recall_hidden >= 0.77, result


@pytest.mark.skipif(not HELDOUT, reason="no held-out set tests/data/heldout_*.jsonl")
@pytest.mark.parametrize("path", HELDOUT, ids=lambda p: p.stem)
def test_heldout_litigious_french_flagged_target(path: Path) -> None:
    result = heldout(path)
    assert result.recall_flagged >= 0.90, result


@pytest.mark.skipif(not HELDOUT, reason="no held-out set tests/data/heldout_*.jsonl")
@pytest.mark.parametrize("path", HELDOUT, ids=lambda p: p.stem)
def test_heldout_litigious_french_hidden_target(path: Path) -> None:
    result = heldout(path)
    assert result.recall_hidden >= 0.80, result
