"""Repetition within the history handed in, and anonymity signals from author_meta."""

from __future__ import annotations

import datetime as dt

import pytest
from policy_helpers import NOW, judge, with_model

from watcher.policy import HistoryItem

TEXT = "La direction devrait démissionner au complet, honte à vous tous!"


def item(text: str, author: str, hours_ago: float, name: str | None = None,
         **meta) -> HistoryItem:  # type: ignore[no-untyped-def]
    return HistoryItem(text=text, author_id=author, created_time=NOW - dt.timedelta(hours=hours_ago),
                       author_meta=meta, author_name=name)


def test_a_single_comment_is_not_repetitive() -> None:
    verdict = judge(TEXT, author_id="a1")
    assert verdict.scores["disgracieux_repetitif"] == 0.0


def test_near_duplicates_from_one_author_are_flagged() -> None:
    history = [item(TEXT, "a1", 3), item(TEXT.upper() + "!!", "a1", 2),
               item(TEXT.replace("tous", "toutes"), "a1", 1)]
    verdict = judge(TEXT, history, author_id="a1")
    assert "disgracieux_repetitif" in verdict.categories
    assert "state.repetition" in verdict.rule_ids


def test_many_accounts_posting_the_same_text_are_flagged() -> None:
    history = [item(TEXT, f"acct{i}", i) for i in range(1, 5)]
    verdict = judge(TEXT, history, author_id="acct9")
    assert "disgracieux_repetitif" in verdict.categories


def test_repetition_outside_the_window_does_not_count() -> None:
    history = [item(TEXT, "a1", 100), item(TEXT, "a1", 200), item(TEXT, "a1", 300)]
    verdict = judge(TEXT, history, author_id="a1")
    assert verdict.scores["disgracieux_repetitif"] == 0.0


def test_short_congratulations_from_many_parents_are_not_a_campaign() -> None:
    history = [item("Bravo!", f"parent{i}", i / 10) for i in range(30)]
    verdict = judge("Bravo!", history, author_id="parent99")
    assert verdict.action == "allow"


def test_different_texts_do_not_repeat() -> None:
    history = [item("Merci pour la belle soirée", "a1", 1), item("Quand est la rencontre?", "a1", 2)]
    assert judge(TEXT, history, author_id="a1").scores["disgracieux_repetitif"] == 0.0


def test_anonymous_and_repetitive() -> None:
    meta = {"has_real_name": False, "has_profile_picture": False, "username": "user83920194"}
    history = [item(TEXT, "anon", 1, **meta), item(TEXT, "anon", 2, **meta), item(TEXT, "anon", 3, **meta)]
    anonymous = judge(TEXT, history, author_id="anon", author_meta=meta)
    assert "anonyme_repetitif" in anonymous.categories
    assert "state.anonymity" in anonymous.rule_ids
    named = judge(TEXT, history, author_id="anon", author_meta={"verified": True})
    assert named.scores["anonyme_repetitif"] == 0.0


def test_repeated_insults_are_hidden_as_disgraceful_and_repetitive() -> None:
    insult = "T'es un ostie de cave pis un menteur"
    history = [item(insult, "a1", h) for h in (1, 2, 3)]
    verdict = judge(insult, history, author_id="a1")
    assert verdict.action == "hide"
    assert verdict.scores["disgracieux_repetitif"] >= 0.85


def test_an_authors_copy_of_their_own_flagged_comment_is_hidden_and_criticism_is_not() -> None:
    """A vulgar comment queued on its own content, posted again by its author: the copy is
    disgraceful and repetitive (hidden); the same criticism said twice without it stays up."""
    vulgar = "Le CSS c'est de la marde pis tout le monde le sait"
    first = judge(vulgar, author_id="a1")
    assert first.action == "review"
    copy = judge(vulgar + "!!", [item(vulgar, "a1", 0.1)], author_id="a1")
    assert copy.action == "hide" and "disgracieux_repetitif" in copy.categories
    other = judge(vulgar + "!!", [item(vulgar, "a2", 0.1, name="Julie Tremblay")], author_id="a1",
                  author_name="Marc Côté")
    assert other.scores["disgracieux_repetitif"] < 0.85  # another person's copy: not this rule
    criticism = "Honte au CSS pour la fermeture de l'école Saint-Pierre"
    again = judge(criticism + "!", [item(criticism, "a1", 0.1)], author_id="a1")
    assert again.action == "allow"


def test_a_copy_flagged_by_the_model_alone_is_not_hidden_as_repetitive() -> None:
    """The own-copy hide needs a rule behind the flag: the model alone likens plain remarks about
    a group to discrimination, and a parent's double post of one is no disgraceful repetition."""
    pol = with_model(discrimination=0.8)
    text = "Les enseignantes enceintes devraient être mieux protégées pendant les éclosions"
    assert judge(text, pol=pol, author_id="a1").action == "review"
    copy = judge(text, [item(text, "a1", 0.1)], pol=pol, author_id="a1")
    assert copy.action != "hide", copy.scores


