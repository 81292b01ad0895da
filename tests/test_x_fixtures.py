"""Conformance: real X API v2 responses (tweepy's recorded cassettes) through the X connector.

The cassettes are read in place from ../shared/fixtures/x_api_v2 and replayed by vcrpy beneath
the real tweepy client, so the bytes X sent go through the same transport, error mapping and
parsing code as in production. Skipped cleanly when the folder is absent.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectors import registry
from connectors.x import XConnector, snowflake_time
from tests.conftest import FIXTURES, shared_or_skip

vcr = pytest.importorskip("vcr")

pytestmark = pytest.mark.fixtures

CASSETTES = FIXTURES / "x_api_v2"
OAUTH1 = {
    "consumer_key": "ck",
    "consumer_secret": "cs",
    "access_token": "783214-token",
    "access_token_secret": "ats",
}


def cassette(name: str) -> Path:
    return shared_or_skip(CASSETTES / f"{name}.yaml")


def replay(name: str):  # noqa: ANN201 - a vcrpy context manager
    player = vcr.VCR(record_mode="none", match_on=["method", "path"],
                     decode_compressed_response=True)
    return player.use_cassette(str(cassette(name)))


@pytest.fixture
def connector() -> XConnector:
    built = registry.get("x")(platform_id="783214", secrets=OAUTH1,
                              api_base_url="https://api.twitter.com", timeout=5)
    assert isinstance(built, XConnector)
    return built


def test_hide_and_unhide_reply(connector: XConnector) -> None:
    reply = "1344794616005066752"
    # What a poll would have taught the connector: a reply by someone else in our conversation.
    connector._conversation_of[reply] = "1344794000000000000"
    connector._author_of[reply] = "2244994945"
    connector._own_conversations.add("1344794000000000000")
    connector.now = lambda: dt.datetime(2021, 4, 13, 3, 34, 8, tzinfo=dt.UTC)
    with replay("test_client_hide_and_unhide_reply") as played:
        connector.hide(reply)
        usage = connector.last_usage()
        connector.unhide(reply)
        assert played.play_count == 2
        assert [r.body for r in played.requests] == [b'{"hidden": true}', b'{"hidden": false}']
    assert usage is not None and usage.detail["hidden"]["limit"] == 50
    assert usage.detail["hidden"]["remaining"] == 45
    assert usage.reset_at == dt.datetime.fromtimestamp(1618285574, tz=dt.UTC)
    after = connector.last_usage()
    assert after is not None and after.detail["hidden"]["remaining"] == 44
    assert after.ratio == pytest.approx(1 - 44 / 50)


def test_search_recent_tweets_parse(connector: XConnector) -> None:
    with replay("test_client_search_recent_tweets"):
        body = connector._call("search", connector.client.search_recent_tweets, "Tweepy",
                               user_auth=True)
    comments = connector.parse_replies(body)
    assert len(comments) == body["meta"]["result_count"] == 10
    assert comments[0].platform_id == body["meta"]["newest_id"]
    assert comments[-1].platform_id == body["meta"]["oldest_id"]
    for comment in comments:
        # No created_at was asked for when recording: the time comes from the snowflake id,
        # and the recorded text begins with the instant the post was made.
        assert comment.created_time == snowflake_time(comment.platform_id)
        written = dt.datetime.fromisoformat(comment.text[:26]).replace(tzinfo=dt.UTC)
        assert abs((comment.created_time - written).total_seconds()) < 2
        assert comment.author_id is None and comment.author_meta == {}
        assert comment.permalink == f"https://x.com/i/web/status/{comment.platform_id}"
    usage = connector.last_usage()
    assert usage is None or usage.detail["search"]["limit"] == 450


def test_mentions_parse(connector: XConnector) -> None:
    with replay("test_client_get_users_mentions"):
        body = connector._call("mentions", connector.client.get_users_mentions, "783214",
                               user_auth=True)
    comments = connector.parse_replies(body)
    assert [c.platform_id for c in comments] == [t["id"] for t in body["data"]]
    assert all(c.text and c.created_time.tzinfo is not None for c in comments)
    assert body["meta"]["next_token"]


def test_user_timeline_page_bound() -> None:
    bounded = XConnector(platform_id="783214", secrets=OAUTH1, timeout=5,
                         api_base_url="https://api.twitter.com",
                         options=XConnector.Options.model_validate({"max_pages": 1}))
    with replay("test_client_get_users_tweets") as played:
        pages = list(bounded._pages("timeline", bounded.client.get_users_tweets, "783214",
                                    user_auth=True, max_results=5))
    # The recorded page says next_token; max_pages=1 keeps the poll to that one page.
    assert played.play_count == 1 and len(pages) == 1
    assert pages[0]["meta"]["next_token"] and pages[0]["meta"]["result_count"] == 2
    usage = bounded.last_usage()
    assert usage is None or usage.detail["timeline"]["limit"] == 1500


def test_get_tweet_state(connector: XConnector) -> None:
    with replay("test_client_get_tweet"):
        assert connector.state("1293593516040269825") == "unknown"  # exists; hidden is not said
