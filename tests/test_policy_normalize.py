"""Evasion: accents, leetspeak, repeated letters, spacing, zero-width, homoglyphs, censoring, emoji."""

from __future__ import annotations

import pytest
from policy_helpers import judge

from watcher.policy.normalize import fold, normalize, tokens


@pytest.mark.parametrize("text", [
    "T'es un connard",
    "T'ES UN CONNARD",
    "t'es un connnnnaaard",
    "t'es un c0nn4rd",
    "t'es un c o n n a r d",
    "t'es un c.o.n.n.a.r.d",
    "t'es un con.nard",
    "t'es un con\u200bnard",
    "t'es un сonnаrd",  # Cyrillic с and а
    "t'es un ｃｏｎｎａｒｄ",  # full-width
    "t'es un c*nnard",
    "t'es un 𝐜𝐨𝐧𝐧𝐚𝐫𝐝",  # mathematical bold
])
def test_evasions_of_an_insult_are_caught(text: str) -> None:
    verdict = judge(text)
    assert verdict.action == "hide", (text, verdict.scores)
    assert "diffamation_irrespect" in verdict.categories


@pytest.mark.parametrize("text, category", [
    ("you f***ing c*nt", "diffamation_irrespect"),
    ("🖕🖕🖕", "diffamation_irrespect"),
    ("je vais te 🔪", "illegal"),
    ("sale n3gr3", "discrimination"),
    ("tabarnaaaaak de caaaave", "diffamation_irrespect"),
    ("câlisse de prof", "diffamation_irrespect"),
    ("calisse de prof", "diffamation_irrespect"),
    ("kaliss de prof", "diffamation_irrespect"),
])
def test_censored_spellings_emoji_and_sacre_spellings(text: str, category: str) -> None:
    verdict = judge(text)
    assert verdict.action != "allow" and category in verdict.categories, (text, verdict.scores)


def test_spans_point_into_the_original_text() -> None:
    text = "Bon… t'es un c\u200bo\u200bn\u200bn\u200ba\u200br\u200bd!!"
    verdict = judge(text)
    evidence = next(e for e in verdict.evidence if e.rule_id == "fr.insult.strong")
    start, end = evidence.span
    assert text[start:end] == evidence.excerpt
    assert evidence.excerpt.replace("\u200b", "") == "connard"


def test_normalization_keeps_offsets_through_expansions() -> None:
    norm = normalize("Œuvre 🖕 ÉLÈVE")
    assert norm.text.startswith("oeuvre ")
    assert "doigtdhonneur" in norm.text
    index = norm.text.index("eleve")
    assert norm.excerpt(index, index + 5) == "ÉLÈVE"


def test_ordinals_and_numbers_are_not_leetspeak() -> None:
    assert [t.text for t in tokens(normalize("élèves de 5e et 2e année, 2024").text)] == [
        "eleves", "de", "5e", "et", "2e", "annee", "2024"]


def test_fold_squeezes_doubled_letters() -> None:
    assert fold("Connnnard") == fold("conard") == "conard"
    assert fold("Câlisse") == "calise"
