"""The X connector end to end: real tweepy over real HTTP against the sandbox's X API v2."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import requests

from connectors import registry
from connectors.errors import AuthError, BadPayload, RateLimited, Refused, Unreachable
from connectors.sandbox.server import SandboxServer
from connectors.x import SEARCH_QUERY_MAX, XConnector, conversation_queries
from watcher.config import SpaceConfig

SPACE = "1111"


@pytest.fixture(autouse=True)
def _quiet_werkzeug() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def oauth1(user: str = SPACE) -> dict[str, str]:
    return {"consumer_key": "ck", "consumer_secret": "cs", "access_token": f"{user}-tok",
            "access_token_secret": "ats"}


def make(sandbox: SandboxServer, secrets: dict[str, str] | None = None, timeout: float = 5,
         **options: object) -> XConnector:
    connector = registry.get("x")(
        platform_id=SPACE, secrets=secrets or oauth1(),
        options=registry.get("x").Options.model_validate(options),
        api_base_url=sandbox.url, timeout=timeout,
    )
    assert isinstance(connector, XConnector)
    connector.now = sandbox.state.now  # one clock for both sides
    return connector


@pytest.fixture
def space(sandbox: SandboxServer) -> SandboxServer:
    account = sandbox.state.ensure_space("x", SPACE, "CSS De La Jonquière")
    account.username = "cssjonquiere"
    sandbox.state.add_post("x", SPACE, "Bonne rentrée à tous!")
    return sandbox


def post_reply(sandbox: SandboxServer, text: str, **extra: object) -> str:
    response = requests.post(f"{sandbox.url}/_sandbox/comments",
                             json={"platform": "x", "space": SPACE, "text": text, **extra},
                             timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def calls(sandbox: SandboxServer) -> dict:
    return requests.get(f"{sandbox.url}/_sandbox/calls", params={"platform": "x"}, timeout=5).json()


def test_fetch_incrementally_with_paging(space: SandboxServer) -> None:
    ids = [post_reply(space, f"réponse {i}", author_name=f"Personne {i}") for i in range(25)]
    connector = make(space, max_results=10)
    first = connector.fetch({})
    assert [c.platform_id for c in first.comments] == ids
    assert first.calls == 4  # 1 timeline + 3 search pages of 10
    assert first.cursor["replies_since_id"] == ids[-1]
    assert first.posts and first.cursor["conversations"] == first.posts[0].platform_id
    comment = first.comments[0]
    assert comment.post_id == first.posts[0].platform_id and comment.parent_id is None
    assert comment.author_name == "Personne 0"
    assert comment.author_meta["username"] == "personne0"
    assert comment.permalink == f"https://x.com/personne0/status/{comment.platform_id}"
    assert comment.created_time.tzinfo is not None

    second = connector.fetch(first.cursor)
    assert second.comments == [] and second.calls == 2  # nothing re-read
    searches = [c for c in calls(space)["data"] if c["path"] == "/2/tweets/search/recent"]
    assert searches[-1]["query"]["since_id"] == ids[-1]

    nested = post_reply(space, "réponse à une réponse", parent=ids[3], author_name="Autre")
    third = connector.fetch(second.cursor)
    assert [c.platform_id for c in third.comments] == [nested]
    assert third.comments[0].parent_id == ids[3]
    assert calls(space)["over_limit"] == 0


def test_new_posts_are_searched_from_their_start(space: SandboxServer) -> None:
    connector = make(space)
    cursor = connector.fetch({}).cursor
    later = space.state.add_post("x", SPACE, "Deuxième publication")
    reply = space.state.add_comment("x", SPACE, "sur la nouvelle", post_id=later.id)
    result = connector.fetch(cursor)
    assert [c.platform_id for c in result.comments] == [reply.id]
    assert set(result.cursor["conversations"].split(",")) == {later.id, cursor["conversations"]}


def test_owner_replies_are_marked(space: SandboxServer) -> None:
    reply_id = post_reply(space, "Merci de votre message", by_owner=True)
    comment = make(space).fetch({}).comments[0]
    assert comment.platform_id == reply_id and comment.by_owner
    with pytest.raises(Refused):
        make(space).hide(reply_id)


def test_hide_and_unhide_show_in_the_sandbox(space: SandboxServer) -> None:
    reply_id = post_reply(space, "Vous êtes des incompétents")
    connector = make(space)
    connector.fetch({})
    connector.hide(reply_id)
    seen = requests.get(f"{space.url}/_sandbox/comments/{reply_id}", timeout=5).json()
    assert seen["hidden"] is True
    connector.unhide(reply_id)
    seen = requests.get(f"{space.url}/_sandbox/comments/{reply_id}", timeout=5).json()
    assert seen["hidden"] is False
    puts = [c for c in calls(space)["data"] if c["method"] == "PUT"]
    assert [c["status"] for c in puts] == [200, 200]


def test_hide_after_restart_looks_the_reply_up(space: SandboxServer) -> None:
    reply_id = post_reply(space, "Réponse")
    make(space).hide(reply_id)  # a fresh connector: nothing fetched yet
    assert space.state.comment(reply_id).hidden


def test_replies_in_others_conversations_are_refused_before_calling(
    space: SandboxServer,
) -> None:
    other_post = space.state.add_post("x", "2222", "Publication d’un autre compte")
    foreign = space.state.add_comment("x", "2222", "réponse ailleurs", post_id=other_post.id)
    connector = make(space)
    with pytest.raises(Refused):
        connector.hide(foreign.id)
    with pytest.raises(Refused):
        connector.hide(other_post.id)
    assert not any(c["method"] == "PUT" for c in calls(space)["data"])
    assert not foreign.hidden


def test_delete_is_impossible(space: SandboxServer) -> None:
    assert XConnector.can_delete is False
    with pytest.raises(Refused):
        make(space).delete(post_reply(space, "x"))


def test_hide_limit_is_kept_without_calling_past_it(space: SandboxServer) -> None:
    replies = [space.state.add_comment("x", SPACE, f"r{i}").id for i in range(55)]
    connector = make(space)
    connector.fetch({})
    hidden = 0
    with pytest.raises(RateLimited) as raised:
        for reply in replies:
            connector.hide(reply)
            hidden += 1
    assert hidden == 50
    start = space.state.now()
    assert raised.value.retry_at is not None
    assert dt.timedelta(minutes=14) < raised.value.retry_at - start <= dt.timedelta(minutes=15)
    assert calls(space)["over_limit"] == 0
    space.state.advance(15 * 60 + 1)
    connector.hide(replies[50])  # a new window
    assert space.state.comment(replies[50]).hidden
    assert calls(space)["over_limit"] == 0


def test_sandbox_answers_429_past_the_hide_limit_and_counts_it(space: SandboxServer) -> None:
    replies = [space.state.add_comment("x", SPACE, f"r{i}").id for i in range(51)]
    statuses = []
    for reply in replies:
        response = requests.put(f"{space.url}/2/tweets/{reply}/hidden", json={"hidden": True},
                                headers={"Authorization": f'OAuth oauth_token="{SPACE}-tok"'},
                                timeout=5)
        statuses.append(response.status_code)
    assert statuses[:50] == [200] * 50 and statuses[50] == 429
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert calls(space)["over_limit"] == 1
    # The connector, told by that 429's headers, does not try again before the reset.
    connector = make(space)
    connector._on_response(response)
    with pytest.raises(RateLimited):
        connector.hide(replies[0])
    assert calls(space)["over_limit"] == 1


def test_usage_comes_from_the_rate_limit_headers(space: SandboxServer) -> None:
    post_reply(space, "x")
    result = make(space).fetch({})
    assert result.usage is not None
    assert result.usage.detail["search"] == {
        "limit": 300, "remaining": 299, "reset": result.usage.detail["search"]["reset"]}
    assert result.usage.ratio == pytest.approx(1 / 300)


@pytest.mark.parametrize(
    ("kind", "code", "expected"),
    [
        ("http500", None, Unreachable),
        ("timeout", None, Unreachable),
        ("error", 401, AuthError),
        ("error", 403, AuthError),
        ("error", 429, RateLimited),
        ("error", 503, Unreachable),
    ],
)
def test_faults_are_mapped(space: SandboxServer, kind: str, code: int | None,
                           expected: type[Exception]) -> None:
    connector = make(space, timeout=0.5)
    requests.post(f"{space.url}/_sandbox/faults",
                  json={"platform": "x", "kind": kind, "code": code, "space": SPACE,
                        "delay": 1.5}, timeout=5)
    with pytest.raises(expected) as raised:
        connector.fetch({})
    if expected is RateLimited:
        assert raised.value.retry_at is not None and raised.value.retry_at > space.state.now()
        with pytest.raises(RateLimited):
            connector.fetch({})  # told to wait: no call before the reset
        assert calls(space)["data"][-1]["status"] == 429
        space.state.advance((raised.value.retry_at - space.state.now()).total_seconds() + 1)
    assert all(secret not in str(raised.value) for secret in oauth1().values())
    connector.fetch({})  # the fault was for one call: the next poll works


def test_oauth2_user_token(space: SandboxServer) -> None:
    requests.post(f"{space.url}/_sandbox/spaces",
                  json={"platform": "x", "id": SPACE, "token": "oauth2-user-token"}, timeout=5)
    reply_id = post_reply(space, "Réponse")
    connector = make(space, secrets={"user_token": "oauth2-user-token"})
    assert connector.check().ok
    connector.fetch({})
    connector.hide(reply_id)
    assert space.state.comment(reply_id).hidden
    # An app-only token cannot moderate: X answers 403 unsupported-authentication.
    app_only = make(space, secrets={"user_token": "not-a-user-token"})
    with pytest.raises(AuthError):
        app_only.hide(reply_id)
    assert not app_only.check().ok


def test_check_names_the_wrong_account(space: SandboxServer) -> None:
    result = make(space, secrets=oauth1("3333")).check()
    assert not result.ok and "3333" in result.message


def test_old_cursor_is_not_sent_to_recent_search(space: SandboxServer) -> None:
    connector = make(space)
    cursor = connector.fetch({}).cursor
    reply_id = post_reply(space, "après une longue panne")
    space.state.advance(8 * 86400)
    space.state.add_post("x", SPACE, "nouvelle publication")
    late = post_reply(space, "récente")
    result = connector.fetch(cursor)  # since_id older than 7 days would be a 400
    assert [c.platform_id for c in result.comments] == [late]
    assert reply_id not in [c.platform_id for c in result.comments]


def test_queries_stay_within_the_search_length() -> None:
    conversations = [str(1_800_000_000_000_000_000 + i) for i in range(40)]
    queries = conversation_queries(conversations)
    assert len(queries) > 1
    assert all(len(q) <= SEARCH_QUERY_MAX for q in queries)
    assert sorted(c for q in queries for c in conversations if f":{c}" in q) == conversations


def test_bad_payload_is_refused_cleanly() -> None:
    connector = XConnector(platform_id=SPACE, secrets=oauth1(), api_base_url="http://127.0.0.1:9")
    with pytest.raises(BadPayload):
        connector.parse_replies({"data": [{"id": "1"}]})
    with pytest.raises(BadPayload):
        connector.parse_replies({"data": "nonsense"})
    with pytest.raises(Unreachable):
        connector.fetch({})  # nothing listens on port 9


def space_config(secrets: dict[str, str]) -> SpaceConfig:
    return SpaceConfig.model_validate({
        "id": "x-css", "platform": "x", "platform_id": SPACE, "name": "X", "owner": "CSS",
        "contacts": ["com@example.org"], "approval_ref": "A-1", "approval_date": "2025-01-01",
        "administrators": ["admin"], "secrets": secrets,
    })


def test_secrets_validation_says_what_is_missing() -> None:
    full = {k: f"env:X_{k.upper()}" for k in oauth1()}
    assert registry.validate_space(space_config(full)) == []
    assert registry.validate_space(space_config({"user_token": "env:X_TOKEN"})) == []
    partial = registry.validate_space(space_config({"consumer_key": "env:CK"}))
    assert sorted(p.split(":")[0] for p in partial) == [
        "secrets.access_token", "secrets.access_token_secret", "secrets.consumer_secret"]
    nothing = registry.validate_space(space_config({}))
    assert len(nothing) == 1 and "user_token" in nothing[0] and "consumer_key" in nothing[0]
    with pytest.raises(AuthError):
        XConnector(platform_id=SPACE, secrets={"consumer_key": "ck"})


def test_a_poll_cut_short_does_not_skip_the_older_replies(space: SandboxServer) -> None:
    connector = make(space, max_results=10, max_pages=2)
    first = connector.fetch({})
    ids = [post_reply(space, f"r{i}") for i in range(45)]
    second = connector.fetch(first.cursor)  # the newest 20 (pages come newest first)
    assert [c.platform_id for c in second.comments] == ids[25:]
    assert second.cursor["replies_until_id"] == ids[25]
    newer = post_reply(space, "arrivée pendant le rattrapage")
    third = connector.fetch(second.cursor)  # the next 20 below, still not all
    assert [c.platform_id for c in third.comments] == ids[5:25]
    fourth = connector.fetch(third.cursor)  # the last 5: the backlog is read
    assert [c.platform_id for c in fourth.comments] == ids[:5]
    assert "replies_until_id" not in fourth.cursor
    fifth = connector.fetch(fourth.cursor)  # then what came meanwhile, once
    assert [c.platform_id for c in fifth.comments] == [newer]
    assert connector.fetch(fifth.cursor).comments == []
