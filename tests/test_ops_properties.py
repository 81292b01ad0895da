"""Property-based tests (hypothesis): bad input of any kind never crashes Vigie.

The classifier gets arbitrary Unicode (lone surrogates, control characters, NUL, right-to-left
marks, emoji), comments of 100 KB, and arbitrary histories; every answer must be well formed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.categories import CATEGORY_IDS
from watcher.policy import CommentInput, Context, HistoryItem, Thresholds, classify, load_policy

POLICY = load_policy()
THRESHOLDS = Thresholds(by_category={c: (0.8, 0.45) for c in CATEGORY_IDS})
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)

# Any code point, surrogates included (JSON "\ud800" escapes produce them in Python strings).
ANY_TEXT = st.text(alphabet=st.characters(codec=None, categories=None), max_size=400)
# Text that looks like comments: letters with accents, punctuation, insults, links, emoji.
WORDS = st.sampled_from(
    ["merci", "idiot", "tabarnak", "école", "https://promo.example/gratuit", "crypto", "gagne",
     "je", "vais", "te", "tuer", "😡", "\u202e", "\x00", "\ud83d", "Ｉｄｉｏｔ", "i\u0307", "ß",
     "\n", "  ", "!!!", "@prof", "#CSSJ", "<script>", "é" * 30]
)
COMMENTISH = st.lists(WORDS, max_size=60).map(" ".join)
TEXTS = st.one_of(ANY_TEXT, COMMENTISH)
META = st.dictionaries(
    st.sampled_from(["username", "has_real_name", "verified", "account_age_days", "x"]),
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.floats()),
    max_size=4,
)
TIMES = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(dt.UTC)
)
HISTORY = st.lists(
    st.builds(HistoryItem, text=TEXTS, author_id=st.one_of(st.none(), st.text(max_size=10)),
              created_time=TIMES, author_meta=META),
    max_size=15,
)


def _check(verdict, text: str) -> None:
    assert verdict.action in ("hide", "review", "allow")
    assert set(verdict.scores) == set(CATEGORY_IDS)
    assert all(0.0 <= float(v) <= 1.0 for v in verdict.scores.values())
    assert set(verdict.categories) <= set(CATEGORY_IDS)
    assert verdict.classifier_version
    for item in verdict.evidence:
        assert item.category in CATEGORY_IDS
        if item.span is not None:
            start, end = item.span
            assert 0 <= start <= end <= len(text)
        assert isinstance(item.message("fr"), str) and isinstance(item.message("en"), str)
    if verdict.action == "hide":
        assert any(verdict.scores[c] >= THRESHOLDS.hide(c) for c in verdict.categories)
    if verdict.action == "allow":
        assert not verdict.categories or all(
            verdict.scores[c] < THRESHOLDS.review(c) for c in verdict.categories
        )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=TEXTS,
    author=st.one_of(st.none(), ANY_TEXT),
    name=st.one_of(st.none(), ANY_TEXT),
    meta=META,
    created=st.one_of(st.none(), TIMES),
    history=HISTORY,
)
def test_classifier_answers_any_comment(text, author, name, meta, created, history) -> None:
    comment = CommentInput(text=text, id="c", author_id=author, author_name=name,
                           created_time=created, platform="facebook", author_meta=meta)
    context = Context(now=NOW, policy=POLICY, thresholds=THRESHOLDS, history=history)
    verdict = classify(comment, context)
    _check(verdict, text)
    assert classify(comment, context) == verdict  # pure: same input, same answer


@pytest.mark.parametrize(
    "unit",
    ["Merci pour l'info! ", "idiot ", "a" * 99 + " ", "https://x.example/promo gratuit ",
     "\ud83d\ude21\u202e ", "je vais te tuer "],
)
def test_classifier_handles_100_kb_comments(unit: str) -> None:
    text = (unit * (100_000 // len(unit) + 1))[:100_000]
    history = [HistoryItem(text=text, author_id="a", created_time=NOW - dt.timedelta(hours=h))
               for h in range(1, 4)]
    comment = CommentInput(text=text, author_id="a", created_time=NOW)
    verdict = classify(comment, Context(now=NOW, policy=POLICY, thresholds=THRESHOLDS,
                                        history=history))
    _check(verdict, text)
