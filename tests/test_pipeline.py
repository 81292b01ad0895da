"""The pipeline end to end on the sandbox, over real HTTP with the real Facebook SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import col, select

from tests.support import (
    calls,
    clear_faults,
    fault,
    graph_hides,
    make_config,
    make_runtime,
    post_comment,
    remote,
    space_toml,
)
from watcher import pipeline
from watcher.store.models import Action, AuditEvent, Comment, Space, Verdict

INSULT = "Mange de la marde, espèce d'idiot."
THREAT = "Je vais te tuer à la sortie de l'école."
THANKS = "Merci pour l'information, bonne journée à toute l'équipe!"
CRITICISM = "Cette décision sur le transport est mal communiquée et injuste pour les familles."


PAGE = "100064000000001"
OTHER_PAGE = "100064000000002"


def _hide_calls(url: str, comment_id: str) -> list[str]:
    return [hidden for hidden in graph_hides(url) if hidden == comment_id]


@pytest.fixture
def enforce_runtime(sandbox, tmp_path: Path, database_url: str):
    config = make_config(
        tmp_path, [space_toml("page", sandbox.url, platform_id=PAGE)], database_url=database_url
    )
    runtime = make_runtime(config)
    yield runtime
    runtime.close()


def test_litigious_comment_hidden_within_one_cycle(sandbox, enforce_runtime) -> None:
    insult = post_comment(sandbox.url, PAGE, INSULT, author_name="Troll Anonyme")
    thanks = post_comment(sandbox.url, PAGE, THANKS, author_name="Julie Tremblay")
    critic = post_comment(sandbox.url, PAGE, CRITICISM, author_name="Marc Gagnon")

    outcome = pipeline.poll_space(enforce_runtime, "page")

    assert outcome.ok and outcome.new_comments == 3 and outcome.classified == 3
    assert remote(sandbox.url, insult)["hidden"] is True
    assert remote(sandbox.url, thanks)["hidden"] is False
    assert remote(sandbox.url, critic)["hidden"] is False
    with enforce_runtime.store.session() as session:
        row = session.exec(select(Comment).where(Comment.platform_id == insult)).one()
        verdict = session.exec(select(Verdict).where(Verdict.comment_id == row.id)).one()
        action = session.exec(select(Action).where(Action.comment_id == row.id)).one()
    assert row.platform_state == "hidden" and row.review_status == "pending"
    assert verdict.decision == "hide" and verdict.evidence and verdict.classifier_version
    assert row.decision == "hide"  # kept on the comment for the console's queue
    assert action.state == "done" and action.requested_by == "system"
    with enforce_runtime.store.session() as session:
        kept = session.exec(select(Comment).where(Comment.platform_id == thanks)).one()
    assert (kept.decision, kept.review_status) == ("allow", "none")


def test_observe_mode_records_but_never_acts(sandbox, tmp_path: Path, database_url: str) -> None:
    config = make_config(
        tmp_path,
        [space_toml("page", sandbox.url, platform_id=PAGE, mode="observe")],
        database_url=database_url,
    )
    runtime = make_runtime(config)
    try:
        insult = post_comment(sandbox.url, PAGE, INSULT)
        pipeline.poll_space(runtime, "page")
        assert remote(sandbox.url, insult)["hidden"] is False
        assert _hide_calls(sandbox.url, insult) == []
        with runtime.store.session() as session:
            verdict = session.exec(select(Verdict)).one()
            assert verdict.decision == "observe_hide" and verdict.mode == "observe"
            assert session.exec(select(Action)).all() == []
    finally:
        runtime.close()


def test_polling_twice_duplicates_nothing(sandbox, enforce_runtime) -> None:
    insult = post_comment(sandbox.url, PAGE, INSULT)
    post_comment(sandbox.url, PAGE, THANKS)
    pipeline.poll_space(enforce_runtime, "page")
    second = pipeline.poll_space(enforce_runtime, "page", force=True)

    assert second.ok and second.new_comments == 0 and second.classified == 0
    assert len(_hide_calls(sandbox.url, insult)) == 1
    with enforce_runtime.store.session() as session:
        assert len(session.exec(select(Comment)).all()) == 2
        assert len(session.exec(select(Verdict)).all()) == 2
        assert len(session.exec(select(Action)).all()) == 1


def test_new_comments_after_a_poll_are_picked_up(sandbox, enforce_runtime) -> None:
    post_comment(sandbox.url, PAGE, THANKS)
    pipeline.poll_space(enforce_runtime, "page")
    late = post_comment(sandbox.url, PAGE, THREAT, author_name="Inconnu")
    outcome = pipeline.poll_space(enforce_runtime, "page", force=True)
    assert outcome.new_comments == 1
    assert remote(sandbox.url, late)["hidden"] is True
    with enforce_runtime.store.session() as session:
        verdict = session.exec(select(Verdict).order_by(col(Verdict.id).desc())).first()
    assert verdict is not None and verdict.alert is True


def test_action_interrupted_by_a_crash_is_not_made_twice(sandbox, enforce_runtime) -> None:
    """A process dies after the platform call, before recording it: no second call."""
    insult = post_comment(sandbox.url, PAGE, INSULT)
    runtime = enforce_runtime
    result = runtime.connector("page").fetch({})
    pipeline.store_fetched(runtime, "page", result)
    pipeline.classify_pending(runtime, "page")
    with runtime.store.session() as session:
        action = session.exec(select(Action)).one()
        assert pipeline._claim(session, action.id, runtime.clock())
    runtime.connector("page").hide(insult)  # ... and the process dies here.

    recovered = pipeline.run_actions(runtime, recover=True)

    assert recovered == 1
    assert len(_hide_calls(sandbox.url, insult)) == 1
    with runtime.store.session() as session:
        assert session.exec(select(Action)).one().state == "done"


def test_action_claimed_but_not_sent_is_sent_after_a_crash(sandbox, enforce_runtime) -> None:
    insult = post_comment(sandbox.url, PAGE, INSULT)
    runtime = enforce_runtime
    pipeline.store_fetched(runtime, "page", runtime.connector("page").fetch({}))
    pipeline.classify_pending(runtime, "page")
    with runtime.store.session() as session:
        action = session.exec(select(Action)).one()
        assert pipeline._claim(session, action.id, runtime.clock())
    # The process dies before calling the platform.
    assert pipeline.run_actions(runtime, recover=True) == 1
    assert remote(sandbox.url, insult)["hidden"] is True
    assert len(_hide_calls(sandbox.url, insult)) == 1


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "http500", "count": 50},
        {"kind": "timeout", "count": 50, "delay": 3},
        {"kind": "error", "code": 190, "count": 50},
        {"kind": "error", "code": 4, "count": 50},
        {"kind": "error", "code": 17, "count": 50},
        {"kind": "error", "code": 32, "count": 50},
        {"kind": "error", "code": 613, "count": 50},
        {"kind": "error", "code": 80001, "count": 50},
    ],
    ids=lambda s: f"{s['kind']}-{s.get('code', '')}",
)
def test_faults_of_one_space_leave_the_others_alone(
    sandbox, tmp_path: Path, spec: dict
) -> None:
    config = make_config(
        tmp_path,
        [
            space_toml("broken", sandbox.url, platform_id=PAGE,
                       extra="request_timeout = 1.5"),
            space_toml("healthy", sandbox.url, platform_id=OTHER_PAGE),
        ],
    )
    runtime = make_runtime(config)
    try:
        broken_insult = post_comment(sandbox.url, PAGE, INSULT)
        healthy_insult = post_comment(sandbox.url, OTHER_PAGE, INSULT)
        fault(sandbox.url, platform="facebook", space=PAGE, **spec)

        broken = pipeline.poll_space(runtime, "broken")
        healthy = pipeline.poll_space(runtime, "healthy")

        assert not broken.ok and broken.error
        assert healthy.ok and remote(sandbox.url, healthy_insult)["hidden"] is True
        with runtime.store.session() as session:
            space = session.get(Space, "broken")
            assert space.last_error
            if spec.get("code") == 190:
                assert space.health == "unhealthy"
                assert broken.incident
            assert session.exec(
                select(AuditEvent).where(AuditEvent.space_id == "healthy")
            ).first() is not None

        clear_faults(sandbox.url)
        caught_up = pipeline.poll_space(runtime, "broken", force=True)
        assert caught_up.ok
        assert remote(sandbox.url, broken_insult)["hidden"] is True
        with runtime.store.session() as session:
            assert session.get(Space, "broken").health == "ok"
    finally:
        runtime.close()


def test_failed_hide_is_retried_with_backoff(sandbox, enforce_runtime) -> None:
    insult = post_comment(sandbox.url, PAGE, INSULT)
    runtime = enforce_runtime
    pipeline.store_fetched(runtime, "page", runtime.connector("page").fetch({}))
    pipeline.classify_pending(runtime, "page")
    fault(sandbox.url, platform="facebook", space=PAGE, kind="http500", count=1)
    assert pipeline.run_actions(runtime, "page") == 0
    with runtime.store.session() as session:
        action = session.exec(select(Action)).one()
        assert action.state == "requested" and action.attempts == 1
        assert action.next_attempt_at is not None and action.last_error
        action.next_attempt_at = runtime.clock()  # the backoff has passed
        session.add(action)
    assert pipeline.run_actions(runtime, "page") == 1
    assert remote(sandbox.url, insult)["hidden"] is True


def test_delete_where_the_space_allows_it_keeps_the_evidence(sandbox, tmp_path: Path,
                                                             database_url: str) -> None:
    """Policy 8.2: a space may delete some categories; the store keeps text and evidence."""
    config = make_config(
        tmp_path,
        [space_toml("page", sandbox.url, platform_id=PAGE,
                    extra='delete_categories = ["diffamation_irrespect"]')],
        database_url=database_url,
    )
    runtime = make_runtime(config)
    try:
        insult = post_comment(sandbox.url, PAGE, INSULT, author_name="Troll Anonyme")
        thanks = post_comment(sandbox.url, PAGE, THANKS)
        pipeline.poll_space(runtime, "page")
        assert remote(sandbox.url, insult)["deleted"] is True
        assert remote(sandbox.url, thanks)["deleted"] is False
        with runtime.store.session() as session:
            row = session.exec(select(Comment).where(Comment.platform_id == insult)).one()
            action = session.exec(select(Action).where(Action.comment_id == row.id)).one()
            verdict = session.exec(select(Verdict).where(Verdict.comment_id == row.id)).one()
        assert action.kind == "delete" and action.state == "done"
        assert row.platform_state == "deleted"
        assert row.text == INSULT and row.author_name == "Troll Anonyme"
        assert verdict.evidence and "diffamation_irrespect" in verdict.categories
    finally:
        runtime.close()


def test_a_busy_page_loses_no_comment(sandbox, enforce_runtime) -> None:
    """More posts with new comments than one feed page holds: every comment is read."""
    import requests

    for n in range(230):
        post = requests.post(f"{sandbox.url}/_sandbox/posts",
                             json={"platform": "facebook", "space": PAGE, "text": f"Avis {n}"},
                             timeout=10).json()["id"]
        post_comment(sandbox.url, PAGE, f"Merci pour l'avis numéro {n}", post=post)
    outcome = pipeline.poll_space(enforce_runtime, "page")
    assert outcome.ok and outcome.new_comments == 230


def test_a_busy_instagram_account_loses_no_comment(sandbox, tmp_path: Path,
                                                    database_url: str) -> None:
    """More media with new comments than a listing page holds: one poll reads every comment."""
    import datetime as dt

    account = "17841400000000230"
    sandbox.state.ensure_space("instagram", account, "École secondaire")
    now = sandbox.state.now()
    media = [sandbox.state.add_post("instagram", account, f"Photo {n}",
                                    created_time=now - dt.timedelta(minutes=300 - n))
             for n in range(230)]
    config = make_config(tmp_path, [space_toml("ig", sandbox.url, platform="instagram",
                                               platform_id=account)], database_url=database_url)
    runtime = make_runtime(config)
    try:
        assert pipeline.poll_space(runtime, "ig").ok  # sets the cursor
        for n, item in enumerate(media):
            post_comment(sandbox.url, account, f"Merci pour la photo {n}", platform="instagram",
                         post=item.id)
        outcome = pipeline.poll_space(runtime, "ig", force=True)
        assert outcome.ok and outcome.new_comments == 230
    finally:
        runtime.close()


def test_a_busy_youtube_channel_loses_no_comment_across_capped_polls(
    sandbox, tmp_path: Path, database_url: str,
) -> None:
    """More new threads than max_pages pages hold: each capped poll stores what it read and the
    next ones read on from there; every comment is stored once."""
    channel = "UCcssdelajonquiere00230"
    sandbox.state.ensure_space("youtube", channel, "CSS De La Jonquière")
    config = make_config(tmp_path, [space_toml(
        "yt", sandbox.url, platform="youtube", platform_id=channel,
        extra="options = { page_size = 50, max_pages = 2 }")], database_url=database_url)
    runtime = make_runtime(config)
    try:
        assert pipeline.poll_space(runtime, "yt").ok  # sets the cursor
        posted = {post_comment(sandbox.url, channel, f"Bravo pour la vidéo {n}",
                               platform="youtube") for n in range(230)}
        found = []
        for _poll in range(10):
            outcome = pipeline.poll_space(runtime, "yt", force=True)
            assert outcome.ok
            found.append(outcome.new_comments)
            if sum(found) == len(posted):
                break
        assert found[0] == 100  # two pages of 50, then the poll stopped
        assert sum(found) == 230 and len(found) <= 5
        with runtime.store.session() as session:
            stored = session.exec(select(Comment).where(Comment.space_id == "yt")).all()
        assert {c.platform_id for c in stored} == posted
    finally:
        runtime.close()


def test_repetition_is_seen_in_a_backlog_longer_than_the_window(sandbox, enforce_runtime) -> None:
    """A first poll (or a poll after downtime) judges days of comments in one batch: a copy is
    compared with what came before it, not only with the last days of the batch."""
    import datetime as dt

    now = sandbox.state.now()
    start = now - dt.timedelta(days=6)
    campaign = ("Le centre de services cache la vraie raison des coupures de circuits aux "
                "parents, partagez avant que ça disparaisse!")
    first = post_comment(sandbox.url, PAGE, campaign, author_name="Marie Gagnon",
                         author_id="r-1", created_time=start.isoformat())
    copy = post_comment(sandbox.url, PAGE, campaign, author_name="Citoyen Inquiet",
                        author_id="r-2",
                        created_time=(start + dt.timedelta(minutes=3)).isoformat())
    post_comment(sandbox.url, PAGE, "Merci pour le calendrier!", author_name="Luc Roy",
                 author_id="r-3", created_time=(now - dt.timedelta(minutes=5)).isoformat())
    assert pipeline.poll_space(enforce_runtime, "page").ok
    with enforce_runtime.store.session() as session:
        decisions = {
            c.platform_id: v.decision
            for c, v in session.exec(select(Comment, Verdict).where(Verdict.comment_id == Comment.id))
        }
    assert decisions[first] == "allow"  # the first post stays up: the message is not hidden
    assert decisions[copy] == "hide"  # a pseudonymous account's copy of it is flooding
    assert remote(sandbox.url, copy)["hidden"] and not remote(sandbox.url, first)["hidden"]


def _batch_hide_calls(url: str) -> list[int]:
    """The size of each batch request of hides the sandbox's Graph received."""
    sizes = []
    for call in calls(url, platform="facebook"):
        if call["method"] == "POST" and "batch" in call["query"]:
            items = json.loads(call["query"]["batch"])
            if any("is_hidden=true" in str(item.get("body")) for item in items):
                sizes.append(len(items))
    return sizes


