"""The literal pre-filters of rule patterns never skip a search that would have matched."""

from __future__ import annotations

import functools
import json
import operator
import random
import re

import pytest
from policy_helpers import rules_only

from watcher.policy.engine import REPO_ROOT
from watcher.policy.factors import required_sets
from watcher.policy.normalize import normalize
from watcher.policy.training import read_corpus


def project_texts() -> list[str]:
    texts = [e.text for e in read_corpus()]
    for rule in rules_only().rules:
        texts += [*rule.positive, *rule.negative]
    scenario = json.loads((REPO_ROOT / "config" / "demo" / "scenario.json").read_text(encoding="utf-8"))
    texts += [p["text"] for p in scenario["posts"]] + [c["text"] for c in scenario["comments"]]
    return texts


@pytest.mark.parametrize(("pattern", "sets"), [
    (r"\bmak(?:e|ing)\s+money\b", (("money",), ("make", "making"))),  # each part, cheapest first
    (r"\b(?:free|gratuit)\s+iphones?\b", (("iphone",), ("free", "gratuit"))),  # the s adds nothing
    (r"\bi (?:just )?started\b", (("i started", "i just started"),)),
    (r"x(?:yz|y)?w", (("xw", "xyw", "xyzw"),)),  # a run of exact elements, concatenated
    (r"(?:ab){2}c|d[ef]g", (("deg", "dfg", "ababc"),)),
    (r"[^a]bc", (("bc",),)),  # a negated class gives nothing, the rest does
    (r"\bfoo(?!bar)", (("foo",),)),  # a negative look-ahead gives nothing
    (r"(?:abc|\d+)", ()),  # a branch without a required literal
    (r"\bx?y?\b", ()),  # everything optional
    (r"(?=.*fraude)\bvol\b", (("fraude",), ("vol",))),  # a look-ahead's text is there too
    (r"\b(?:les|des)\s+(?:x|chats?)\s+(?:sont|ont)\b", (("ont",), ("des", "les"))),  # "x": too short
    (r"(?:ab\s+cd\s*){2,}ef", (("ab",), ("cd",), ("ef",))),  # a repeated item that occurs
    (r"(?:abc\s+de|xy\s*z)", (("xy", "abc"),)),  # a branch: each branch's cheapest set
    (r"\bquebec aux quebecois\b", (("quebec aux quebecois",),)),  # a run implies its parts
    (r"(?:abc|x\w+)", ()),  # "x" is too short to be worth a set
    (r"(?i)\bargent\b", ()),  # case-insensitive: no claim
])
def test_required_sets_of_small_patterns(pattern: str, sets: tuple[tuple[str, ...], ...]) -> None:
    assert required_sets(re.compile(pattern)) == sets


def test_required_sets_hold_on_random_texts() -> None:
    """Every match contains a literal of each set, on random texts over the patterns' letters."""
    rng = random.Random(9)
    patterns = [r"\bmak(?:e|ing)\s+(?:de l'argent|money|\$+\s*\d*)\b", r"(?:ab|cd)+e?f{1,2}",
                r"\b(?:ab|b)c(?=de)", r"xy(?:yz|y)?w\s+(?:ab|cd)", r"(?:ab){2}c|d[ef]g",
                r"ab.{0,3}b(?:cd|d)", r"(?:ab\s*cd\s*){2,}ef"]
    for source in patterns:
        pattern = re.compile(source)
        sets = required_sets(pattern)
        assert sets, source
        alphabet = sorted(set(re.sub(r"\\[bsd]|[^a-z$' ]", "", source)) | {" ", "1"})
        for _ in range(4000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
            if pattern.search(text):
                assert all(any(f in text for f in strings) for strings in sets), (source, text, sets)


def test_every_shipped_pattern_match_contains_a_literal_of_each_set() -> None:
    """On every project text, no shipped pattern matches where its pre-filter would skip it:
    the text holds a literal of each set the pattern requires (``required_sets``)."""
    policy = rules_only()
    texts = project_texts()
    normalized = [normalize(t).text for t in texts]
    checked = 0
    for plan in policy.plans:
        on_raw = policy.searches[plan.rule].rule.on == "raw"
        sets = required_sets(plan.pattern)
        if not sets:
            continue
        for raw, norm in zip(texts, normalized, strict=True):
            text = raw if on_raw else norm
            if plan.pattern.search(text):
                checked += 1
                for strings in sets:
                    assert any(f in text for f in strings), (plan.pattern.pattern, raw)
    assert checked > 1000  # the samples and corpus exercise the patterns


def test_the_engine_checks_each_pattern_s_sets() -> None:
    """Each literal of a pattern's most selective set wakes the pattern; each literal of its other
    sets carries the bit of its set, which the pattern checks (``rest``)."""
    policy = rules_only()
    checked = 0
    for g, plan in enumerate(policy.plans):
        sets = required_sets(plan.pattern)
        if not sets:
            assert policy.open_patterns >> g & 1
            continue
        on_raw = policy.searches[plan.rule].rule.on == "raw"
        rest = sets if on_raw else sets[1:]
        if not on_raw:
            for literal in sets[0]:
                assert policy.literal_bits[policy.literals.get(literal)] >> g & 1, literal
        assert bin(plan.rest).count("1") == len(rest), plan.pattern.pattern
        for strings in rest:
            bits = [policy.literal_bits[policy.literals.get(s)] for s in strings]
            assert functools.reduce(operator.and_, bits) & plan.rest, strings
            checked += 1
    assert checked > 1000
