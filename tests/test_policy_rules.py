"""Every rule ships with samples that fire it and samples that must not; sites extend the rules."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from policy_helpers import judge, rules_only

from watcher.errors import ConfigError
from watcher.policy import load_policy
from watcher.policy.engine import SHIPPED_POLICY_DIRS, rule_weights
from watcher.policy.rules import load_rules, rules_without_samples

RULES = rules_only().rules


def test_every_rule_has_positive_and_negative_samples() -> None:
    missing = rules_without_samples(RULES)
    assert not missing, f"rules without samples: {missing}"


def test_the_samples_check_catches_a_rule_without_samples(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(
        '[[rule]]\nid = "site.nosamples"\ncategory = "diffamation_irrespect"\nkind = "lexicon"\n'
        'weight = 0.9\nterms = ["zorglub"]\nmessage_fr = "x"\nmessage_en = "x"\n'
        'positive = ["zorglub"]\n', encoding="utf-8")
    rules = load_rules([tmp_path]).rules
    assert rules_without_samples(rules) == ["site.nosamples"]


def test_no_shipped_list_repeats_an_entry() -> None:
    # a repeated term, trigger or sample is harmless to the verdicts but tells of a list edited
    # without being read: the shipped files stay clean
    repeated = []
    for folder in SHIPPED_POLICY_DIRS:
        for path in sorted(Path(folder).glob("*.toml")):
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            lists = [(f"{path.name}: {name}", words) for name, words in data.items()
                     if isinstance(words, list) and all(isinstance(w, str) for w in words)]
            lists += [(f"{path.name}: {rule['id']} {key}", rule[key])
                      for rule in data.get("rule", ()) for key in ("terms", "triggers", "positive", "negative")
                      if key in rule]
            for where, words in lists:
                seen: set[str] = set()
                repeated += [f"{where}: {w!r}" for w in words if w in seen or seen.add(w)]
    assert not repeated, repeated


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_samples(rule) -> None:  # type: ignore[no-untyped-def]
    policy = rules_only()
    for sample in rule.positive:
        weight = rule_weights(sample, policy).get(rule.id, 0.0)
        assert weight >= 0.5 * rule.weight, f"{rule.id} should fire on {sample!r} (weight {weight})"
    for sample in rule.negative:
        weight = rule_weights(sample, policy).get(rule.id, 0.0)
        assert weight < 0.5 * rule.weight, f"{rule.id} should not fire on {sample!r} (weight {weight})"


def test_a_site_adds_terms_rules_and_allow_list_without_code(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "local.toml").write_text(
        '[[extend]]\nrule = "fr.insult.common"\nterms = ["zouf"]\n\n'
        '[[rule]]\nid = "site.rumour"\ncategory = "atteinte_droits"\nkind = "lexicon"\n'
        'severity = "high"\nweight = 0.9\nterms = ["rumeur du vestiaire"]\n'
        'message_fr = "Rumeur"\nmessage_en = "Rumour"\n'
        'positive = ["La rumeur du vestiaire dit que..."]\nnegative = ["Le vestiaire est propre."]\n',
        encoding="utf-8")
    (site / "allowlist.toml").write_text('phones = ["418 555 0100"]\nterms = ["caves du roy"]\n',
                                         encoding="utf-8")
    shipped = load_policy(with_model=False)
    extended = load_policy([site], with_model=False)
    assert judge("T'es un zouf", pol=shipped).action == "allow"
    assert judge("T'es un zouf", pol=extended).action == "hide"
    assert "site.rumour" in judge("La rumeur du vestiaire dit que tu triches", pol=extended).rule_ids
    assert judge("Appelez Marc au 418 555-0100", pol=shipped).action != "allow"
    assert judge("Appelez Marc au 418 555-0100", pol=extended).action == "allow"
    assert judge("Visite aux caves du Roy avec les élèves", pol=extended).action == "allow"


def test_official_contact_details_are_allowed() -> None:
    for text in ("Pour nous joindre : 418 542-7551 ou info@csjonquiere.qc.ca",
                 "Inscriptions sur https://www.csjonquiere.qc.ca/inscription",
                 "Le centre de services est au 3644, rue Saint-Jules."):
        verdict = judge(text)
        assert verdict.action == "allow", (text, verdict)


def test_allow_listed_idioms_stay_up_and_the_words_alone_do_not() -> None:
    for text in ("Lâche pas, t'es capable!", "Apportez des tapettes à mouches pour le camp",
                 "Le prof avait la gueule de bois, selon lui, après le party des Fêtes"):
        assert judge(text).action == "allow", text
    assert judge("T'es juste une tapette").action == "hide"


@pytest.mark.parametrize("content, message", [
    ('[[rule]]\nid = "x"\ncategory = "nope"\nweight = 0.5\nterms = ["a"]\nmessage_fr = "a"\nmessage_en = "a"\n', "unknown category"),
    ('[[rule]]\nid = "x"\ncategory = "illegal"\nkind = "pattern"\nweight = 0.5\npatterns = ["("]\nmessage_fr = "a"\nmessage_en = "a"\n', "bad pattern"),
    ('[[rule]]\nid = "x"\ncategory = "illegal"\nweight = 3\nterms = ["a"]\nmessage_fr = "a"\nmessage_en = "a"\n', "weight"),
    ('[[rule]]\nid = "x"\ncategory = "illegal"\nweight = 0.5\nterms = ["a"]\nmessage_fr = "a"\nmessage_en = "a"\ncolour = 1\n', "unknown key"),
    ('[[rule]]\nid = "x"\ncategory = "illegal"\nweight = 0.5\nterms = ["a"]\nmessage_fr = "a"\nmessage_en = "a"\ncorroborate_at = 2\n', "corroborate_at"),
    ('[[rule]]\nid = "x"\ncategory = "illegal"\nweight = 0.5\nterms = ["a"]\nmessage_fr = "a"\nmessage_en = "a"\nattributable = "yes"\n', "attributable must be true or false"),
    ('[[rule]]\nid = "x"\ncategory = "illegal"\nweight = 0.5\nterms = ["a"]\nmessage_fr = "a"\nmessage_en = "a"\npreventable = 1\n', "preventable must be true or false"),
    ("[[rule]\nbroken", "not valid TOML"),
    ('[[extend]]\nrule = "nope"\nterms = ["a"]\n', "unknown rule"),
    ('[[rule]]\nid = "x"\ncategory = "illegal"\nkind = "pattern"\nweight = 0.5\npatterns = ["a"]\ntriggers = ["abonnez-vous"]\nmessage_fr = "a"\nmessage_en = "a"\n', "one word"),
])
def test_invalid_rule_files_are_refused_clearly(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "bad.toml").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_rules([*SHIPPED_POLICY_DIRS, tmp_path])


def test_missing_policy_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such policy folder"):
        load_policy([tmp_path / "absent"], with_model=False)