def test_a_cycles_hides_go_in_one_batch_request(sandbox, enforce_runtime) -> None:
    insults = [post_comment(sandbox.url, PAGE, f"{INSULT} ({n})", author_name=f"Troll {n}")
               for n in range(5)]
    thanks = post_comment(sandbox.url, PAGE, THANKS)
    outcome = pipeline.poll_space(enforce_runtime, "page")
    assert outcome.ok and all(remote(sandbox.url, cid)["hidden"] for cid in insults)
    assert remote(sandbox.url, thanks)["hidden"] is False
    assert _batch_hide_calls(sandbox.url) == [5]
    with enforce_runtime.store.session() as session:
        assert {a.state for a in session.exec(select(Action))} == {"done"}


def test_one_refused_hide_in_a_batch_leaves_the_others_done(sandbox, enforce_runtime) -> None:
    runtime = enforce_runtime
    gone, kept = (post_comment(sandbox.url, PAGE, f"{INSULT} ({n})") for n in range(2))
    pipeline.store_fetched(runtime, "page", runtime.connector("page").fetch({}))
    pipeline.classify_pending(runtime, "page")
    runtime.connector("page").delete(gone)  # deleted on the platform before the hide
    assert pipeline.run_actions(runtime, "page") == 1
    assert remote(sandbox.url, kept)["hidden"] is True
    with runtime.store.session() as session:
        states = {c.platform_id: a.state for a, c in session.exec(
            select(Action, Comment).join(Comment, col(Comment.id) == Action.comment_id))}
        errors = [a.last_error for a in session.exec(select(Action)) if a.state == "refused"]
    assert states == {gone: "refused", kept: "done"}
    assert errors and "100" in errors[0]


