"""The YouTube connector end to end: requests over real HTTP against the sandbox's Data API v3."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import re

import pytest
import requests
from pydantic import ValidationError

import connectors.youtube as youtube
from connectors import registry
from connectors.errors import AuthError, RateLimited, Refused, Unreachable
from connectors.sandbox.server import SandboxServer
from connectors.youtube import (
    SAFE_STATUSES,
    YouTubeConnector,
    moderation_status_param,
    next_quota_reset,
)

CHANNEL = "UCcssdelajonquiere00000"


@pytest.fixture(autouse=True)
def _quiet_werkzeug() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def make(sandbox: SandboxServer, timeout: float = 5, token: str | None = None,
         **options: object) -> YouTubeConnector:
    connector = registry.get("youtube")(
        platform_id=CHANNEL, secrets={"access_token": token or f"ya29.{CHANNEL}"},
        options=registry.get("youtube").Options.model_validate(options),
        api_base_url=sandbox.url, timeout=timeout,
    )
    assert isinstance(connector, YouTubeConnector)
    connector.now = sandbox.state.now
    return connector


@pytest.fixture
def channel(sandbox: SandboxServer) -> SandboxServer:
    sandbox.state.ensure_space("youtube", CHANNEL, "CSS De La Jonquière")
    sandbox.state.add_post("youtube", CHANNEL, "Spectacle de fin d’année")
    return sandbox


def post_comment(sandbox: SandboxServer, text: str, **extra: object) -> str:
    response = requests.post(f"{sandbox.url}/_sandbox/comments",
                             json={"platform": "youtube", "space": CHANNEL, "text": text, **extra},
                             timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def calls(sandbox: SandboxServer) -> dict:
    return requests.get(f"{sandbox.url}/_sandbox/calls", params={"platform": "youtube"},
                        timeout=5).json()


def later(sandbox: SandboxServer, seconds: float = 2) -> None:
    sandbox.state.advance(seconds)  # YouTube's timestamps have whole seconds


def test_fetch_pages_until_the_last_seen_comment(channel: SandboxServer) -> None:
    tops = [post_comment(channel, f"commentaire {i}", author_name=f"A{i}") for i in range(120)]
    connector = make(channel, page_size=50)
    first = connector.fetch({})
    assert {c.platform_id for c in first.comments} == set(tops)
    assert first.calls == 3  # 50 + 50 + 20
    assert first.posts and first.comments[0].post_id == first.posts[0].platform_id
    assert first.comments[0].author_meta["display_name"].startswith("@")

    later(channel)
    fresh = post_comment(channel, "nouveau")
    second = connector.fetch(first.cursor)
    assert [c.platform_id for c in second.comments] == [fresh]
    assert second.calls == 1  # the first page already reaches what was seen
    third = connector.fetch(second.cursor)
    assert third.comments == [] and third.calls == 1
    assert calls(channel)["over_limit"] == 0
    queries = [c["query"] for c in calls(channel)["data"] if c["path"].endswith("commentThreads")]
    assert all(q["order"] == "time" and q["part"] == "snippet,replies"
               and q["allThreadsRelatedToChannelId"] == CHANNEL for q in queries)


def test_replies_beyond_those_included_are_read_once(channel: SandboxServer) -> None:
    top = post_comment(channel, "question")
    replies = [post_comment(channel, f"réponse {i}", parent=top) for i in range(8)]
    connector = make(channel)
    first = connector.fetch({})
    assert {c.platform_id for c in first.comments} == {top, *replies}
    assert all(c.parent_id == top for c in first.comments if c.platform_id != top)
    assert first.calls == 2  # the thread page, then comments.list?parentId= for all 8
    second = connector.fetch(first.cursor)
    assert second.calls == 1  # the count did not change: the replies are not read again
    later(channel)
    ninth = post_comment(channel, "réponse 9", parent=top)
    third = connector.fetch(second.cursor)
    assert [c.platform_id for c in third.comments] == [ninth]
    assert third.calls == 2


def test_a_busy_channel_loses_no_comment(channel: SandboxServer) -> None:
    """A thousand new threads on a thousand videos: one poll reads them all, one unit a page."""
    old = [post_comment(channel, f"ancien {i}") for i in range(30)]
    connector = make(channel)
    cursor = connector.fetch({}).cursor
    later(channel)
    posted = set()
    for i in range(1000):
        video = channel.state.add_post("youtube", CHANNEL, f"Vidéo {i}")
        posted.add(channel.state.add_comment("youtube", CHANNEL, f"Bravo {i}",
                                             post_id=video.id).id)
    used = connector.quota.used
    result = connector.fetch(cursor)
    assert {c.platform_id for c in result.comments} == posted
    assert not set(old) & {c.platform_id for c in result.comments}
    # 10 pages of new threads, the 11th reaches the threads already seen.
    assert result.calls == connector.quota.used - used == 11
    assert "walk_page" not in result.cursor
    assert connector.fetch(result.cursor).comments == []


@pytest.mark.parametrize(("seconds_apart", "hide", "arrive"), [
    (1, 5, 12),  # the list moves down under the saved token (more new threads than held)
    (1, 15, 0),  # it moves up by more than a page: the poll starts over from the newest
    (0, 5, 12),  # every comment in the same second (ties broken by id)
])
def test_a_capped_poll_resumes_without_loss_or_duplicates(
    channel: SandboxServer, caplog: pytest.LogCaptureFixture,
    seconds_apart: int, hide: int, arrive: int,
) -> None:
    """More new threads than max_pages pages: each poll reads on from where the last stopped,
    while threads it gave are held for review (they leave the list above the saved page) and new
    threads arrive at the top; every comment is given exactly once."""
    connector = make(channel, page_size=10, max_pages=3)
    cursor = connector.fetch({}).cursor
    later(channel)
    posted = []
    for i in range(95):
        posted.append(post_comment(channel, f"fil {i}"))
        channel.state.advance(seconds_apart)
    replies = [post_comment(channel, f"réponse {i}", parent=posted[i]) for i in (3, 50, 90)]
    given: list[str] = []
    polls = 0
    with caplog.at_level("WARNING", logger="connectors.youtube"):
        while True:
            used = connector.quota.used
            result = connector.fetch(cursor)
            polls += 1
            # At most max_pages thread pages, plus a replies read for a thread that grew.
            assert connector.quota.used - used <= 3 + 1
            given.extend(c.platform_id for c in result.comments)
            cursor = result.cursor
            if polls == 1:
                assert "walk_page" in cursor and len(given) <= 30 + len(replies)
                for comment_id in [c for c in given if c in posted][-hide:]:
                    connector.hide(comment_id)
                later(channel)
                posted += [post_comment(channel, f"nouveau {i}") for i in range(arrive)]
            if "walk_page" not in cursor:
                break
            assert polls < 40
    assert "max_pages" in caplog.text
    if hide > 10:
        assert "moved under the page token" in caplog.text
    assert len(given) == len(set(given))  # nothing twice
    assert set(posted[:95]) | set(replies) <= set(given)  # the whole backlog
    # The threads posted while the backlog was read come with the next walk at the latest.
    rest = connector.fetch(cursor)
    given.extend(c.platform_id for c in rest.comments)
    while "walk_page" in rest.cursor:
        rest = connector.fetch(rest.cursor)
        given.extend(c.platform_id for c in rest.comments)
    assert len(given) == len(set(given))
    assert set(given) == set(posted) | set(replies)
    later(channel)
    late = post_comment(channel, "encore un")
    assert [c.platform_id for c in connector.fetch(rest.cursor).comments] == [late]
    assert calls(channel)["over_limit"] == 0


def test_a_refused_page_token_starts_over_without_loss(channel: SandboxServer) -> None:
    connector = make(channel, page_size=10, max_pages=2)
    cursor = connector.fetch({}).cursor
    posted = [post_comment(channel, f"fil {i}") for i in range(35)]
    first = connector.fetch(cursor)
    assert len(first.comments) == 20 and "walk_page" in first.cursor
    damaged = {**first.cursor, "walk_page": "not-a-token"}
    given = [c.platform_id for c in first.comments]
    cursor = damaged
    for _poll in range(10):
        result = connector.fetch(cursor)
        given.extend(c.platform_id for c in result.comments)
        cursor = result.cursor
        if "walk_page" not in cursor:
            break
    assert sorted(given) == sorted(posted)


def test_hide_and_restore_show_in_the_sandbox(channel: SandboxServer) -> None:
    comment_id = post_comment(channel, "Quelle bande d’incompétents")
    connector = make(channel)
    connector.fetch({})
    connector.hide(comment_id)
    seen = requests.get(f"{channel.url}/_sandbox/comments/{comment_id}", timeout=5).json()
    assert seen["moderation_status"] == "heldForReview" and seen["hidden"] is True
    assert connector.state(comment_id) == "hidden"
    assert connector.fetch({}).comments == []  # a held comment leaves the public listing
    connector.unhide(comment_id)
    seen = requests.get(f"{channel.url}/_sandbox/comments/{comment_id}", timeout=5).json()
    assert seen["moderation_status"] == "published" and seen["hidden"] is False
    assert connector.state(comment_id) == "visible"


def test_rejected_is_never_sent(channel: SandboxServer) -> None:
    comment_id = post_comment(channel, "texte")
    connector = make(channel)
    for status in ("rejected", "likelySpam", "", "REJECTED"):
        with pytest.raises(Refused):
            moderation_status_param(status)
        with pytest.raises(Refused):
            connector._set_moderation_status(comment_id, status)
    assert SAFE_STATUSES == {"heldForReview", "published"}
    connector.hide(comment_id)
    connector.unhide(comment_id)
    with pytest.raises(Refused):
        connector.delete(comment_id)
    sent = [c["query"] for c in calls(channel)["data"] if "setModerationStatus" in c["path"]]
    assert [q["moderationStatus"] for q in sent] == ["heldForReview", "published"]
    assert not any("banAuthor" in q for q in sent)
    assert channel.state.comment(comment_id).moderation_status == "published"
    # The word appears in the module only inside the guard's explanation, never as a value sent.
    source = inspect.getsource(youtube)
    assert not re.search(r"""moderationStatus["']?\s*[:=]\s*["']rejected""", source)


def test_sandbox_keeps_rejected_irreversible(channel: SandboxServer) -> None:
    comment_id = post_comment(channel, "texte")
    headers = {"Authorization": f"Bearer ya29.{CHANNEL}"}
    url = f"{channel.url}/youtube/v3/comments/setModerationStatus"
    assert requests.post(url, params={"id": comment_id, "moderationStatus": "rejected"},
                         headers=headers, timeout=5).status_code == 204
    again = requests.post(url, params={"id": comment_id, "moderationStatus": "published"},
                          headers=headers, timeout=5)
    assert again.status_code == 400
    assert again.json()["error"]["errors"][0]["reason"] == "processingFailure"


def test_delete_only_the_channels_own_comments(channel: SandboxServer) -> None:
    own = post_comment(channel, "Merci à tous!", by_owner=True)
    other = post_comment(channel, "commentaire d’un parent")
    connector = make(channel)
    fetched = {c.platform_id: c for c in connector.fetch({}).comments}
    assert fetched[own].by_owner and not fetched[other].by_owner
    with pytest.raises(Refused):
        connector.delete(other)
    with pytest.raises(Refused):
        connector.hide(own)
    assert not any(c["method"] == "DELETE" for c in calls(channel)["data"])
    connector.delete(own)
    assert channel.state.comment(own).deleted
    assert connector.state(own) == "deleted"
    assert YouTubeConnector.can_delete is False


def test_quota_budget_is_kept_without_calling_past_it(channel: SandboxServer) -> None:
    for i in range(3):
        post_comment(channel, f"c{i}")
    connector = make(channel, daily_budget=200, moderation_reserve=100, page_size=1)
    # Reads may spend 100 units; each poll here reads 3 pages (3 units) then stops.
    cursor: dict[str, str] = {}
    polls = 0
    with pytest.raises(RateLimited) as raised:
        while True:
            cursor = connector.fetch({}).cursor
            polls += 1
    # The 34th poll ran out at its 2nd page and returned what it had read (the next poll reads
    # on from there); the 35th could not start.
    assert polls == 34 and connector.quota.used == 100
    assert raised.value.retry_at == next_quota_reset(channel.state.now())
    # Hiding and restoring may still use the reserve: 100 + 50 + 50 = 200, then no more.
    target = channel.state.comments[next(iter(channel.state.comments))].id
    connector.hide(target)
    connector.unhide(target)
    assert connector.quota.used == 200
    with pytest.raises(RateLimited):
        connector.hide(target)
    assert calls(channel)["over_limit"] == 0
    # A restarted connector remembers the day's spending from the cursor.
    cursor = {**cursor, "quota_used": "199"}
    restarted = make(channel, daily_budget=200, moderation_reserve=100)
    with pytest.raises(RateLimited):
        restarted.fetch(cursor)
    # After midnight Pacific, the budget is whole again.
    channel.state.advance((raised.value.retry_at - channel.state.now()).total_seconds() + 1)
    assert restarted.fetch(cursor).calls >= 1


def test_usage_reports_the_share_of_the_budget(channel: SandboxServer) -> None:
    post_comment(channel, "c")
    result = make(channel, daily_budget=1000).fetch({})
    assert result.usage is not None
    assert result.usage.ratio == pytest.approx(1 / 1000)
    assert result.usage.reset_at == next_quota_reset(channel.state.now())


@pytest.mark.parametrize(
    ("kind", "code", "expected"),
    [
        ("http500", None, Unreachable),
        ("timeout", None, Unreachable),
        ("error", "quotaExceeded", RateLimited),
        ("error", "rateLimitExceeded", RateLimited),
        ("error", "authError", AuthError),
        ("error", "backendError", Unreachable),
    ],
)
def test_faults_are_mapped(channel: SandboxServer, kind: str, code: str | None,
                           expected: type[Exception]) -> None:
    connector = make(channel, timeout=0.5)
    requests.post(f"{channel.url}/_sandbox/faults",
                  json={"platform": "youtube", "kind": kind, "code": code, "space": CHANNEL,
                        "delay": 1.5}, timeout=5)
    with pytest.raises(expected) as raised:
        connector.fetch({})
    if code == "quotaExceeded":
        assert raised.value.retry_at == next_quota_reset(channel.state.now())
        with pytest.raises(RateLimited):
            connector.fetch({})  # the project's quota is spent: no more calls today
    assert CHANNEL not in str(raised.value) or expected is not AuthError
    assert f"ya29.{CHANNEL}" not in str(raised.value)


def test_real_quota_exhaustion_is_mapped(channel: SandboxServer) -> None:
    requests.post(f"{channel.url}/_sandbox/youtube/quota", json={"limit": 10, "used": 10, "channel": CHANNEL},
                  timeout=5)
    with pytest.raises(RateLimited) as raised:
        make(channel).fetch({})
    assert raised.value.code == "quotaExceeded"
    body = [c for c in calls(channel)["data"]][-1]
    assert body["status"] == 403 and body["over_limit"] is True


def test_wrong_token_and_wrong_channel(channel: SandboxServer) -> None:
    requests.post(f"{channel.url}/_sandbox/spaces",
                  json={"platform": "youtube", "id": CHANNEL, "token": "ya29.good"}, timeout=5)
    assert make(channel, token="ya29.good").check().ok
    assert not make(channel, token="ya29.revoked").check().ok
    with pytest.raises(AuthError):
        make(channel, token="ya29.revoked").fetch({})
    channel.state.ensure_space("youtube", "UCautrechaine0000000000", "Autre")
    result = make(channel, token="ya29.UCautrechaine0000000000").check()
    assert not result.ok and "UCautrechaine0000000000" in result.message


def test_options_are_checked() -> None:
    with pytest.raises(ValidationError):
        YouTubeConnector.Options.model_validate({"daily_budget": 500, "moderation_reserve": 500})
    with pytest.raises(ValidationError):
        YouTubeConnector.Options.model_validate({"budget": 500})
    with pytest.raises(ValidationError):  # a resumed poll needs two pages to move on
        YouTubeConnector.Options.model_validate({"max_pages": 1})
    # The defaults that README.md, docs/platforms.md and config/vigie.toml give.
    defaults = YouTubeConnector.Options.model_validate({})
    assert (defaults.max_pages, defaults.page_size, defaults.lookback_days,
            defaults.daily_budget) == (20, 100, 30, 10_000)


def test_quota_resets_at_midnight_pacific() -> None:
    winter = dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.UTC)  # 12:00 PST
    assert next_quota_reset(winter) == dt.datetime(2026, 1, 16, 8, 0, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 15, 6, 59, tzinfo=dt.UTC)  # 23:59 PDT
    assert next_quota_reset(summer) == dt.datetime(2026, 7, 15, 7, 0, tzinfo=dt.UTC)
    spring = dt.datetime(2026, 3, 8, 9, 0, tzinfo=dt.UTC)  # the day clocks move forward
    assert next_quota_reset(spring) == dt.datetime(2026, 3, 9, 7, 0, tzinfo=dt.UTC)