def test_two_hundred_history_items_are_handled() -> None:
    history = [item(f"Commentaire numéro {i} sur la sortie scolaire de mai", f"u{i}", i / 100)
               for i in range(200)]
    verdict = judge("Commentaire numéro 5 sur la sortie scolaire de mai", history, author_id="u5")
    assert verdict.action in ("allow", "review")


CAMPAIGN = ("Le centre de services ment aux parents sur la vraie raison des coupures, partagez "
            "avant que ça disparaisse!")


def test_a_long_copy_by_a_pseudonymous_account_is_hidden_and_the_original_stays() -> None:
    original = judge(CAMPAIGN, author_id="o1", author_name="Marie Gagnon")
    assert original.action == "allow"
    copy = judge(CAMPAIGN, [item(CAMPAIGN, "o1", 0.05)], author_id="c1",
                 author_name="Citoyen Inquiet")
    assert copy.action == "hide" and "anonyme_repetitif" in copy.categories
    # The same copy under a person's name is only queued for a look.
    named = judge(CAMPAIGN, [item(CAMPAIGN, "o1", 0.05)], author_id="c2",
                  author_name="Julie Parent")
    assert named.action == "review"
    # A short common message from two accounts is not a campaign.
    thanks = "Merci pour l'info!"
    assert judge(thanks, [item(thanks, "o1", 0.1)], author_id="c3",
                 author_name="Citoyenne J.").action == "allow"


def test_a_first_copy_of_a_sentence_by_an_anonymous_account_is_queued() -> None:
    text = "Non à la fermeture de l'école Sainte-Thérèse, nos enfants méritent mieux"
    history = [item(text, "o1", 0.1)]
    copy = judge(text.replace("Sainte", "Ste"), history, author_id="c1", author_name="Anonyme 418")
    assert copy.action == "review" and "anonyme_repetitif" in copy.categories
    # under a person's name, one copy is no campaign; nor is a short common message
    assert judge(text, history, author_id="c2", author_name="Julie Parent").action == "allow"
    thanks = "Bravo à toute l'équipe de robotique!"
    assert judge(thanks, [item(thanks, "o1", 0.1)], author_id="c3",
                 author_name="user4820193").action == "allow"


def test_copies_among_throwaway_accounts_are_hidden() -> None:
    slogan = "La direction cache les vrais chiffres de l'intimidation"  # 40 characters and more
    history = [item(slogan, "o1", 0.2, name="Info Jonquière")]
    copy = judge(slogan.lower() + "...", history, author_id="c1", author_name="Un papa tanné")
    assert copy.action == "hide" and "anonyme_repetitif" in copy.categories
    assert any("dont 1 anonyme" in e.message_fr for e in copy.evidence)
    # the same copy of a person's comment is a first copy: only queued
    named = [item(slogan, "o1", 0.2, name="Marie Lapointe")]
    assert judge(slogan, named, author_id="c1", author_name="Un papa tanné").action == "review"
    # nor does a copy under a person's name become a campaign
    assert judge(slogan, history, author_id="c2", author_name="Julie Parent").action == "allow"


def test_a_short_slogan_from_three_accounts_one_anonymous_is_hidden() -> None:
    slogan = "Démission du DG maintenant!!"  # under 40 characters
    history = [item(slogan, "o1", 0.3, name="Marc Gagnon"), item(slogan.upper(), "o2", 0.2, name="J.B.")]
    third = judge(slogan.lower(), history, author_id="c1", author_name="Le Vrai Monde")
    assert third.action == "hide" and "anonyme_repetitif" in third.categories
    # the second copy alone is too short to tell a slogan from a coincidence
    assert judge(slogan, history[:1], author_id="c1", author_name="Le Vrai Monde").action == "allow"


def test_a_slogan_under_25_characters_from_throwaway_accounts_is_a_campaign() -> None:
    slogan = "Le DG doit démissionner!!"  # 21 characters once normalized
    history = [item(slogan, "o1", 0.4, name="patriote418"), item(slogan.lower(), "o2", 0.3, name="Citoyen en colère"),
               item(slogan.upper(), "o3", 0.2, name="Vérité Jonquière")]
    fourth = judge(slogan, history, author_id="c1", author_name="user83920")
    assert fourth.action == "hide" and "anonyme_repetitif" in fourth.categories
    # the same from three accounts, one of them anonymous, is too short to tell from a coincidence
    named = [item(slogan, "o1", 0.4, name="Marc Gagnon"), item(slogan, "o2", 0.3, name="Julie Roy"),
             item(slogan, "o3", 0.2, name="Vérité Jonquière")]
    assert judge(slogan, named, author_id="c1", author_name="user83920").action == "allow"


