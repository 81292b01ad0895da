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


@pytest.mark.parametrize("text, expected", [
    ("ᴄᴏɴɴᴀʀᴅ", "connard"),  # Latin small capitals ("fancy text")
    ("🅲🅾🅽🅽🅰🆁🅳", "connard"),  # letters in squares
    ("🅒🅞🅝", "con"),  # letters in circles, as emoji
    ("⒞⒪⒩", "con"),  # parenthesized letters
    ("ΗΙ ΝΥΜΖ", "hi nymz"),  # Greek capitals read as the Latin capitals they look like
    ("c/o/n/n/a/r/d", "connard"),
    ("c • o • n • n • e", "conne"),
    ("c  o  n  n  a  r  d", "connard"),
    ("f u c k   y o u", "fuck you"),  # the wider gaps part words
    ("f***", "fuck"),
    ("t*b*rn*k de prof", "tabarnak de prof"),
    ("va te faire f*utre", "va te faire foutre"),
    ("you f***ing c*nt", "you fucking cunt"),
    ("f.u.c.k y.o.u", "fuck you"),  # bare spaces among dotted gaps part words
    ("v@ ch!er", "va chier"),  # a letter and @ is a word in leetspeak
])
def test_evasive_spellings_are_normalized(text: str, expected: str) -> None:
    assert normalize(text).text == expected


@pytest.mark.parametrize("text, expected", [
    ("il y a à l'école", "il y a a l'ecole"),  # an elided "l'" is not a spaced-out letter
    ("c**", "c**"),  # con? cul? left to the rules' reading of censored words
    ("**important**", "**important**"),
    ("c.-à-d. que", "c.-a-d. que"),
    ("et/ou", "et/ou"),
    ("N/A", "n/a"),
    ("la 5e a gagné", "la 5e a gagne"),
    ("@marc bravo", "@marc bravo"),  # a mention
])
def test_ordinary_text_is_left_alone(text: str, expected: str) -> None:
    assert normalize(text).text == expected


def test_censored_reading_keeps_offsets() -> None:
    norm = normalize("Bon, f*** you")
    index = norm.text.index("fuck")
    assert norm.excerpt(index, index + 4) == "f***"


def test_three_spaced_letters_are_joined_only_as_an_extra_token() -> None:
    norm = normalize("t'es un c o n")
    assert norm.text == "t'es un c o n"
    joined = [t for t in tokens(norm.text) if t.joined]
    assert [t.text for t in joined] == ["con"]
    assert judge("t'es un c o n").action == "hide"


@pytest.mark.parametrize("text", [
    "t'es un ᴄᴏɴɴᴀʀᴅ", "f*** you", "t*b*rn*k de prof", "va te faire f*utre", "sti d'épais",
    "fk off with your stupid rules", "c/o/n/n/a/r/d", "f u c k   y o u",
])
def test_evasions_found_by_the_ninth_probe_are_caught(text: str) -> None:
    verdict = judge(text)
    assert verdict.action == "hide" and "diffamation_irrespect" in verdict.categories, (
        text, verdict.scores)


@pytest.mark.parametrize("text", [
    "p.s. n'oubliez pas les bottes de pluie demain", "Mon gars est rendu l33t à Fortnite lol",
    "Le clown 🤡 au party de Noël était super drôle, les petits ont adoré",
    "Sti que j'suis fière de mon gars", "Il y a à l'école un beau spectacle ce soir",
    "Le prix est de 12.50$ par enfant", "Bravo les jeunes 😂😂🎉🎉",
])
def test_look_alikes_of_evasion_stay_up(text: str) -> None:
    assert judge(text).action == "allow", (text, judge(text).scores)
