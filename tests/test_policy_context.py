"""Context: targets, negation, counter-speech, group mentions, sacres of joy, criticism, alerts."""

from __future__ import annotations

import dataclasses

import pytest
from policy_helpers import NOW, judge, policy, rules_only, with_model

from watcher.errors import ConfigError
from watcher.policy import CommentInput, Context, classify
from watcher.policy.engine import default_thresholds, load_policy

ACCEPTABLE = [
    # counter-speech and quotation
    "Mon fils s'est fait traiter de fif à la récréation, c'est inacceptable.",
    "Ma fille s'est fait dire « retourne dans ton pays » dans l'autobus.",
    "Traiter un enfant de mongol, c'est de l'intimidation.",
    "Calling a student a faggot is hate speech and it has no place here.",
    "He was called a 'retard' in gym class and nobody did anything.",
    "Mon gars se fait appeler 'fif' dans l'autobus depuis septembre.",
    "Un élève a écrit « t'es une conne » sur le casier de ma fille.",
    # negation
    "T'es pas un idiot, t'as juste eu une mauvaise journée.",
    "C'est pas un idiot, c'est mon voisin, et il a raison sur les autobus.",
    "You are not stupid for asking questions.",
    # neutral or positive mentions of a group
    "Les élèves musulmans ont organisé une collecte pour la guignolée.",
    "Bravo au comité LGBTQ+ pour la semaine de la fierté!",
    "Les familles immigrantes sont les bienvenues à la soirée d'accueil.",
    "Our Indigenous students led the opening ceremony.",
    # mild sacres of joy or emphasis
    "Tabarnak que c'est beau ce que les jeunes ont fait!",
    "Câlisse qu'on est fiers de notre équipe!",
    "Ostie de belle soirée, merci aux profs!",
    # criticism of the institution's decisions without insult
    "La décision de couper le programme de musique est mauvaise et mal expliquée.",
    "C'est ridicule d'avoir changé l'horaire des autobus sans consulter les parents.",
    "Le centre de services doit rendre des comptes sur son budget.",
    "Quelle décision stupide de couper l'activité de ski.",
    # French words that are English insults: "retard" is a delay
    "Le chauffeur était en retard ce matin, il faudrait corriger l'horaire.",
    "T'es encore en retard, dépêche-toi!",
    "The board's decision to close the library at lunch is a mistake.",
    # official contact details
    "Pour joindre le secrétariat : 418 542-7551.",
    # words used literally, and a decision (not a person) called stupid
    "Les vieux manuels sont des déchets à recycler, apportez-les au bac bleu.",
    "La décision du ministre est idiote et va nuire aux élèves en difficulté.",
    "Ce règlement est con, mais bon, c'est le règlement.",
    "La visite à la ferme : les élèves ont nourri les cochons et les vaches.",
    # negated group statements, reported exclusion, games, idioms
    "Many immigrant families go back to their country for the holidays.",
    "A boy yelled at my daughter that people like her should go back to their country.",
    "Je vais te battre au Mario Kart ce soir, prépare-toi!",
    "Fais attention à toi sur la glace ce matin.",
    "Jte dis que t'es capable, lâche pas!",
    "Je dis pas que les gens du transport sont des idiots, je dis que ce plan-là a jamais été testé.",
    # a rule named further back in its clause is what the adjective judges
    "Ce règlement sur le cellulaire est stupide et ne sera jamais appliqué.",
    "Le nouveau calendrier scolaire de cette année est complètement idiot.",
    # someone else's claim, introduced as such and condemned; a poem's title
    "Un homme politique qui dit que les immigrants font baisser le niveau, c'est de la démagogie.",
    "Ma fille a étudié Speak White en secondaire 5, un beau texte sur la langue.",
]

# Generalizations that praise or pity a group: the model likens them to discrimination, the
# generic rule queues them, nothing hides them.
PRAISED_GROUPS = [
    "Les immigrants sont tous des travailleurs acharnés.",
    "Les élèves autochtones sont sous-financés, pas étonnant qu'ils décrochent.",
]


@pytest.mark.parametrize("text", PRAISED_GROUPS)
def test_a_group_praised_or_pitied_is_never_hidden(text: str) -> None:
    assert judge(text).action != "hide"