def test_refresh_token_obtains_and_renews_access_tokens(channel: SandboxServer) -> None:
    secrets = {"client_id": "cid.apps.googleusercontent.com", "client_secret": "csecret",
               "refresh_token": f"1//{CHANNEL}"}
    connector = YouTubeConnector(platform_id=CHANNEL, secrets=secrets, api_base_url=channel.url,
                                 timeout=5)
    connector.now = channel.state.now
    comment_id = post_comment(channel, "texte")
    result = connector.check()
    assert result.ok and result.token_expires_at is not None
    assert dt.timedelta(minutes=59) < result.token_expires_at - channel.state.now() \
        <= dt.timedelta(hours=1)
    connector.hide(comment_id)
    token_calls = [c for c in calls(channel)["data"] if c["path"] == "/token"]
    assert len(token_calls) == 1  # one token for both calls
    assert token_calls[0]["query"]["grant_type"] == "refresh_token"
    assert {"client_secret", "refresh_token"}.isdisjoint(token_calls[0]["query"])  # not logged
    channel.state.advance(3600)
    connector.unhide(comment_id)
    assert len([c for c in calls(channel)["data"] if c["path"] == "/token"]) == 2
    # A token revoked early: one renewal, then the call is made again.
    requests.post(f"{channel.url}/_sandbox/spaces",
                  json={"platform": "youtube", "id": CHANNEL, "token": "ya29.rotated"}, timeout=5)
    assert connector.fetch({}).comments
    assert len([c for c in calls(channel)["data"] if c["path"] == "/token"]) == 3


def test_refused_refresh_token_is_an_auth_error(channel: SandboxServer) -> None:
    connector = YouTubeConnector(
        platform_id=CHANNEL, api_base_url=channel.url, timeout=5,
        secrets={"client_id": "cid", "client_secret": "cs", "refresh_token": "1//revoked"})
    with pytest.raises(AuthError) as raised:
        connector.fetch({})
    assert "invalid_grant" in str(raised.value) and "cs" not in str(raised.value).split()
    assert not connector.check().ok
    with pytest.raises(AuthError):
        YouTubeConnector(platform_id=CHANNEL, secrets={"client_id": "cid"})
