"""The literal pre-filters of rule patterns never skip a search that would have matched."""

from __future__ import annotations

import json
import random
import re

import pytest
from policy_helpers import rules_only

from watcher.policy.engine import REPO_ROOT
from watcher.policy.factors import required_factors
from watcher.policy.normalize import normalize
from watcher.policy.training import read_corpus


def project_texts() -> list[str]:
    texts = [e.text for e in read_corpus()]
    for rule in rules_only().rules:
        texts += [*rule.positive, *rule.negative]
    scenario = json.loads((REPO_ROOT / "config" / "demo" / "scenario.json").read_text(encoding="utf-8"))
    texts += [p["text"] for p in scenario["posts"]] + [c["text"] for c in scenario["comments"]]
    return texts


@pytest.mark.parametrize(("pattern", "factors"), [
    (r"\bmak(?:e|ing)\s+money\b", ("money",)),  # the least common of the candidates
    (r"\b(?:free|gratuit)\s+iphones?\b", ("iphone",)),  # the optional s adds nothing
    (r"\bi (?:just )?started\b", (" started",)),
    (r"(?:abc|x\w+)", ("x", "abc")),  # each branch gives its own
    (r"x(?:yz|y)?w", ("xw", "xyw", "xyzw")),  # a run of exact elements, concatenated
    (r"(?:ab){2}c|d[ef]g", ("deg", "dfg", "ababc")),
    (r"[^a]bc", ("bc",)),  # a negated class gives nothing, the rest does
    (r"\bfoo(?!bar)", ("foo",)),  # a negative look-ahead gives nothing
    (r"(?=.*fraude)\bvol\b", ("vol",)),
    (r"(?:abc|\d+)", None),  # a branch without a required literal
    (r"\bx?y?\b", None),  # everything optional
    (r"(?i)\bargent\b", None),  # case-insensitive: no claim
])
def test_required_factors_of_small_patterns(pattern: str, factors: tuple[str, ...] | None) -> None:
    assert required_factors(re.compile(pattern)) == factors


def test_required_factors_hold_on_random_texts() -> None:
    """Every match contains a factor, on random texts over the patterns' own letters."""
    rng = random.Random(8)
    patterns = [r"\bmak(?:e|ing)\s+(?:de l'argent|money|\$+\s*\d*)\b", r"(?:ab|cd)+e?f{1,2}",
                r"\b(?:a|b)c(?=d)", r"x(?:yz|y)?w", r"(?:ab){2}c|d[ef]g", r"a.{0,3}b(?:c|d)"]
    for source in patterns:
        pattern = re.compile(source)
        factors = required_factors(pattern)
        assert factors is not None, source
        alphabet = sorted(set(re.sub(r"\\[bsd]|[^a-z$' ]", "", source)) | {" ", "1"})
        for _ in range(4000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
            if pattern.search(text):
                assert any(f in text for f in factors), (source, text, factors)


def test_every_shipped_pattern_match_contains_one_of_its_factors() -> None:
    """On every project text, no shipped pattern matches where its pre-filter would skip it."""
    policy = rules_only()
    texts = project_texts()
    normalized = [normalize(t).text for t in texts]
    checked = 0
    for plan in policy.searches:
        for pattern, factors in plan.searches:
            if factors is None:
                continue
            for raw, norm in zip(texts, normalized, strict=True):
                text = raw if plan.rule.on == "raw" else norm
                if pattern.search(text):
                    checked += 1
                    assert any(f in text for f in factors), (plan.rule.id, pattern.pattern, raw)
    assert checked > 1000  # the samples and corpus exercise the patterns