LITIGIOUS = [
    # a negation in another clause does not excuse the insult
    ("@Roxanne t'as pas d'enfant, ça paraît, pauvre débile", "diffamation_irrespect"),
    ("T'es rien qu'un ostie de cave", "diffamation_irrespect"),
    ("Crisse de prof incompétente", "diffamation_irrespect"),
    ("Ce prof est un connard", "diffamation_irrespect"),
    ("You're a pathetic loser", "diffamation_irrespect"),
    ("Dehors les immigrants, c'est tous des criminels", "discrimination"),
    ("Go back to your country", "discrimination"),
    ("T'es rien qu'un fif", "discrimination"),
    ("Je vais te tuer à la sortie", "illegal"),
    ("Son cell c'est le 418-555-0142, textez-la toute la nuit", "atteinte_droits"),
    ("Check out my channel and subscribe!", "commercial_pourriel"),
    ("si tu parles encore jte défonce", "illegal"),
    ("Ce serait dommage qu'il arrive quelque chose à tes enfants.", "illegal"),
    ("Retire ta plainte ou je publie ce que je sais sur ta fille.", "illegal"),
    ("Les musulmans faut tous les déporter", "discrimination"),
    ("On va faire de ta vie un enfer", "diffamation_irrespect"),
    ("T'as des belles boules pour une fille de secondaire 1.", "diffamation_irrespect"),
    # quotation marks around an insult said to someone do not excuse it
    ("T'es un « cave »", "diffamation_irrespect"),
    ('You are a "loser"', "diffamation_irrespect"),
    ("Ce prof est un 'connard'", "diffamation_irrespect"),
    # a person between the rule and the adjective: the person is judged
    ("Le règlement de la directrice est stupide, comme elle.", "diffamation_irrespect"),
    ("Ce prof sur le cellulaire est stupide.", "diffamation_irrespect"),
    ("Les éducatrices du service de garde sont des connasses qui crient sur les enfants",
     "diffamation_irrespect"),
    ("Encore une décision de cave pour le circuit 14.", "diffamation_irrespect"),
    # a disclosure repeated is a disclosure
    ("Ma voisine a dit que la petite Rosalie Côté en 1re année a été placée par la DPJ",
     "atteinte_droits"),
]

# Acceptable, but a number not in the allow-list or a group statement may still be reviewed:
# never hidden.
NEVER_HIDDEN = [
    "Le service de garde ferme à 18 h; appelez le 450 555-0111 en cas de retard.",
    "Questions sur le transport? Écrivez à transport@css.qc.ca ou appelez le 819 555-0199.",
    "Les immigrants ne volent pas nos jobs, ils occupent des postes vacants.",
    "Les musulmans ne sont pas des terroristes, arrêtons les amalgames.",
]


@pytest.mark.parametrize("text", NEVER_HIDDEN)
def test_acceptable_speech_is_never_hidden(text: str) -> None:
    verdict = judge(text)
    assert verdict.action != "hide", (text, verdict.scores, verdict.rule_ids)


@pytest.mark.parametrize("text", ACCEPTABLE)
def test_acceptable_speech_stays_up(text: str) -> None:
    verdict = judge(text)
    assert verdict.action == "allow", (text, verdict.scores, verdict.rule_ids)


@pytest.mark.parametrize("text, category", LITIGIOUS)
def test_litigious_content_is_flagged(text: str, category: str) -> None:
    verdict = judge(text)
    assert verdict.action != "allow" and category in verdict.categories, (text, verdict.scores)


def test_directed_insult_is_hidden_with_french_evidence() -> None:
    verdict = judge("T'es juste un connard")
    assert verdict.action == "hide"
    evidence = next(e for e in verdict.evidence if e.rule_id == "fr.insult.strong")
    assert evidence.message_fr == "Insulte visant une personne : « connard »"
    assert evidence.message_en == "Insult aimed at a person: “connard”"
    assert evidence.as_dict()["span"] == [14, 21]
    assert "fr.insult.strong" in verdict.rule_ids


def test_threats_raise_an_alert_and_insults_do_not() -> None:
    assert judge("Je vais te tuer mon tabarnak").alert is True
    assert judge("gonna shoot up the school tomorrow").alert is True
    assert judge("T'es un connard").alert is False


def test_an_advert_with_a_phone_number_is_no_doxxing() -> None:
    """Calling a number is doxxing when the comment sets people on its owner: no alert for an ad."""
    advert = judge("Nettoyage de tapis, prix spécial pour les parents de l'école, appelez au 418 555-0182")
    assert "illegal" not in advert.categories and advert.alert is False
    doxxing = judge("Appelez-la au 418 555-0199 pis dites-y ce que vous pensez")
    assert doxxing.action == "hide" and "illegal" in doxxing.categories and doxxing.alert is True


def test_a_weapon_listed_with_its_licence_required_is_queued_without_an_alert() -> None:
    listing = judge("Je vends mon fusil de chasse, permis requis")
    assert listing.action == "review" and listing.alert is False
    assert listing.categories == ("commercial_pourriel",)
    sale = judge("Vends glock pas cher dm")
    assert sale.action == "hide" and "illegal" in sale.categories and sale.alert is True