def test_actions_are_carried_out_in_the_order_they_were_asked(sandbox, enforce_runtime) -> None:
    """Consecutive actions of one kind go together, in order: the system's hide, then an
    administrator's restore, then the same administrator hiding it again, leave it hidden."""
    runtime = enforce_runtime
    insult = post_comment(sandbox.url, PAGE, INSULT)
    other = post_comment(sandbox.url, PAGE, f"{INSULT} (bis)")
    pipeline.store_fetched(runtime, "page", runtime.connector("page").fetch({}))
    pipeline.classify_pending(runtime, "page")
    with runtime.store.session() as session:
        row = session.exec(select(Comment).where(Comment.platform_id == insult)).one()
        session.add(Action(comment_id=row.id, kind="unhide", requested_by="admin"))
    with runtime.store.session() as session:
        session.add(Action(comment_id=row.id, kind="hide", requested_by="admin"))
    assert pipeline.run_actions(runtime, "page") == 4
    assert remote(sandbox.url, insult)["hidden"] is True
    assert remote(sandbox.url, other)["hidden"] is True
    assert _batch_hide_calls(sandbox.url) == [2, 1]


def test_a_rate_limit_on_the_batch_puts_every_hide_back(sandbox, enforce_runtime) -> None:
    runtime = enforce_runtime
    insults = [post_comment(sandbox.url, PAGE, f"{INSULT} ({n})") for n in range(3)]
    pipeline.store_fetched(runtime, "page", runtime.connector("page").fetch({}))
    pipeline.classify_pending(runtime, "page")
    fault(sandbox.url, platform="facebook", space=PAGE, kind="error", code=32, count=1)
    assert pipeline.run_actions(runtime, "page") == 0
    with runtime.store.session() as session:
        actions = session.exec(select(Action)).all()
    assert len(actions) == 3 and {a.state for a in actions} == {"requested"}
    assert all(a.next_attempt_at is not None and a.last_error for a in actions)
    assert not any(remote(sandbox.url, cid)["hidden"] for cid in insults)