@pytest.mark.parametrize("text", [
    "Est-ce que les autobus passent demain matin avec la tempête?",
    "pourquoi la réunion de parents est déplacée à jeudi? on a pas été avertis",
    "Merci beaucoup pour l'information, c'est très apprécié!",
    "Bravo à toute l'équipe de robotique, vous êtes des champions!",
    "Joyeux Noël à tous les élèves et au personnel!",
])
def test_the_same_question_or_courtesy_from_pseudonymous_parents_is_no_campaign(text: str) -> None:
    history = [item(text, "p1", 0.3, name="Maman de Léa"), item(text, "p2", 0.2, name="Papa Poule")]
    verdict = judge(text, history, author_id="p3", author_name="Parent Inquiet")
    assert verdict.action == "allow", verdict
    assert verdict.scores["anonyme_repetitif"] < 0.5


def test_a_question_that_asks_to_spread_it_is_a_campaign() -> None:
    text = "Saviez-vous que le CSS ferme l'école du Bassin? Partagez avant que ça disparaisse"
    history = [item(text, "p1", 0.3, name="Anonyme"), item(text, "p2", 0.2, name="Citoyen 2026")]
    assert judge(text, history, author_id="p3", author_name="Vérité Saguenay").action == "hide"


def test_a_stream_passes_display_names_as_history() -> None:
    import io
    import json

    from policy_helpers import policy

    from watcher.policy.cli import classify_stream
    from watcher.policy.engine import default_thresholds

    slogan = "Boycottez la réunion de jeudi, c'est arrangé d'avance!"
    lines = [{"id": i, "text": slogan, "author": name}
             for i, name in enumerate(["Saguenay Libre", "Mère en colère", "Contribuable 418"])]
    source = io.BytesIO("\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode())
    out, err = io.StringIO(), io.StringIO()
    assert classify_stream(source, out, err, policy(), default_thresholds(), NOW) == 0
    actions = [json.loads(x)["action"] for x in out.getvalue().splitlines()]
    assert actions == ["allow", "hide", "hide"]


@pytest.mark.parametrize(("name", "pseudonym"), [
    ("Citoyen Inquiet", True), ("Parent tanné 418", True), ("Jos Bleau", True), ("J. T.", True),
    ("Mélo Mélo", True), ("Monsieur X", True), ("Kevin Ouellet", False), ("Julie Parent", False),
    ("Monsieur Tremblay", False), ("Marie-Ève Côté", False), ("Li Na", False),
    ("user4820193", True), ("citoyen_20931", True), ("Marc 418", False),
    ("J.B.", True), ("J.-P.", True), ("Vérité Saguenay", True), ("Riverside Libre", True),
    ("Mère en colère", True), ("Jean-Pierre Libérge", False), ("Justine Tremblay", False),
    ("anonyme123", True), ("citoyen418", True), ("julie418", False), ("Élise 2e", False),
    ("qc_patriote88", True), ("libre_penseur_qc", True), ("anon_parent_22", True), ("xx_anon_1", True),
    ("Patrick Libre", True), ("Annie Roy", False),
])
def test_pseudonymous_display_names(name: str, pseudonym: bool) -> None:
    from watcher.policy.stateful import pseudonymous_name

    assert pseudonymous_name(name) is pseudonym


def test_one_authors_third_copy_is_a_flood_but_not_a_question_or_a_lol() -> None:
    def stream(texts: list[str]) -> list[str]:
        history: list[HistoryItem] = []
        actions = []
        for i, text in enumerate(texts):
            when = NOW + dt.timedelta(minutes=5 * i)
            actions.append(judge(text, history=history, author_id="42", author_name="Paul Gagnon",
                                 created_time=when).action)
            history.append(HistoryItem(text, "42", when, author_name="Paul Gagnon"))
        return actions
    # the first copies stay up with the opinion; from the third the duplicates are hidden
    assert stream(["HONTE AU CSS!!!"] * 4) == ["allow", "allow", "hide", "hide"]
    # a question asked again, a courtesy, a "lol": never hidden for being repeated
    for text in ("Est-ce qu'il y a de l'école demain?", "Bravo aux élèves!", "lol"):
        assert "hide" not in stream([text] * 4), text


def test_a_second_throwaway_account_with_the_same_sentence_is_reviewed() -> None:
    text = "Le DG doit démissionner maintenant"  # 25 characters or more, under MEDIUM_COPY
    history = [item(text, "o1", 0.3, name="citoyen_20931")]
    second = judge(text, history, author_id="o2", author_name="user4820193")
    assert second.action == "review" and "anonyme_repetitif" in second.categories
    # the same after a person with a name is no campaign yet
    named = [item(text, "o1", 0.3, name="Marc Gagnon")]
    assert judge(text, named, author_id="o2", author_name="user4820193").action == "allow"