def test_the_same_word_is_judged_by_its_target() -> None:
    assert judge("T'es un idiot").action == "hide"
    assert judge("Ce n'est pas idiot comme idée").action == "allow"


def test_scores_cover_every_category_in_range_and_version_is_recorded() -> None:
    verdict = judge("T'es un connard")
    assert set(verdict.scores) == {
        "atteinte_droits", "discrimination", "diffamation_irrespect", "disgracieux_repetitif",
        "commercial_pourriel", "anonyme_repetitif", "illegal"}
    assert all(0.0 <= s <= 1.0 for s in verdict.scores.values())
    assert verdict.classifier_version == policy().version
    assert "+m1-" in verdict.classifier_version


def test_classify_is_pure() -> None:
    context = Context(now=NOW, policy=policy(), thresholds=default_thresholds())
    comment = CommentInput(text="Check out my channel, subscribe!", id="c1")
    assert classify(comment, context) == classify(comment, context)


def test_thresholds_decide() -> None:
    strict = default_thresholds()
    lenient = dataclasses.replace(strict, by_category={c: (1.0, 1.0) for c in strict.by_category})
    comment = CommentInput(text="T'es un connard")
    assert classify(comment, Context(now=NOW, policy=policy(), thresholds=strict)).action == "hide"
    assert classify(comment, Context(now=NOW, policy=policy(), thresholds=lenient)).action == "allow"


def test_empty_and_odd_texts_do_not_crash() -> None:
    for text in ("", "   ", "👍👍👍", "\u200b\u200b", "a" * 5000, "ǅ" * 10, "\x00\x01"):
        assert judge(text).action in ("allow", "review", "hide")


def test_a_very_confident_model_alone_never_hides() -> None:
    confident = with_model(diffamation_irrespect=0.97)
    # even aimed at someone (a second person, a staff role), the model alone asks for a review:
    # it took "Regarde bien des deux côtés quand tu traverses le parc avec ton petit" for an
    # insult at 0.93, and made 4 of the corpus cross-validation's 9 false hides that way
    for text in ("Toi pis tes idées, franchement", "La concierge, franchement",
                 "Franchement, quelle journée", "T'es pas une honte, franchement",
                 "Il m'a dit que t'étais une honte", "Bravo, t'es une championne",
                 "yo gros, t'es où? le bus part", "t'es ben drôle je t'adore"):
        assert judge(text, pol=confident).action == "review", text
    # a rule that sees an insult is still corroborated into a hide
    assert judge("T'es rien qu'un incompétent, toi", pol=confident).action == "hide"
    # never certainty: lenient thresholds at 1.0 are never reached by the model
    lenient = dataclasses.replace(default_thresholds(),
                                  by_category={c: (1.0, 1.0) for c in default_thresholds().by_category})
    comment = CommentInput(text="Toi pis tes idées")
    assert classify(comment, Context(now=NOW, policy=confident, thresholds=lenient)).action == "allow"


def test_a_model_that_corroborates_the_rules_hides_what_either_alone_would_queue() -> None:
    text = "Vous êtes des incompétents"  # the rules alone: a review (score 0.5)
    assert judge(text, pol=rules_only()).action == "review"
    agreeing = with_model(diffamation_irrespect=0.75)
    doubtful = with_model(diffamation_irrespect=0.65)
    assert judge(text, pol=agreeing).action == "hide"
    assert judge(text, pol=doubtful).action == "review"
    # a model at 0.75 alone is not a witness: without the rules, a review at most
    assert judge("Quelle journée, franchement", pol=agreeing).action == "review"
    # negated, the rules' doubt stays a doubt whatever the model says
    assert judge("Vous n'êtes pas des incompétents", pol=agreeing).action != "hide"


def test_a_generalization_shape_only_queues_whatever_the_model_says() -> None:
    # fr.hate.group_generic reads a shape neutral remarks and praise share ("les immigrants sont
    # tous des travailleurs acharnés"): a review, and no model probability makes it a hide
    text = "Les Tunisiens ça arrive toujours à la dernière minute."
    assert judge(text, pol=rules_only()).action == "review"
    for probability in (0.8, 0.92, 0.999):
        leaning = with_model(discrimination=probability)
        assert judge(text, pol=leaning).action == "review"


