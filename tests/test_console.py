"""The review console's queue, item page, decisions, digests and language, on a real store."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from tests.console_fixtures import (
    add_comment,
    add_user,
    login,
    make_config,
    page_token,
    seed_spaces,
)
from watcher import audit
from watcher.config import Config
from watcher.console import create_app
from watcher.console.review import PAGE_SIZE
from watcher.store.db import Store
from watcher.store.models import (
    Action,
    AuditEvent,
    Comment,
    Report,
    ReviewLabel,
    User,
    Verdict,
    utcnow,
)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def app(config: Config, store: Store) -> Any:
    seed_spaces(store, config)
    add_user(store, config, "marie", "moderation")
    add_user(store, config, "dir-b", "lecture", scope="École primaire B")
    return create_app(config, store, testing=True)


@pytest.fixture
def client(app: Any) -> Any:
    client = app.test_client()
    assert login(client, "marie").status_code == 302
    return client


def _decide(client: Any, comment_id: int, decision: str, **fields: str) -> Any:
    token = page_token(client, f"/items/{comment_id}")
    return client.post(
        f"/items/{comment_id}/decide",
        data={"decision": decision, "csrf_token": token, **fields},
        follow_redirects=True,
    )


def _state(store: Store, comment_id: int) -> tuple[Comment, list[Action], list[str]]:
    with store.session() as db:
        comment = db.get(Comment, comment_id)
        actions = list(db.exec(select(Action).where(Action.comment_id == comment_id)))
        labels = [
            label.label
            for label in db.exec(select(ReviewLabel).where(ReviewLabel.comment_id == comment_id))
        ]
    return comment, actions, labels


def test_restore_requests_an_unhide_for_the_daemon(client: Any, store: Store) -> None:
    comment_id = add_comment(store, "ecole-a", "Critique de la direction", platform_id="c1")
    page = _decide(client, comment_id, "restore", reason="Critique sans insulte")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Réaffichage enregistré" in text
    assert "En attente de Vigie" in text  # the item shows the action pending
    comment, actions, labels = _state(store, comment_id)
    assert comment.review_status == "restored"
    assert comment.platform_state == "hidden"  # the console does not touch the platform
    assert labels == ["acceptable"]
    [action] = actions
    assert (action.kind, action.state) == ("unhide", "requested")
    assert action.requested_by == "admin:marie"
    assert action.reason == "Critique sans insulte"
    with store.session() as db:
        events = list(db.exec(select(AuditEvent).where(AuditEvent.comment_id == comment_id)))
        assert audit.verify(db) == []
    assert [e.kind for e in events] == ["review.restore"]
    assert events[0].actor == "admin:marie"
    assert events[0].details["reason"] == "Critique sans insulte"
    # Asking twice does not queue the same platform action twice.
    _decide(client, comment_id, "restore")
    assert len(_state(store, comment_id)[1]) == 1


def test_item_shows_pending_then_done_or_failed(client: Any, store: Store) -> None:
    comment_id = add_comment(store, "ecole-a", "Un commentaire masqué", platform_id="c1")
    _decide(client, comment_id, "restore", reason="erreur")
    with store.session() as db:
        action = db.exec(select(Action)).one()
        action.state = "done"
        action.done_at = utcnow()
        comment = db.get(Comment, comment_id)
        comment.platform_state = "visible"
        db.add(action)
        db.add(comment)
    page = client.get(f"/items/{comment_id}").get_data(as_text=True)
    assert "En attente de Vigie" not in page
    assert "Fait" in page and "erreur" in page and "marie" in page
    other = add_comment(store, "ecole-a", "Un autre", platform_id="c2")
    _decide(client, other, "restore")
    with store.session() as db:
        action = db.exec(select(Action).where(Action.comment_id == other)).one()
        action.state = "failed"
        action.last_error = "Le jeton de la page a expiré"
        db.add(action)
    page = client.get(f"/items/{other}").get_data(as_text=True)
    assert "La dernière action a échoué" in page
    assert "Le jeton de la page a expiré" in page


def test_false_alarm_confirm_reclassify(client: Any, store: Store) -> None:
    hidden = add_comment(store, "ecole-a", "Masqué à tort", platform_id="c1")
    _decide(client, hidden, "false_alarm")
    comment, actions, labels = _state(store, hidden)
    assert comment.review_status == "false_alarm"
    assert labels == ["acceptable"]
    assert [a.kind for a in actions] == ["unhide"]

    confirmed = add_comment(store, "ecole-a", "Insulte", platform_id="c2",
                            categories=("discrimination",))
    _decide(client, confirmed, "confirm")
    comment, actions, labels = _state(store, confirmed)
    assert comment.review_status == "confirmed"
    assert labels == ["discrimination"]
    assert actions == []  # already hidden: nothing to ask of the platform

    waiting = add_comment(store, "ecole-a", "Douteux", platform_id="c3", state="visible",
                          decision="review")
    _decide(client, waiting, "confirm")
    assert [a.kind for a in _state(store, waiting)[1]] == ["hide"]

    page = _decide(client, confirmed, "reclassify")  # no category chosen
    assert "Choisissez la catégorie" in page.get_data(as_text=True)
    assert _state(store, confirmed)[2] == ["discrimination"]
    _decide(client, confirmed, "reclassify", category="illegal")
    comment, actions, labels = _state(store, confirmed)
    assert comment.review_status == "reclassified"
    assert labels == ["discrimination", "illegal"]
    assert actions == []


def test_delete_only_where_the_space_allows_it(client: Any, store: Store) -> None:
    in_a = add_comment(store, "ecole-a", "Pourriel", platform_id="c1",
                       categories=("commercial_pourriel",))
    assert "Supprimer de la plateforme" not in client.get(f"/items/{in_a}").get_data(as_text=True)
    page = _decide(client, in_a, "delete")
    assert "ne permet pas de supprimer" in page.get_data(as_text=True)
    assert _state(store, in_a)[1] == []
    in_b = add_comment(store, "ecole-b", "Pourriel", platform_id="c2",
                       categories=("commercial_pourriel",))
    assert "Supprimer de la plateforme" in client.get(f"/items/{in_b}").get_data(as_text=True)
    _decide(client, in_b, "delete", reason="pourriel répété")
    comment, actions, labels = _state(store, in_b)
    assert [(a.kind, a.state, a.requested_by) for a in actions] == [
        ("delete", "requested", "admin:marie")
    ]
    assert labels == ["commercial_pourriel"]


def test_bulk_restore_on_a_filtered_list(client: Any, store: Store) -> None:
    ids = [add_comment(store, "ecole-a", f"Commentaire {n}", platform_id=f"c{n}") for n in range(3)]
    token = page_token(client, "/queue")
    page = client.post(
        "/queue/bulk",
        data={"decision": "false_alarm", "ids": ids[:2], "reason": "lot", "csrf_token": token,
              "back": "/queue?space=ecole-a"},
        follow_redirects=True,
    )
    assert "2 éléments traités" in page.get_data(as_text=True)
    assert [_state(store, i)[0].review_status for i in ids] == ["false_alarm", "false_alarm", "none"]
    with store.session() as db:
        assert len(db.exec(select(Action)).all()) == 2
        assert len(db.exec(select(AuditEvent).where(AuditEvent.kind == "review.false_alarm")).all()) == 2
    page = client.post("/queue/bulk", data={"decision": "restore", "csrf_token": token},
                       follow_redirects=True)
    assert "Cochez au moins un élément" in page.get_data(as_text=True)


def test_queue_filters_order_counts_and_pages(client: Any, store: Store) -> None:
    base = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)
    for n in range(PAGE_SIZE + 5):
        add_comment(store, "ecole-a", f"Numéro {n:03d}", platform_id=f"a{n}",
                    when=base + dt.timedelta(hours=n), author_id=f"u{n}")
    add_comment(store, "ecole-b", "Pourriel B", platform_id="b1", state="visible",
                decision="review", categories=("commercial_pourriel",),
                when=base - dt.timedelta(days=1))
    add_comment(store, "ecole-b", "Laissé visible", platform_id="b2", state="visible",
                decision="allow", categories=())
    first = client.get("/queue").get_data(as_text=True)
    assert first.index(f"Numéro {PAGE_SIZE + 4:03d}") < first.index(f"Numéro {PAGE_SIZE + 3:03d}")
    assert "Laissé visible" not in first  # allowed, not hidden: not in the queue
    assert f"Page 1 sur 2 — {PAGE_SIZE + 6} élément(s)" in first
    assert f"<span class=\"count\">{PAGE_SIZE + 5}</span>" in first
    second = client.get("/queue?page=2").get_data(as_text=True)
    assert "Numéro 000" in second and "Pourriel B" in second
    spam = client.get("/queue?category=commercial_pourriel").get_data(as_text=True)
    assert "Pourriel B" in spam and "Numéro" not in spam
    waiting = client.get("/queue?status=pending").get_data(as_text=True)
    assert "Pourriel B" in waiting and "Numéro" not in waiting
    # Dates are days in the configured time zone (America/Toronto).
    day = client.get("/queue?from=2026-11-01&to=2026-11-01").get_data(as_text=True)
    assert "Pourriel B" in day and "Numéro" not in day
    only_b = client.get("/queue?space=ecole-b").get_data(as_text=True)
    assert "Pourriel B" in only_b and "Numéro" not in only_b
    bad = client.get("/queue?from=hier&status=bogus").get_data(as_text=True)
    assert "n’est pas une date" in bad and "Statut inconnu" in bad
    # Once decided, an item leaves "to review" and shows under its status.
    first_id = add_comment(store, "ecole-a", "Décidé", platform_id="done",
                           when=base + dt.timedelta(days=30))
    _decide(client, first_id, "confirm")
    assert "Décidé" not in client.get("/queue").get_data(as_text=True)
    assert "Décidé" in client.get("/queue?status=confirmed").get_data(as_text=True)


def test_item_page_shows_thread_author_history_and_evidence(client: Any, store: Store) -> None:
    add_comment(store, "ecole-a", "Premier message du fil", platform_id="t1", author="Autre",
                author_id="u-2", state="visible", decision="allow", categories=(),
                when=dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC))
    target = add_comment(store, "ecole-a", "Vous êtes nuls", platform_id="t2")
    add_comment(store, "ecole-a", "Message du même auteur ailleurs", platform_id="t3",
                post="p-2", state="visible", decision="allow", categories=())
    add_comment(store, "ecole-b", "Même auteur, autre espace", platform_id="t4")
    page = client.get(f"/items/{target}").get_data(as_text=True)
    assert "Premier message du fil" in page
    assert "Rentrée scolaire : horaires" in page  # the post
    assert "Message du même auteur ailleurs" in page
    assert "Même auteur, autre espace" not in page
    assert "Vigie a masqué ce commentaire" in page
    assert "Propos irrespectueux envers une personne" in page  # evidence in French
    assert "91 %" in page


def test_reports_are_readable_in_a_sandboxed_frame(app: Any, store: Store) -> None:
    with store.session() as db:
        db.add(Report(kind="weekly", period="2026-W47", subject="Bilan de vigie 2026-W47",
                      html="<html><body><h1>Bilan</h1><script>alert(1)</script></body></html>",
                      text="Bilan texte", status="sent"))
        db.add(Report(kind="direction", period="2026-W47", scope="École primaire B",
                      subject="Bilan de la direction B", html="<p>B</p>", status="sent"))
        db.add(Report(kind="alert", period="", subject="Alerte immédiate", html="<p>alerte</p>"))
    client = app.test_client()
    login(client, "marie")
    listing = client.get("/reports").get_data(as_text=True)
    assert "Bilan de vigie 2026-W47" in listing and "Bilan de la direction B" in listing
    assert "Alerte immédiate" not in listing
    with store.session() as db:
        weekly = db.exec(select(Report).where(Report.kind == "weekly")).one()
    page = client.get(f"/reports/{weekly.id}").get_data(as_text=True)
    assert f'<iframe class="report" sandbox src="/reports/{weekly.id}/content"' in page
    content = client.get(f"/reports/{weekly.id}/content")
    assert content.status_code == 200
    csp = content.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "script-src" not in csp
    assert content.headers["X-Frame-Options"] == "SAMEORIGIN"
    # A direction's account reads its own digest only.
    scoped = app.test_client()
    login(scoped, "dir-b")
    listing = scoped.get("/reports").get_data(as_text=True)
    assert "Bilan de la direction B" in listing and "Bilan de vigie 2026-W47" not in listing
    assert scoped.get(f"/reports/{weekly.id}").status_code == 404
    assert scoped.get(f"/reports/{weekly.id}/content").status_code == 404


def test_french_by_default_english_per_user(app: Any, store: Store) -> None:
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    assert '<html lang="fr-CA">' in login_page and "Connexion" in login_page
    login(client, "marie")
    page = client.get("/queue").get_data(as_text=True)
    assert "File de révision" in page and "Aller au contenu" in page
    token = page_token(client, "/queue")
    switched = client.post("/language", data={"lang": "en", "next": "/queue",
                                              "csrf_token": token}, follow_redirects=True)
    text = switched.get_data(as_text=True)
    assert '<html lang="en-CA">' in text and "Review queue" in text and "Skip to content" in text
    with store.session() as db:
        assert db.exec(select(User).where(User.username == "marie")).one().language == "en"
    again = app.test_client()  # a new session keeps the account's language
    login(again, "marie")
    assert "Review queue" in again.get("/queue").get_data(as_text=True)


def test_every_console_message_has_a_french_translation() -> None:
    from babel.messages.extract import extract_from_dir

    from watcher.console.i18n import DOMAIN, LOCALE_DIR
    from watcher.i18n import translations

    root = Path(__file__).resolve().parents[1] / "watcher" / "console"
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    catalog = translations(DOMAIN, str(LOCALE_DIR), "fr")
    missing = []
    found = 0
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(root), method_map, options, keywords={"_": None, "ngettext": (1, 2)}
    ):
        found += 1
        singular = message[0] if isinstance(message, tuple) else message
        translated = (
            catalog.ngettext(message[0], message[1], 1)
            if isinstance(message, tuple)
            else catalog.gettext(singular)
        )
        if translated == singular:
            missing.append(singular)
    assert found > 150
    assert [m for m in missing if m not in ("Date", "Direction", "Visible", "Pages", "Scores",
                                            "ACTION", "observation", "Période")] == []


def _luminance(colour: str) -> float:
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def test_text_colours_meet_wcag_aa_contrast() -> None:
    css = (Path(__file__).resolve().parents[1] / "watcher" / "console" / "static"
           / "console.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6});", css))
    pairs = [  # (text, background) as the stylesheet uses them
        ("ink", "paper"), ("ink", "canvas"), ("muted", "paper"), ("muted", "canvas"),
        ("link", "paper"), ("link", "info-bg"), ("brand-ink", "brand"), ("brand", "info-bg"),
        ("bad", "bad-bg"), ("warn", "warn-bg"), ("ok", "ok-bg"), ("brand-ink", "ok"),
        ("brand-ink", "bad"), ("muted", "bad-bg"), ("focus", "brand"),
    ]
    for text, background in pairs:
        high, low = sorted((_luminance(colours[text]), _luminance(colours[background])),
                           reverse=True)
        ratio = (high + 0.05) / (low + 0.05)
        assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f} < 4.5 (WCAG AA)"


def test_statistics_per_space_and_category(app: Any, store: Store) -> None:
    hidden = add_comment(store, "ecole-a", "Masqué 1", platform_id="s1")
    add_comment(store, "ecole-a", "Masqué 2", platform_id="s2")
    add_comment(store, "ecole-a", "Laissé", platform_id="s3", state="visible", decision="allow",
                categories=())
    add_comment(store, "ecole-b", "Pourriel", platform_id="s4", state="visible",
                decision="review", categories=("commercial_pourriel",))
    client = app.test_client()
    login(client, "marie")
    _decide(client, hidden, "false_alarm")
    page = client.get("/stats?days=7").get_data(as_text=True)
    rows = {
        name: re.findall(r"<td>(\d+)</td>", row)
        for name, row in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', page, re.S)
    }
    # judged, hidden, review, observe, confirmed, restored or false alarm, reclassified
    assert rows["École A — Facebook"] == ["3", "2", "0", "0", "0", "1", "0"]
    assert rows["École B — Facebook"] == ["1", "0", "1", "0", "0", "0", "0"]
    assert rows["Contenu commercial, publicitaire ou pourriel"] == ["1"]
    assert rows["Contenu diffamatoire, propagandiste ou irrespectueux"] == ["2"]
    scoped = app.test_client()
    login(scoped, "dir-b")
    page = scoped.get("/stats").get_data(as_text=True)
    assert "École B — Facebook" in page and "École A — Facebook" not in page


def test_no_platform_action_for_a_space_no_longer_watched(
    tmp_path: Path, store: Store, config: Config
) -> None:
    seed_spaces(store, config)
    add_user(store, config, "marie", "moderation")
    comment_id = add_comment(store, "ecole-a", "Masqué", platform_id="gone")
    data = config.model_dump(exclude={"source"})
    data["spaces"] = [s for s in data["spaces"] if s["id"] != "ecole-a"]
    removed = Config.model_validate(data)
    client = create_app(removed, store).test_client()
    login(client, "marie")
    page = _decide(client, comment_id, "restore").get_data(as_text=True)
    assert "n’est plus surveillé par Vigie" in page
    comment, actions, labels = _state(store, comment_id)
    assert (comment.review_status, actions, labels) == ("none", [], [])
    _decide(client, comment_id, "reclassify", category="illegal")  # labelling still works
    assert _state(store, comment_id)[2] == ["illegal"]


def test_bulk_on_every_item_of_a_filter(client: Any, store: Store) -> None:
    spam = [add_comment(store, "ecole-b", f"Pourriel {n}", platform_id=f"sp{n}",
                        categories=("commercial_pourriel",)) for n in range(3)]
    other = add_comment(store, "ecole-a", "Insulte", platform_id="in1")
    queue = client.get("/queue?category=commercial_pourriel").get_data(as_text=True)
    assert "les 3 éléments de ce filtre" in queue
    assert 'name="f_category" value="commercial_pourriel"' in queue
    token = page_token(client, "/queue")
    page = client.post(
        "/queue/bulk",
        data={"decision": "reclassify", "category": "illegal", "target": "filter",
              "f_category": "commercial_pourriel", "f_status": "todo", "csrf_token": token},
        follow_redirects=True,
    )
    assert "3 éléments traités" in page.get_data(as_text=True)
    assert [_state(store, i)[2] for i in spam] == [["illegal"]] * 3
    assert _state(store, other)[2] == []


@pytest.mark.parametrize("status", ["todo", "hidden", "pending", "confirmed", "all"])
def test_queue_reads_no_table_whole_on_sqlite(store: Store, config: Config, status: str) -> None:
    """Every statement of the queue finds its rows through an index (migrations 0004 and 0005).

    SQLite has no statistics here, as in service; a ``SCAN`` of comments or verdicts is a read
    of the whole store (the queue once took half a second at 50,000 comments).
    """
    import sqlalchemy as sa

    from watcher.console import review

    if not store.is_sqlite:
        pytest.skip("SQLite's plans (PostgreSQL's depend on its statistics)")
    seed_spaces(store, config)
    add_comment(store, "ecole-a", "Caché", platform_id="q1")
    add_comment(store, "ecole-b", "À revoir", platform_id="q2", state="visible",
                decision="review", categories=("commercial_pourriel",))
    seen: list[tuple[str, Any]] = []

    def note(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", note)
    try:
        with store.session() as db:
            for flt in (review.QueueFilter(status=status),
                        review.QueueFilter(status=status, category="commercial_pourriel"),
                        review.QueueFilter(status=status, space="ecole-a")):
                page = review.queue(db, flt, None, dt.UTC)
                assert page.total >= 0
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", note)
    assert seen
    with store.engine.connect() as connection:
        for statement, parameters in seen:
            plan = [row[-1] for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)]
            scans = [line for line in plan if re.match(r"SCAN (comments|verdicts)\b", line)]
            assert not scans, (statement, plan)


def test_queue_holds_exactly_its_items_for_every_state(store: Store, config: Config) -> None:
    """Every combination of platform state, review status and verdict lands where the queue's
    definition says, whatever index finds it (the candidates of migration 0004 lose none)."""
    from watcher.console import review

    seed_spaces(store, config)
    states = ("visible", "hidden", "deleted")
    reviews = ("none", "pending", "confirmed", "restored", "false_alarm", "reclassified")
    decisions = (None, "allow", "hide", "review", "observe_hide", "observe_review")
    facts: dict[int, tuple[str, str, str | None]] = {}
    for n, (state, status, decision) in enumerate(
        (s, r, d) for s in states for r in reviews for d in decisions
    ):
        comment_id = add_comment(store, "ecole-a", f"Combinaison {n}", platform_id=f"k{n}",
                                 state=state, review_status=status, decision="allow",
                                 categories=())
        with store.session() as db:
            verdict = db.exec(select(Verdict).where(Verdict.comment_id == comment_id)).one()
            if decision is None:
                db.delete(verdict)
            else:
                verdict.decision = decision
                db.add(verdict)
            comment = db.get(Comment, comment_id)
            comment.decision = decision  # the pipeline writes both
            db.add(comment)
        facts[comment_id] = (state, status, decision)

    def in_queue(state: str, status: str, decision: str | None) -> bool:
        return (state in ("hidden", "deleted") or status != "none"
                or decision in ("hide", "review", "observe_hide"))

    def waiting(status: str, decision: str | None) -> bool:
        return status == "pending" or (status == "none"
                                       and decision in ("review", "observe_hide"))

    expected = {
        "todo": lambda s, r, d: r in ("none", "pending") and (s == "hidden" or waiting(r, d)),
        "hidden": lambda s, r, d: s == "hidden",
        "pending": lambda s, r, d: waiting(r, d),
        "all": lambda s, r, d: True,
        "confirmed": lambda s, r, d: r == "confirmed",
        "restored": lambda s, r, d: r == "restored",
        "false_alarm": lambda s, r, d: r == "false_alarm",
        "reclassified": lambda s, r, d: r == "reclassified",
    }
    assert set(expected) == set(review.STATUSES)
    with store.session() as db:
        for status, wanted in expected.items():
            found = set(review.filtered_ids(db, review.QueueFilter(status=status), None, dt.UTC,
                                            limit=10_000))
            assert found == {i for i, f in facts.items() if in_queue(*f) and wanted(*f)}, status
            page = review.queue(db, review.QueueFilter(status=status), None, dt.UTC)
            assert page.total == len(found), status


def test_queue_pages_and_counts_match_its_definition(store: Store, config: Config) -> None:
    """Items, order (newest first, then by id), pages and counts per space of ``review.queue``
    and ``review.filtered_ids``, for every status and with each filter, are those its definition
    gives when computed in Python over every comment: however the statements are written and
    whatever index answers them, what the moderators see does not change."""
    import random

    from watcher.console import review

    seed_spaces(store, config)
    rng = random.Random(7)
    spaces = [space.id for space in config.spaces]
    states = ("visible", "hidden", "deleted")
    reviews = ("none", "none", "pending", "confirmed", "restored", "false_alarm", "reclassified")
    decisions = (None, "allow", "hide", "review", "observe_hide", "observe_review")
    categories = ("diffamation_irrespect", "commercial_pourriel")
    start = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    facts: dict[int, dict[str, Any]] = {}
    with store.session() as db:
        for n in range(260):
            # a few hours only, so that many comments share a time and the id breaks the tie
            when = start + dt.timedelta(days=rng.randrange(6), hours=rng.randrange(3))
            fact = {"space": rng.choice(spaces), "state": rng.choice(states),
                    "status": rng.choice(reviews), "decision": rng.choice(decisions),
                    "categories": rng.sample(categories, rng.randrange(3)), "when": when,
                    "label": rng.choice((None, None, None, *categories))}
            comment = Comment(space_id=fact["space"], platform="facebook", platform_id=f"d{n}",
                              text=f"Commentaire {n}", created_time=when, classified=True,
                              platform_state=fact["state"], review_status=fact["status"],
                              decision=fact["decision"])  # as the pipeline writes it
            db.add(comment)
            db.flush()
            if fact["decision"] is not None:
                db.add(Verdict(comment_id=comment.id or 0, action="review",
                               decision=fact["decision"], mode="enforce",
                               categories=fact["categories"], classifier_version="t"))
            if fact["label"] is not None:
                db.add(ReviewLabel(comment_id=comment.id or 0, label=fact["label"],
                                   decided_by="admin:test"))
            facts[comment.id or 0] = fact

    def in_queue(f: dict[str, Any]) -> bool:
        return (f["state"] in ("hidden", "deleted") or f["status"] != "none"
                or f["decision"] in ("hide", "review", "observe_hide"))

    def waiting(f: dict[str, Any]) -> bool:
        return f["status"] == "pending" or (
            f["status"] == "none" and f["decision"] in ("review", "observe_hide"))

    def of_status(f: dict[str, Any], status: str) -> bool:
        if status == "todo":
            return f["status"] in ("none", "pending") and (f["state"] == "hidden" or waiting(f))
        if status == "hidden":
            return f["state"] == "hidden"
        if status == "pending":
            return waiting(f)
        return status == "all" or f["status"] == status

    def expected(flt: Any, allowed: set[str] | None) -> tuple[list[int], list[tuple[str, int]]]:
        chosen = [
            (f["when"], i, f["space"]) for i, f in facts.items()
            if in_queue(f) and of_status(f, flt.status)
            and (allowed is None or f["space"] in allowed)
            and (not flt.category or f["label"] == flt.category
                 or (f["decision"] is not None and flt.category in f["categories"]))
            and (not flt.date_from or f["when"].date() >= flt.date_from)
            and (not flt.date_to or f["when"].date() <= flt.date_to)
        ]
        counts: dict[str, int] = {}
        for _when, _i, space in chosen:
            counts[space] = counts.get(space, 0) + 1
        ordered = [i for when, i, space in sorted(chosen, reverse=True)
                   if not flt.space or space == flt.space]
        return ordered, sorted(counts.items())

    filters = [
        {}, {"space": "ecole-b"}, {"category": "commercial_pourriel"},
        {"date_from": dt.date(2026, 11, 3), "date_to": dt.date(2026, 11, 4)},
        {"space": "ecole-a", "category": "diffamation_irrespect"},
    ]
    checked = 0
    with store.session() as db:
        for status in review.STATUSES:
            for extra in filters:
                for allowed in (None, {"ecole-a"}):
                    flt = review.QueueFilter(status=status, **extra)
                    ordered, counts = expected(flt, allowed)
                    assert review.filtered_ids(db, flt, allowed, dt.UTC, limit=10_000) == ordered, (status, extra, allowed)
                    pages = max(1, -(-len(ordered) // PAGE_SIZE))
                    for number in range(1, pages + 2):  # and one past the end: the last page
                        page = review.queue(db, review.QueueFilter(
                            status=status, page=number, **extra), allowed, dt.UTC)
                        shown = min(number, pages)
                        assert (page.total, page.pages, page.page) == (len(ordered), pages, shown)
                        assert page.counts == counts, (status, extra, allowed)
                        assert [row.comment.id for row in page.rows] == ordered[
                            (shown - 1) * PAGE_SIZE:shown * PAGE_SIZE], (status, extra, number)
                        assert all(row.verdict is None or row.verdict.comment_id == row.comment.id
                                   for row in page.rows)
                        checked += len(page.rows)
    assert checked > 1000
