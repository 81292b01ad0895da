"""The sandbox's X and YouTube routes: the control API, real shapes, documented limits."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import requests

from connectors import registry
from connectors.errors import RateLimited
from connectors.sandbox.server import SandboxServer
from connectors.youtube import PACIFIC, quota_day

X_ACCOUNT = "1111"
CHANNEL = "UCcssdelajonquiere00002"


@pytest.fixture(autouse=True)
def _quiet_werkzeug() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def control(sandbox: SandboxServer, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(method, f"{sandbox.url}/_sandbox/{path}", timeout=5, **kwargs)


def test_control_api_posts_x_replies_and_youtube_threads(sandbox: SandboxServer) -> None:
    reply = control(sandbox, "POST", "comments",
                    json={"platform": "x", "space": X_ACCOUNT, "text": "Bravo!"})
    assert reply.status_code == 201
    nested = control(sandbox, "POST", "comments", json={
        "platform": "x", "space": X_ACCOUNT, "text": "D’accord", "parent": reply.json()["id"]})
    assert nested.json()["post"] == reply.json()["post"]  # same conversation
    thread = control(sandbox, "POST", "comments",
                     json={"platform": "youtube", "space": CHANNEL, "text": "Belle vidéo"})
    answer = control(sandbox, "POST", "comments", json={
        "platform": "youtube", "space": CHANNEL, "text": "Merci", "parent": thread.json()["id"]})
    assert answer.status_code == 201
    seen = control(sandbox, "GET", f"comments/{thread.json()['id']}").json()
    assert seen["moderation_status"] == "published" and seen["hidden"] is False
    listed = control(sandbox, "GET", "comments", params={"platform": "youtube"}).json()["data"]
    assert len(listed) == 2

    # The X reply is a tweet in the conversation of the account's post, with X's shapes.
    response = requests.get(
        f"{sandbox.url}/2/tweets/search/recent",
        params={"query": f"conversation_id:{reply.json()['post']}", "max_results": 10,
                "tweet.fields": "author_id,created_at,conversation_id,in_reply_to_user_id",
                "expansions": "author_id", "user.fields": "name,username"},
        headers={"Authorization": f'OAuth oauth_token="{X_ACCOUNT}-tok"'}, timeout=5)
    body = response.json()
    assert set(body) == {"data", "includes", "meta"}
    assert set(body["meta"]) == {"newest_id", "oldest_id", "result_count"}
    assert body["meta"]["result_count"] == 3  # the post and both replies
    tweet = next(t for t in body["data"] if t["id"] == reply.json()["id"])
    assert tweet["conversation_id"] == reply.json()["post"]
    assert tweet["in_reply_to_user_id"] == X_ACCOUNT
    assert tweet["created_at"].endswith("Z")
    assert {"id", "name", "username"} <= set(body["includes"]["users"][0])
    assert int(response.headers["x-rate-limit-limit"]) == 300
    assert int(response.headers["x-rate-limit-remaining"]) == 299
    # X ids carry their creation time, as real snowflakes do.
    created = dt.datetime.fromisoformat(tweet["created_at"].replace("Z", "+00:00"))
    from connectors.x import snowflake_time

    assert abs((snowflake_time(tweet["id"]) - created).total_seconds()) < 0.01


def test_x_errors_have_xs_shapes(sandbox: SandboxServer) -> None:
    sandbox.state.add_post("x", X_ACCOUNT, "post")
    unauthenticated = requests.get(f"{sandbox.url}/2/users/{X_ACCOUNT}/mentions", timeout=5)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["title"] == "Unauthorized"
    headers = {"Authorization": f'OAuth oauth_token="{X_ACCOUNT}-tok"'}
    long_query = "conversation_id:1 OR " * 40
    too_long = requests.get(f"{sandbox.url}/2/tweets/search/recent",
                            params={"query": long_query}, headers=headers, timeout=5)
    assert too_long.status_code == 400
    assert too_long.json()["type"].endswith("/invalid-request")
    missing = requests.get(f"{sandbox.url}/2/tweets/123", headers=headers, timeout=5)
    assert missing.status_code == 200
    assert missing.json()["errors"][0]["title"] == "Not Found Error"


def test_search_and_mentions_limits_are_enforced(sandbox: SandboxServer) -> None:
    post = sandbox.state.add_post("x", X_ACCOUNT, "post")
    headers = {"Authorization": f'OAuth oauth_token="{X_ACCOUNT}-tok"'}
    statuses = [
        requests.get(f"{sandbox.url}/2/users/{X_ACCOUNT}/mentions", headers=headers,
                     timeout=5).status_code
        for _ in range(301)
    ]
    assert statuses.count(200) == 300 and statuses[-1] == 429
    calls = control(sandbox, "GET", "calls", params={"platform": "x"}).json()
    assert calls["over_limit"] == 1
    # Other endpoints have their own windows.
    search = requests.get(f"{sandbox.url}/2/tweets/search/recent",
                          params={"query": f"conversation_id:{post.id}"}, headers=headers,
                          timeout=5)
    assert search.status_code == 200
    sandbox.state.advance(15 * 60)
    again = requests.get(f"{sandbox.url}/2/users/{X_ACCOUNT}/mentions", headers=headers, timeout=5)
    assert again.status_code == 200 and again.headers["x-rate-limit-remaining"] == "299"


def test_youtube_errors_and_paging(sandbox: SandboxServer) -> None:
    sandbox.state.ensure_space("youtube", CHANNEL, "Chaîne")
    for i in range(25):
        sandbox.state.add_comment("youtube", CHANNEL, f"c{i}")
    url = f"{sandbox.url}/youtube/v3/commentThreads"
    params = {"part": "snippet,replies", "allThreadsRelatedToChannelId": CHANNEL,
              "order": "time", "maxResults": 10}
    headers = {"Authorization": f"Bearer ya29.{CHANNEL}"}
    seen = []
    while True:
        body = requests.get(url, params=params, headers=headers, timeout=5).json()
        assert body["kind"] == "youtube#commentThreadListResponse"
        seen += [t["id"] for t in body["items"]]
        if "nextPageToken" not in body:
            break
        params["pageToken"] = body["nextPageToken"]
    assert len(seen) == len(set(seen)) == 25
    first = requests.get(url, params={**params, "pageToken": ""}, headers=headers,
                         timeout=5).json()["items"][0]
    snippet = first["snippet"]["topLevelComment"]["snippet"]
    assert snippet["publishedAt"].endswith("Z") and snippet["authorChannelId"]["value"]
    assert snippet["moderationStatus"] == "published"  # the owner sees it
    denied = requests.get(url, params=params, timeout=5)
    assert denied.status_code == 401
    assert denied.json()["error"]["errors"][0]["reason"] == "authError"
    bad = requests.get(url, params={**params, "maxResults": 500}, headers=headers, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 400


def test_youtube_quota_is_counted_and_enforced(sandbox: SandboxServer) -> None:
    sandbox.state.ensure_space("youtube", CHANNEL, "Chaîne")
    comment = sandbox.state.add_comment("youtube", CHANNEL, "c")
    control(sandbox, "POST", "youtube/quota", json={"limit": 101})
    headers = {"Authorization": f"Bearer ya29.{CHANNEL}"}
    moderate = f"{sandbox.url}/youtube/v3/comments/setModerationStatus"
    for status in ("heldForReview", "published"):
        response = requests.post(moderate, params={"id": comment.id, "moderationStatus": status},
                                 headers=headers, timeout=5)
        assert response.status_code == 204
    assert control(sandbox, "GET", "youtube/quota").json()["used"] == {CHANNEL: 100}
    listing = requests.get(f"{sandbox.url}/youtube/v3/channels",
                           params={"part": "id", "mine": "true"}, headers=headers, timeout=5)
    assert listing.json()["items"][0]["id"] == CHANNEL
    over = requests.post(moderate, params={"id": comment.id, "moderationStatus": "heldForReview"},
                         headers=headers, timeout=5)
    assert over.status_code == 403
    assert over.json()["error"]["errors"][0]["reason"] == "quotaExceeded"
    assert control(sandbox, "GET", "calls", params={"platform": "youtube"}).json()[
        "over_limit"] == 1


def test_a_day_of_polling_stays_within_every_limit(sandbox: SandboxServer) -> None:
    """One X account and one YouTube channel polled every 5 minutes for a sandbox day, with
    comments arriving and litigious ones hidden: no call past a documented limit.

    The day is one whole YouTube quota day (from Pacific midnight): started at any other time,
    it would spread its spending over two quota days and pass more easily, depending on the
    hour the test runs."""
    start = sandbox.state.now().astimezone(PACIFIC)
    midnight = dt.datetime.combine(start.date() + dt.timedelta(days=1), dt.time(), tzinfo=PACIFIC)
    sandbox.state.advance((midnight - start).total_seconds() + 1)
    sandbox.state.ensure_space("x", X_ACCOUNT, "CSS")
    sandbox.state.ensure_space("youtube", CHANNEL, "CSS")
    sandbox.state.add_post("x", X_ACCOUNT, "post")
    sandbox.state.add_post("youtube", CHANNEL, "vidéo")
    x = registry.get("x")(platform_id=X_ACCOUNT, api_base_url=sandbox.url, timeout=5, secrets={
        "consumer_key": "ck", "consumer_secret": "cs", "access_token": f"{X_ACCOUNT}-t",
        "access_token_secret": "s"})
    yt = registry.get("youtube")(platform_id=CHANNEL, api_base_url=sandbox.url, timeout=5,
                                 secrets={"access_token": f"ya29.{CHANNEL}"})
    x.now = yt.now = sandbox.state.now  # type: ignore[attr-defined]
    cursors: dict[str, dict[str, str]] = {"x": {}, "youtube": {}}
    limited = 0
    fetched = {"x": 0, "youtube": 0}
    for tick in range(288):
        assert quota_day(sandbox.state.now()) == quota_day(midnight)
        for platform, connector in (("x", x), ("youtube", yt)):
            for n in range(tick % 3):  # a few comments every poll, every third one litigious
                sandbox.state.add_comment(platform, X_ACCOUNT if platform == "x" else CHANNEL,
                                          f"{tick}-{n}")
            try:
                result = connector.fetch(cursors[platform])
            except RateLimited:
                limited += 1
                continue
            cursors[platform] = result.cursor
            for comment in result.comments:
                fetched[platform] += 1
                if fetched[platform] % 3 == 0:  # every third comment is litigious: hidden
                    try:
                        connector.hide(comment.platform_id)
                    except RateLimited:
                        limited += 1
        sandbox.state.advance(300)
    calls = control(sandbox, "GET", "calls").json()
    assert calls["over_limit"] == 0
    assert fetched == {"x": 288, "youtube": 288}  # every comment seen exactly once
    # 5-minute polling with a hide every third poll (96 a day, 50 quota units each) is within
    # every limit; YouTube's default 10,000 units a day allow about 180 hides.
    assert limited == 0
    usage = yt.last_usage()
    assert usage is not None and usage.detail["quota_used"] < 10_000