def test_a_rule_with_corroborate_at_needs_that_much_of_the_model_to_hide(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "site.toml").write_text(
        '[[rule]]\nid = "site.generic"\ncategory = "discrimination"\nkind = "pattern"\n'
        'weight = 0.5\ncorroborate_at = 0.9\npatterns = ["\\\\bzorblax\\\\b"]\n'
        'message_fr = "Essai"\nmessage_en = "Test"\npositive = ["zorblax"]\nnegative = ["bonjour"]\n',
        encoding="utf-8")
    site = load_policy(extra_dirs=[tmp_path])
    text = "Les zorblax du quartier, encore eux"
    firm = with_model(site, discrimination=0.92)
    usual = with_model(site, discrimination=0.8)
    assert judge(text, pol=firm).action == "hide"
    assert judge(text, pol=usual).action == "review"


def test_an_allow_listed_idiom_does_not_silence_the_model_on_a_group() -> None:
    # "en retard" keeps "retard" from reading as a slur; the rest of the comment is still read
    leaning = with_model(discrimination=0.6)
    assert judge("Les Haïtiens, c'est bruyant, c'est en retard, c'est jamais content.",
                 pol=leaning).action != "allow"


def test_tes_in_capitals_is_the_special_education_technician_not_you_are() -> None:
    # TES: technicien·ne en éducation spécialisée, a staff role in every school
    assert judge("On a besoin de plus de TES pour les élèves autistes, les classes débordent"
                 ).action == "allow"
    assert judge("Les TES font un travail extraordinaire avec les enfants handicapés"
                 ).action == "allow"
    # "t'es" without its apostrophe, in small letters or shouted, is still "you are"
    assert judge("tes un attardé mental").action == "hide"
    assert judge("TES UN ATTARDÉ MENTAL").action == "hide"
    # and as a staff role, an insult said of the TES aims at her
    rules = rules_only()
    assert judge("La TES de ma fille est conne", pol=rules).action == "hide"
    assert judge("La TES de ma fille est super fine avec elle", pol=rules).action == "allow"


def test_a_degree_word_between_the_verb_and_the_insult_keeps_the_target() -> None:
    rules = rules_only()
    for text in ("La prof de ma fille est tellement conne", "Le directeur est vraiment cave",
                 "The principal is really dumb"):
        assert judge(text, pol=rules).action == "hide", text
    # said of a thing, or a word of joy, it is not an insult
    for text in ("Le nouveau règlement est tellement idiot",
                 "La directrice est tellement folle de joie pour les élèves"):
        assert judge(text, pol=rules).action == "allow", text


