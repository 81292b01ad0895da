"""A week of vigil written straight into a real store, for the reports' tests.

Week 2026-W47 runs from Monday 16 November to Sunday 22 November 2026 (America/Toronto, UTC-5).
The digest is due on Monday 23 November at 08:00 local time (13:00 UTC).
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from sqlmodel import Session

from watcher.config import Config
from watcher.store.db import Store
from watcher.store.models import Action, Comment, PollRun, ReviewLabel, Space, Verdict

UTC = dt.UTC
WEEK = "2026-W47"
MONDAY = dt.datetime(2026, 11, 16, 5, 0, tzinfo=UTC)  # 00:00 in Toronto
DUE = dt.datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # Monday 08:00 in Toronto
STARTED = dt.datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
HOSTILE = (
    "<script>document.title='pwned';document.body.setAttribute('data-pwned','1')</script>"
    "<b>gras</b> {{ 7*7 }} {% raw %}<img src=x onerror=\"document.body.setAttribute('data-img','1')\">"
)
PHONE = "418-555-0199"
COMMS = ["communications@csdlj.example", "sg@csdlj.example"]
KENOGAMI = ["direction.kenogami@csdlj.example"]
SERVICE = ["webmestre@csdlj.example"]
URGENT = ["urgence@csdlj.example"]
SYSADMIN = ["ti@csdlj.example"]

_ids = itertools.count(1)


def config_dict(tmp_path: Path, **report: Any) -> dict[str, Any]:
    def space(id_: str, platform: str, name: str, owner: str, contacts: list[str],
              mode: str) -> dict[str, Any]:
        return {
            "id": id_, "platform": platform, "platform_id": f"pid-{id_}", "name": name,
            "owner": owner, "contacts": contacts, "approval_ref": f"R-SG-06/{id_}",
            "approval_date": dt.date(2026, 8, 20), "administrators": ["admin1"], "mode": mode,
        }

    return {
        "vigie": {"state_dir": str(tmp_path / "state"), "timezone": "America/Toronto"},
        "report": {"recipients": COMMS, "outbox_dir": str(tmp_path / "outbox"), **report},
        "alerts": {"recipients": URGENT, "sysadmin": SYSADMIN},
        "console": {"base_url": "https://vigie.csdlj.example"},
        "spaces": [
            space("kenogami-fb", "facebook", "École secondaire Kénogami", "École Kénogami",
                  KENOGAMI, "enforce"),
            space("kenogami-ig", "instagram", "Kénogami sur Instagram", "École Kénogami",
                  KENOGAMI, "enforce"),
            space("csdlj-yt", "youtube", "CSS De La Jonquière (YouTube)",
                  "Service du secrétariat général et des communications", SERVICE, "observe"),
        ],
    }


def make_config(tmp_path: Path, smtp: dict[str, Any] | None = None, **report: Any) -> Config:
    """The test configuration (built without the connector cross-checks of parse_config)."""
    data = config_dict(tmp_path, **report)
    if smtp is not None:
        data["smtp"] = smtp
    return Config.model_validate(data)


def add_spaces(session: Session, **health: dict[str, Any]) -> None:
    spaces = [
        ("kenogami-fb", "facebook", "École secondaire Kénogami", "École Kénogami", "enforce"),
        ("kenogami-ig", "instagram", "Kénogami sur Instagram", "École Kénogami", "enforce"),
        ("csdlj-yt", "youtube", "CSS De La Jonquière (YouTube)",
         "Service du secrétariat général et des communications", "observe"),
    ]
    for id_, platform, name, owner, mode in spaces:
        fields = {"last_poll_at": DUE - dt.timedelta(minutes=5),
                  "last_good_poll_at": DUE - dt.timedelta(minutes=5)}
        fields.update(health.get(id_.replace("-", "_"), {}))
        session.add(Space(id=id_, platform=platform, platform_id=f"pid-{id_}", name=name,
                          owner=owner, mode=mode, created_at=STARTED, **fields))
    session.flush()


def add_comment(
    session: Session,
    space_id: str,
    created: dt.datetime,
    text: str = "Merci pour l'information!",
    *,
    author: tuple[str, str] | None = None,
    decision: str | None = None,
    categories: tuple[str, ...] = (),
    evidence: list[dict[str, Any]] | None = None,
    alert: bool = False,
    hidden_after: dt.timedelta | None = None,
    restored_after: dt.timedelta | None = None,
    review_status: str | None = None,
    label: str | None = None,
    by_owner: bool = False,
) -> Comment:
    """Add a comment, its verdict and the actions carried out on it."""
    number = next(_ids)
    if review_status is None:  # as the pipeline does: every flagged comment awaits a person
        review_status = "pending" if decision not in (None, "allow") else "none"
    platform = space_id.split("-")[-1].replace("fb", "facebook").replace("ig", "instagram")
    platform = {"yt": "youtube"}.get(platform, platform)
    author_id, author_name = author or (f"user-{number}", f"Utilisateur Numéro{number}")
    comment = Comment(
        space_id=space_id, platform=platform, platform_id=f"c{number}", text=text,
        author_id=author_id, author_name=author_name, created_time=created,
        fetched_at=created + dt.timedelta(minutes=1), classified=decision is not None,
        review_status=review_status, by_owner=by_owner, decision=decision,
        platform_state="hidden" if hidden_after and not restored_after else "visible",
    )
    session.add(comment)
    session.flush()
    assert comment.id is not None
    if decision is not None:
        session.add(Verdict(
            comment_id=comment.id, action=decision.removeprefix("observe_"), decision=decision,
            mode="observe" if decision.startswith("observe_") else "enforce",
            categories=list(categories), scores={c: 0.9 for c in categories},
            evidence=evidence or [], rule_ids=[e["rule_id"] for e in evidence or []],
            alert=alert, classifier_version="test-1",
            created_at=created + dt.timedelta(minutes=1),
        ))
    if hidden_after is not None:
        done = created + hidden_after
        session.add(Action(comment_id=comment.id, kind="hide", state="done",
                           requested_by="system", created_at=done, updated_at=done, done_at=done))
    if restored_after is not None:
        done = created + restored_after
        session.add(Action(comment_id=comment.id, kind="unhide", state="done",
                           requested_by="admin:marie", created_at=done, updated_at=done,
                           done_at=done))
    if label is not None:
        session.add(ReviewLabel(comment_id=comment.id, label=label, decided_by="admin:marie",
                                decided_at=created + dt.timedelta(hours=3)))
    session.flush()
    return comment


def insult(session: Session, space_id: str, created: dt.datetime, delay: dt.timedelta,
           text: str = "T'es un idiot, mange de la marde") -> Comment:
    return add_comment(
        session, space_id, created, text, decision="hide",
        categories=("diffamation_irrespect",),
        evidence=[{"category": "diffamation_irrespect", "rule_id": "fr.insult.con",
                   "message_fr": "Insulte", "message_en": "Insult", "span": [0, 14],
                   "excerpt": text[:14]}],
        hidden_after=delay,
    )


def populate(store: Store) -> dict[str, Any]:
    """Write four quiet weeks and a busy week 2026-W47; return what the digest must show."""
    at = MONDAY
    with store.session() as session:
        add_spaces(
            session,
            kenogami_ig={
                "health": "unhealthy", "health_reason": "AuthError: token revoked <b>now</b>",
                "last_error": "AuthError: token revoked <b>now</b>",
                "last_error_at": DUE - dt.timedelta(hours=1), "consecutive_failures": 12,
                "token_expires_at": MONDAY + dt.timedelta(days=2),
                "last_good_poll_at": MONDAY + dt.timedelta(days=2, hours=1),
            },
            csdlj_yt={"token_expires_at": DUE + dt.timedelta(days=5), "usage_ratio": 1.0},
        )
        # Four previous weeks on the Facebook page: 20 comments, 2 insults hidden in 1 hour.
        for weeks_back in range(1, 5):
            start = at - dt.timedelta(weeks=weeks_back)
            for n in range(18):
                add_comment(session, "kenogami-fb", start + dt.timedelta(hours=3 + n))
            for n in range(2):
                insult(session, "kenogami-fb", start + dt.timedelta(days=2, hours=n),
                       dt.timedelta(hours=1))
        # The week itself.
        for n in range(22):
            add_comment(session, "kenogami-fb", at + dt.timedelta(hours=2 + n * 5))
        add_comment(session, "kenogami-fb", at + dt.timedelta(hours=3), "Merci à tous!",
                    by_owner=True)
        insult(session, "kenogami-fb", at + dt.timedelta(days=1), dt.timedelta(minutes=10))
        insult(session, "kenogami-fb", at + dt.timedelta(days=2), dt.timedelta(minutes=20))
        privacy_text = f"Appelez Mme Gagnon au {PHONE}, elle harcèle les élèves de 3e année"
        start = privacy_text.index(PHONE)
        add_comment(
            session, "kenogami-fb", at + dt.timedelta(days=3), privacy_text,
            author=("u-pg", "Pierre Gagnon"), decision="hide", categories=("atteinte_droits",),
            evidence=[{"category": "atteinte_droits", "rule_id": "fr.pii.phone",
                       "message_fr": "Numéro de téléphone", "message_en": "Phone number",
                       "span": [start, start + len(PHONE)], "excerpt": PHONE}],
            hidden_after=dt.timedelta(minutes=40),
        )
        add_comment(
            session, "kenogami-fb", at + dt.timedelta(days=3, hours=2),
            "Promo crypto gratuite https://spam.example/promo", decision="hide",
            categories=("commercial_pourriel",), hidden_after=dt.timedelta(hours=2),
        )
        threat = add_comment(
            session, "kenogami-fb", at + dt.timedelta(days=4), "Je vais te tuer à la sortie",
            author=("u-threat", "Kevin Menace"), decision="hide", categories=("illegal",),
            evidence=[{"category": "illegal", "rule_id": "fr.threat.kill",
                       "message_fr": "Menace de violence", "message_en": "Threat of violence",
                       "span": [0, 15], "excerpt": "Je vais te tuer"}],
            alert=True, hidden_after=dt.timedelta(minutes=5),
        )
        # Wrongly hidden then restored by an administrator (labelled acceptable).
        add_comment(
            session, "kenogami-fb", at + dt.timedelta(days=4, hours=3),
            "La direction devrait revoir sa décision sur le transport.", decision="hide",
            categories=("diffamation_irrespect",), hidden_after=dt.timedelta(minutes=30),
            restored_after=dt.timedelta(hours=5), review_status="restored", label="acceptable",
        )
        hostile = add_comment(
            session, "kenogami-fb", at + dt.timedelta(days=5), HOSTILE,
            author=("u-h", "<i>Hacker</i>"), decision="review", categories=("commercial_pourriel",),
            review_status="pending",
        )
        add_comment(
            session, "kenogami-fb", at + dt.timedelta(days=5, hours=1), "Franchement nul ce cours",
            decision="review", categories=("diffamation_irrespect",), review_status="confirmed",
        )
        for n in range(5):
            add_comment(session, "kenogami-ig", at + dt.timedelta(hours=10 + n))
        for n in range(9):
            add_comment(session, "csdlj-yt", at + dt.timedelta(hours=20 + n))
        for n in range(3):
            add_comment(session, "csdlj-yt", at + dt.timedelta(days=2, hours=n),
                        "Les gens de cette origine sont tous pareils", decision="observe_hide",
                        categories=("discrimination",))
        # Polls of the week: the Instagram account fails most of them.
        for n in range(10):
            started = at + dt.timedelta(hours=12 * n)
            session.add(PollRun(space_id="kenogami-ig", started_at=started,
                                finished_at=started + dt.timedelta(seconds=3), ok=n < 2,
                                error_kind=None if n < 2 else "AuthError",
                                error=None if n < 2 else "token revoked (code 190)"))
            session.add(PollRun(space_id="kenogami-fb", started_at=started,
                                finished_at=started + dt.timedelta(seconds=2), ok=True,
                                new_comments=3))
    return {
        # Page: 22 plain + 8 flagged (its own reply left out); Instagram 5; YouTube 9 + 3.
        "new": 47,
        "hidden": 6,  # two insults, the phone number, the spam, the threat, the restored one
        "observed": 3,
        "queued": 2,  # two on the page
        "still_pending": 1,
        "backlog": 4,  # the hostile one, three YouTube ones observed
        "restored": 1,
        "alerts": 1,
        "median": "25 min",  # 5, 10, 20, 30, 40 and 120 minutes
        "threat_id": threat.id,
        "hostile_id": hostile.id,
    }