def test_a_site_adds_words_to_a_word_set_and_a_phrase_there_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = "La prof de ma fille est hyper conne"
    assert judge(text, pol=rules_only()).action != "hide"
    (tmp_path / "context.toml").write_text('degree = ["hyper"]\n', encoding="utf-8")
    site = load_policy(extra_dirs=[tmp_path], with_model=False)
    assert {"hyper", "vraiment"} <= site.words["degree"]  # added to, not replaced
    assert judge(text, pol=site).action == "hide"
    (tmp_path / "context.toml").write_text('degree = ["pas mal"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="degree holds single words, not 'pas mal'"):
        load_policy(extra_dirs=[tmp_path], with_model=False)
    (tmp_path / "context.toml").write_text('degre = ["hyper"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown list"):
        load_policy(extra_dirs=[tmp_path], with_model=False)


def test_a_word_joined_by_and_aims_where_its_clause_aimed() -> None:
    rules = rules_only()
    # chained after a copula, a staff role or "you": the second insult aims like the first
    for text in ("Ceux qui ont décidé ça sont des irresponsables pis des crétins.",
                 "La direction, c'est des voleurs et des menteurs", "T'es un lâche pis un menteur"):
        assert judge(text, pol=rules).action == "hide", text
    # in a list of things or of history, no one is aimed at
    assert judge("Le cours d'histoire parle de l'Holocauste et des nazis, c'est important de s'en "
                 "souvenir.").action == "allow"
    # an animal is no one either
    for text in ("Notre chien est un bâtard, moitié labrador moitié husky, les enfants l'adorent.",
                 "Le prof de bio a disséqué une grenouille et un porc fœtal, mon fils a adoré."):
        assert judge(text).action == "allow", text


def test_a_call_to_kill_or_burn_a_thing_is_no_incitement() -> None:
    # idioms and things: nothing to hide
    for text in ("Il faut brûler les étapes pour réparer le toit avant l'hiver.",
                 "Il faut tuer ce projet de fusion d'écoles dans l'oeuf.",
                 "Il faut éliminer les frais chargés aux parents pour les sorties.",
                 "Il faut abattre le mur entre les deux classes pour faire un local plus grand.",
                 "Faut frapper fort avec une campagne de sensibilisation sur le vapotage."):
        assert judge(text).action == "allow", text
    # the same verbs aimed at a person, a staff member or a group
    for text in ("Faudrait tuer ce prof-là", "Il faudrait les éliminer tous, ces immigrants",
                 "Faut brûler la maison du directeur", "Faudrait la pendre cette directrice"):
        verdict = judge(text)
        assert verdict.action == "hide" and verdict.alert, text


def test_a_mild_insult_among_words_of_affection_is_queued_not_hidden() -> None:
    for text in ("t'es con mdr je t'adore 😂", "T'es niaiseux mon chum, haha, merci pour le lift!",
                 "hahaha t'es ben niaiseuse, j'te love ma belle",
                 # the writer says they are joking
                 "T'es cave pareil, je blague 😂", "Ben voyons t'es niaiseux, je niaise!",
                 # amusement at one's own child
                 "Mon gars est un vrai clown à la maison, il fait rire toute la famille."):
        assert judge(text).action == "review", text
    # without affection, or a strong insult, or sarcasm, or joking denied: hidden as before
    assert judge("t'es con mdr").action == "hide"
    assert judge("T'es niaiseuse en crisse, je blague même pas").action == "hide"
    assert judge("La prof est une imbécile, c'est pas pour rire").action == "hide"
    assert judge("Cette prof est une vraie conne, elle fait rire toute la classe d'elle").action == "hide"
    assert judge("Ma belle, t'es une grosse salope").action == "hide"
    assert judge("Merci pour rien, gang de caves").action == "hide"


def test_shut_up_among_friends_is_queued_and_said_in_anger_or_sarcasm_is_hidden() -> None:
    # "ta gueule" with amusement at the same person is banter between friends: a person looks
    for text in ("tg mdr t'es drôle", "ta gueule 😂 t'es trop drôle", "ftg t'es tellement drôle mdr",
                 "hahaha ta yeule tu m'fais rire", "shut up lol you're hilarious"):
        assert judge(text).action == "review", text
    # in anger, with an insult, mocked ("tu penses que t'es drôle?"), or denied ("t'es pas
    # drôle"): hidden; the teasing does not soften the strong imperatives either
    for text in ("Ta gueule, personne t'a demandé ton avis", "ta gueule t'es rien qu'un cave",
                 "Ferme ta gueule la prof, tu penses que t'es drôle?",
                 "Ferme ta gueule, t'es pas drôle pantoute", "va crever mdr t'es drôle",
                 "stfu you think you're funny?"):
        assert judge(text).action == "hide", text


def test_held_back_matches_count_once_however_many_there_are() -> None:
    # Two rules (French and English lexicons) each match "idiot" twice, all among words of
    # affection: the heaviest held-back match decides, they do not add up to a hide.
    text = "t'es un idiot mais t'es mon idiot préféré 😘"
    verdict = judge(text)
    assert verdict.action == "review", (verdict.scores, verdict.rule_ids)
    assert verdict.scores["diffamation_irrespect"] < default_thresholds().hide("diffamation_irrespect")
    # a slur quoted three times to denounce it is no more a use of it than once
    assert judge("Mon gars se fait traiter de « fif », de « fif » pis encore de « fif », "
                 "c'est inacceptable.").action != "hide"
    # a held-back match does not excuse an open one
    assert judge("t'es mon idiot préféré, mais là t'es un ostie de cave").action == "hide"


def test_a_warning_against_a_scam_is_never_hidden_and_an_advert_dressed_as_one_is_reviewed() -> None:
    for text in ("Attention parents : un texto dit que vous avez gagné un iPad avec le lien "
                 "bit.ly/xyz, c'est une arnaque, ne cliquez pas.",
                 "Beware of texts saying your parcel is held at customs, it's a scam, never click."):
        assert judge(text).action != "hide", text
    # a spammer's disguise does not pass unseen, and an advert that merely denies being a scam
    # is hidden as before
    assert judge("Beware of fake giveaways: real ones never ask for your card. "
                 "Win $500 at bit.ly/win500 now!").action == "review"
    assert judge("Free iPhone giveaway, this is not a scam, click bit.ly/abc").action == "hide"
    assert judge("Gagnez un iPad! Pas une arnaque, cliquez ici bit.ly/abc").action == "hide"


def test_insults_asked_as_questions_or_after_colloquial_copulas_aim_at_someone() -> None:
    rules = rules_only()
    for text in ("es-tu con ou tu fais exprès?", "Êtes-vous tous des imbéciles à la direction?",
                 "c'est des vrais caves qui gèrent cette école",
                 "c'est juste des incapables au centre de services",
                 # "une pas fine" is a noun: it does not negate the insult after it
                 "elle, c'est une pas fine pis une menteuse"):
        assert judge(text, pol=rules).action == "hide", text
    for text in ("es-tu sérieux? c'est génial!", "c'est des vrais champions, nos joueurs!",
                 "c'est pas des caves, c'est des parents inquiets",
                 "T'es pas un idiot, t'as juste eu une mauvaise journée.",
                 "une belle cave à vin pour l'encan de la fondation"):
        assert judge(text, pol=rules).action == "allow", text


def test_an_exclamation_pointing_at_someone_and_an_insult_naming_a_staff_member_aim_at_them() -> None:
    rules = rules_only()
    for text in ("quelle conne celle-là", "quel cave lui", "What an idiot he is",
                 "imbécile de chauffeur, il a failli écraser un enfant"):
        assert judge(text, pol=rules).action == "hide", text
    for text in ("quelle journée celle-là!", "Quelle idée stupide, elle ne tient pas debout.",
                 "quel idiot de règlement sur les bottes"):
        assert judge(text, pol=rules).action == "allow", text


def test_an_insult_relayed_as_a_fact_about_a_staff_member_is_reviewed() -> None:
    rules = rules_only()
    # hearsay spreads the insult: a person looks, nothing hides it
    assert judge("Mon gars m'a dit que le directeur adjoint est un maudit chien sale",
                 pol=rules).action == "review"
    # an insult said to the child, reported; a claim denounced or stopped; not about staff
    for text in ("Mon fils m'a dit qu'un gars lui a dit qu'il était un gros cave",
                 "Quelqu'un a dit que la prof était une menteuse, c'est faux et c'est méchant.",
                 "Arrêtez de dire que la directrice est une voleuse, c'est de la diffamation.",
                 "Mon fils m'a dit que son ami est un vrai clown en classe, il le fait rire"):
        assert judge(text, pol=rules).action == "allow", text


def test_the_writers_own_clause_after_a_reporting_word_is_not_read_as_quoted() -> None:
    rules = rules_only()
    # "appelle" places a call here, and the threat is the writer's own: a person looks
    verdict = judge("Si l'école appelle encore la DPJ sur moi, je débarque avec ma carabine", pol=rules)
    assert verdict.action == "review" and verdict.alert
    # a slur reported in the same clause is still mentioned, not used
    assert judge("Mon fils s'est fait traiter de fif, c'est inacceptable.", pol=rules).action == "allow"


def test_words_followed_by_who_said_them_are_reviewed_not_hidden() -> None:
    # a parent reporting what their child was told, without quotation marks
    for text in ("ferme ta gueule le gros, c'est ce qu'il a dit à mon fils",
                 "gros cave, c'est comme ça qu'il appelle mon gars depuis septembre",
                 "T'es juste une grosse vache : voilà ce que ma fille a reçu comme message hier soir.",
                 "sale immigré, c'est ce qu'un élève a crié à mon fils. Inacceptable.",
                 "you are a fat loser, that's what they wrote on her locker",
                 # the incise of spoken French
                 "T'es une grosse vache, qu'elle m'a dit la surveillante devant tout le monde",
                 "Parle français criss, qu'il m'a dit mon père, on est au Québec lol",
                 "Ta gueule le gros, dit-il à mon fils dans l'autobus"):
        verdict = judge(text)
        assert verdict.action == "review", (text, verdict.scores)
        assert any("(propos rapportés ?)" in e.message_fr for e in verdict.evidence), text
    # the author's own words are not reported: "c'est ce que je pense", "c'est ce qu'il faut dire"
    for text in ("t'es un cave, c'est ce que je pense de toi", "t'es un cave, c'est ce qu'il faut dire",
                 "Une gang d'imbéciles, voilà ce qu'on a à la tête du centre."):
        assert judge(text).action == "hide", text
    # a threat so reported still alerts a person at once
    assert judge("je vais te tuer, c'est ce qu'il a écrit à ma fille").alert


def test_a_censored_spelling_counts_a_little_less_than_the_word() -> None:
    for plain, censored in (("fuck you", "f*** you"), ("t'es un tabarnak de cave", "t'es un t*b*rn*k de cave")):
        said = judge(plain, pol=rules_only()).scores["diffamation_irrespect"]
        softened = judge(censored, pol=rules_only()).scores["diffamation_irrespect"]
        assert 0 < softened < said, (plain, said, softened)
        assert judge(censored).action == "hide"  # still an insult


def test_an_imperative_insult_said_of_a_subject_is_a_statement() -> None:
    rules = rules_only()
    # an order given to someone: hidden, a comma or not
    for text in ("Mange de la marde le prof", "Toi, mange de la marde", "Mangez toute de la marde au CSS",
                 "Le prof mange de la marde"):
        assert judge(text, pol=rules).action == "hide", text
    # the same verb with a subject before it in its clause: a statement about a dog or a child
    for text in ("Mon chien mange toute de la marde",
                 "Le petit mange de la marde de chien au parc, quelqu'un peut surveiller?",
                 "Mon fils va chier avant de partir le matin, ça le met en retard"):
        verdict = judge(text, pol=rules)
        assert verdict.action == "allow", (text, verdict.scores)
    # a death wished on someone is no statement
    assert judge("Le concierge va crever", pol=rules).action == "hide"
    evidence = judge("Mon chien mange de la marde", pol=rules).evidence
    assert any("(constat, pas un ordre)" in e.message_fr for e in evidence)


def test_an_animal_said_of_a_person_does_not_make_the_next_word_literal() -> None:
    rules = rules_only()
    # a metaphor first, then an insult joined to it: both said of the staff member
    for text in ("Le directeur est un serpent et un hypocrite", "The teacher is a wolf and a liar",
                 "The teacher is a wolf in sheep's clothing and a liar",
                 "The teacher is a wolf. He is a liar", "Le prof est un chien pis un lâche"):
        verdict = judge(text, pol=rules)
        assert verdict.action == "hide", (text, verdict.scores)
    # animals named for themselves, or a role in a play, are not insults
    for text in ("Our class pet is a rabbit and a real sweetheart",
                 "The principal bought a snake and a lizard for the science room",
                 "She is a fox in the play and a great actress", "Mon chien est un bâtard, moitié labrador"):
        verdict = judge(text, pol=rules)
        assert verdict.action == "allow", (text, verdict.scores)


def test_a_queue_only_rule_stays_a_review_whatever_the_model_says() -> None:
    # fr.threat.veiled_idiom and fr.threat.veiled_warning (corroborate_at = 1.0) queue with an
    # alert: beside them the model's share used to lift "illegal" over its hide threshold (0.75)
    # from a probability of 0.74
    sure = with_model(illegal=0.99)
    for text in ("La directrice ferait mieux de pas sortir tard ces temps-ci",
                 "Restez loin de la polyvalente lundi, c'est tout ce que je vais dire",
                 "La directrice va comprendre sa douleur quand je vais la croiser."):
        verdict = judge(text, pol=sure)
        assert verdict.action == "review" and verdict.alert, (text, verdict.scores)
        assert verdict.scores["illegal"] < default_thresholds().by_category["illegal"][0]
    # beside a rule that sees a threat of its own, the model still corroborates it into a hide
    assert judge("Je vais te tuer, c'est pas une menace c'est une promesse", pol=sure).action == "hide"


def test_an_accusation_attributed_to_the_press_or_the_police_is_reviewed_not_hidden() -> None:
    rules = rules_only()
    verdict = judge("Le directeur est accusé de fraude selon le journal, le CSS doit s'expliquer", pol=rules)
    assert verdict.action == "review", verdict.scores
    assert any("(attribué à une source publique ?)" in e.message_fr for e in verdict.evidence)
    # the same accusation told as the writer's own, and an insult with a source, still hide
    assert judge("Le directeur fraude le centre de services, tout le monde le sait", pol=rules).action == "hide"
    assert judge("Selon le journal, le directeur est un gros cave", pol=rules).action == "hide"


def test_a_second_adjective_aims_where_the_first_did() -> None:
    rules = rules_only()
    for text in ("Le prof est vieux et pourri", "T'es vieux et pourri", "Le chauffeur est laid pis cave"):
        assert judge(text, pol=rules).action == "hide", text
    # said of a building: "vieille" is no intensifier across "et"
    for text in ("L'école est vieille et pourrie", "Le toit du gymnase est vieux et pourri, faut le refaire"):
        verdict = judge(text, pol=rules)
        assert verdict.action == "allow", (text, verdict.scores)


def test_a_part_played_on_stage_is_no_insult() -> None:
    rules = rules_only()
    for text in ("My daughter was a snake in the jungle book show",
                 "Mon gars joue le rôle du gros méchant loup au spectacle de Noël",
                 "Ma fille était déguisée en cochon pour l'Halloween",
                 # an intensifier before the part is still the part ("big bad")
                 "He played the big bad pig in the school play"):
        verdict = judge(text, pol=rules)
        assert verdict.action == "allow", (text, verdict.scores)
    # past a comma the show is another matter
    assert judge("Le directeur est un clown, il devrait jouer dans le spectacle de fin d'année",
                 pol=rules).action == "hide"


def test_saying_it_is_not_racist_to_say_something_endorses_it() -> None:
    rules = rules_only()
    # "dire que" reports nobody else's words here: the writer says it
    assert judge("C'est pas raciste de dire que les immigrants sont des criminels", pol=rules).action == "hide"
    # denouncing the same words still lets them through
    verdict = judge("Dire que certaines cultures sont inférieures, c'est du racisme", pol=rules)
    assert verdict.action == "allow", verdict.scores


def test_the_writers_own_number_or_address_is_no_disclosure() -> None:
    rules = rules_only()
    for text in ("Mon numéro si vous voulez covoiturer pour le tournoi: 418-555-0147",
                 "Pour le club de lecture, écrivez-moi quand vous voulez à julie.tremblay77@gmail.com"):
        verdict = judge(text, pol=rules)
        assert verdict.action == "allow", (text, verdict.scores)
    # someone else's, named between the writer's words and the number, is still a disclosure
    assert judge("Appelez-moi pas, appelez plutôt la directrice chez elle au 418-555-0177",
                 pol=rules).action == "hide"
    assert judge("Mon numéro? Non, voici celui de la prof: 418-555-0147", pol=rules).action == "hide"


def test_a_parent_teasing_their_own_child_is_queued_not_hidden() -> None:
    rules = rules_only()
    for text in ("Mon gars est un vrai pissou devant les araignées",
                 "Ma fille est une vraie tête de cochon le matin",
                 # or in their own noun phrase
                 "Ma gang de petits cochons a ramené tout le sable du parc, merci pour la sortie",
                 # "de 15 ans" is an age, not someone else's
                 "Mon grand flanc-mou de 15 ans s'est levé tout seul pour l'école"):
        verdict = judge(text, pol=rules)
        assert verdict.action != "hide", (text, verdict.scores)
    # the child must be the clause's subject: someone else named is still insulted
    for text in ("L'enseignante de ma fille est une conne prétentieuse",
                 "Mon gars dit que le prof est un vrai cave",
                 "mon gars, t'es un vrai cave",
                 "Ma gang de petits cochons de voisins a encore vandalisé l'entrée de l'école"):
        assert judge(text, pol=rules).action == "hide", text


def test_a_superlative_said_of_a_staff_member_aims_at_them_and_said_of_a_decision_does_not() -> None:
    rules = rules_only()
    assert judge("Mme Bergeron est la prof la plus incompétente et la plus conne que j'ai vue",
                 pol=rules).action == "hide"
    for text in ("C'est la décision la plus stupide de l'année, revenez-en",
                 "Mon gars a fait la chose la plus idiote: il a oublié son lunch"):
        verdict = judge(text, pol=rules)
        assert verdict.action == "allow", (text, verdict.scores)


def test_a_prevention_message_is_queued_not_hidden_and_an_offer_still_hides() -> None:
    rules = rules_only()
    for text in ("Si vous voyez un adulte vendre du pot aux jeunes près du parc, appelez la police sans attendre",
                 "Rappel de la policière-éducatrice : envoyer des photos nues d'une élève mineure, "
                 "c'est un crime, même entre amis"):
        verdict = judge(text, pol=rules)
        # a dealer may dress an offer as a warning: a person looks, with the alert
        assert verdict.action == "review", (text, verdict.scores)
        assert "prévention" in verdict.evidence[-1].message_fr or any(
            "prévention" in e.message_fr for e in verdict.evidence)
    assert judge("Vends du pot pas cher devant la poly, texte-moi", pol=rules).action == "hide"


def test_a_news_event_discussed_is_no_threat() -> None:
    rules = rules_only()
    assert judge("On a parlé en classe de la fusillade à l'école de Parkland, les jeunes avaient "
                 "beaucoup de questions", pol=rules).action == "allow"
    assert judge("Il va y avoir une fusillade à l'école lundi", pol=rules).action == "hide"


def test_the_writer_calling_themself_a_name_aims_at_no_one() -> None:
    rules = rules_only()
    for text in ("Je suis une vraie conne, j'ai oublié la boîte à lunch",
                 "Maudite tête de linotte que je suis, j'ai envoyé mon fils en pyjama",
                 "J'ai l'air d'un vrai cave avec mon habit de père Noël",
                 "J'me sens comme une vraie niaiseuse"):
        verdict = judge(text, pol=rules)
        assert verdict.action == "allow", (text, verdict.scores)
    # someone else named between, or beside, is still insulted
    for text in ("je suis écoeuré de ce vrai cave de directeur",
                 "Je suis sûr que c'est une vraie conne",
                 "je suis un vrai cave pis toi aussi"):
        assert judge(text, pol=rules).action == "hide", text


def test_a_figure_made_of_something_and_a_basement_are_no_one() -> None:
    rules = rules_only()
    for text in ("Petit cochon en pâte d'amande fait en classe, trop mignon",
                 "Le sous-sol chez nous c'est une vraie cave, pas de fenêtre pis humide"):
        verdict = judge(text, pol=rules)
        assert verdict.action == "allow", (text, verdict.scores)
    assert judge("t'es un gros cochon", pol=rules).action == "hide"
