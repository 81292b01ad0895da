"""Real recorded Graph payloads (../shared/fixtures, read in place) through the connectors'
parsing code, and the sandbox's answers compared with their shapes."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from connectors import facebook, instagram
from connectors.errors import Refused
from connectors.graph import map_error, usage_from_headers
from connectors.sandbox.server import SandboxServer
from tests.conftest import FIXTURES, shared_or_skip

pytestmark = pytest.mark.fixtures

FB = FIXTURES / "facebook_graph"
IG = FIXTURES / "instagram_graph"


def load(path: Path) -> Any:
    return json.loads(shared_or_skip(path).read_text(encoding="utf-8"))


def test_comment_pages_parse() -> None:
    for name in ("comments__comments_p1.json", "comments__comments_p2.json"):
        body = load(FB / name)
        comments, next_url = facebook.parse_comments_page(
            body, page_id="19292868552", post_id="19292868552_10158407654328553")
        assert len(comments) == len(body["data"])
        for comment, raw in zip(comments, body["data"], strict=True):
            assert comment.text == raw["message"]
            assert comment.created_time.tzinfo is not None
            assert comment.created_time.strftime("%Y-%m-%dT%H:%M:%S+0000") == raw["created_time"]
            assert comment.permalink == raw["permalink_url"]
            # the recording has no ids: they come from the permalink, replies with their parent
            assert comment.platform_id.startswith("10158407654328553_")
            assert (comment.parent_id is not None) == ("reply_comment_id" in raw["permalink_url"])
        assert (next_url is not None) == ("next" in body["paging"])


def test_one_comment_with_author_and_hidden_flag() -> None:
    raw = load(FB / "models__comment.json")
    comment = facebook.parse_comment(raw, page_id="2121008874780932", post_id=None)
    assert comment.platform_id == raw["id"]
    assert comment.author_id == raw["from"]["id"] and comment.author_name == raw["from"]["name"]
    assert comment.hidden is raw["is_hidden"]
    assert not comment.by_owner
    assert comment.post_id == "2121008874780932_" + raw["id"].split("_")[0]
    assert comment.created_time == dt.datetime(2021, 7, 23, 8, 35, 18, tzinfo=dt.UTC)


def test_feed_pages_parse() -> None:
    for name in ("posts__feed_fields_p1.json", "posts__feed_fields_p2.json",
                 "posts__feeds_default_fields_p1.json", "posts__feeds_default_fields_p2.json"):
        body = load(FB / name)
        posts = [facebook.parse_post(item) for item in body["data"]]
        assert [p.platform_id for p in posts] == [item["id"] for item in body["data"]]
        assert all(p.created_time and p.created_time.tzinfo for p in posts)


def test_error_body_maps_to_a_refusal_without_leaking() -> None:
    body = load(FB / "base__error_data.json")
    error = map_error(body, status=400)
    assert isinstance(error, Refused) and error.code == body["error"]["code"]
    assert "pages_read_engagement" in error.message


def test_usage_headers_from_the_provenance_notes() -> None:
    notes = shared_or_skip(FIXTURES / "PROVENANCE.md").read_text(encoding="utf-8")
    headers = dict(re.findall(r"`(x-app-usage|x-business-use-case-usage): (\{.*?\})`\s*$",
                              notes, flags=re.MULTILINE))
    assert set(headers) == {"x-app-usage", "x-business-use-case-usage"}
    usage = usage_from_headers(headers, dt.datetime.now(dt.UTC))
    assert usage is not None
    app = json.loads(headers["x-app-usage"])
    assert usage.ratio == max(app.values()) / 100
    assert usage.reset_at is None  # estimated_time_to_regain_access is 0


def test_instagram_comment_pages_parse() -> None:
    for name in ("medias__comments_p1.json", "medias__comments_p2.json",
                 "comments__replies.json"):
        body = load(IG / name)
        comments, _replies, next_url = instagram.parse_comments_page(
            body, account_id="17841400000000000", media_id="17846368219941692")
        assert [c.text for c in comments] == [item["text"] for item in body["data"]]
        assert all(c.created_time.tzinfo for c in comments)
        assert (next_url is not None) == ("next" in body.get("paging", {}))


def test_instagram_single_comment_parses() -> None:
    raw = load(IG / "comments__comment_fields.json")
    comment = instagram.parse_comment(raw, account_id="1", media_id=None)
    assert comment.author_name == raw["username"] and comment.text == raw["text"]
    for raw_item in load(IG / "comments__comments_fields.json").values():
        assert instagram.parse_comment(raw_item, account_id="1", media_id=None).platform_id


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_sandbox_comment_pages_have_the_real_shape(sandbox: SandboxServer) -> None:
    real = load(FB / "comments__comments_p1.json")
    state = sandbox.state
    post = state.add_post("facebook", "19292868552", "Publication")
    made = [state.add_comment("facebook", "19292868552", f"c{n}", post_id=post.id).id
            for n in range(3)]
    fields = ",".join(real["data"][0])
    ours = requests.get(f"{sandbox.url}/v11.0/{post.id}/comments", params={
        "access_token": "t", "filter": "stream", "summary": "1", "limit": 2,
        "fields": fields}, timeout=5).json()
    assert _shape(ours["data"][0]) == _shape(real["data"][0])
    assert set(ours["paging"]) == set(real["paging"])
    assert set(ours["paging"]["cursors"]) == set(real["paging"]["cursors"])
    assert _shape(ours["summary"]) == _shape(real["summary"])
    assert ours["paging"]["next"].split("?")[0].endswith(f"/v11.0/{post.id}/comments")

    one = load(FB / "models__comment.json")
    wanted = [k for k in one if k not in ("attachment",)]
    node = requests.get(f"{sandbox.url}/v11.0/{made[0]}", params={
        "access_token": "t", "fields": ",".join(wanted)}, timeout=5).json()
    assert _shape(node) == {k: v for k, v in _shape(one).items() if k in wanted}

    error = load(FB / "base__error_data.json")
    missing = requests.get(f"{sandbox.url}/v11.0/123_456", params={"access_token": "t"},
                           timeout=5).json()
    assert set(error["error"]) <= set(missing["error"])


def test_sandbox_instagram_pages_have_the_real_shape(sandbox: SandboxServer) -> None:
    real = load(IG / "medias__comments_p1.json")
    media = sandbox.state.add_post("instagram", "17841400000000000", "photo")
    for n in range(3):
        sandbox.state.add_comment("instagram", "17841400000000000", f"c{n}", post_id=media.id)
    ours = requests.get(f"{sandbox.url}/v11.0/{media.id}/comments",
                        params={"access_token": "t", "limit": 2}, timeout=5).json()
    assert _shape(ours["data"][0]) == _shape(real["data"][0])
    assert set(real["paging"]) <= set(ours["paging"])
    medias = load(IG / "medias__medias_fields.json")
    sample = next(iter(medias.values()))
    wanted = ["id", "caption", "comments_count", "like_count", "media_type", "permalink",
              "timestamp"]
    node = requests.get(f"{sandbox.url}/v11.0/{media.id}", params={
        "access_token": "t", "fields": ",".join(wanted)}, timeout=5).json()
    assert _shape(node) == {k: _shape(sample[k]) for k in wanted}


def test_instagram_newest_comment_reads_the_recorded_order(sandbox: SandboxServer) -> None:
    """The listing's ``comments.limit(N)`` holds the newest comments, and its first the newest,
    only if the API lists a media's comments newest first: the recorded pages do, and the
    sandbox's expansion has their shape, newest first, with a ``paging.next`` on the media's
    ``/comments`` (as the recorded page's) to read on from."""
    pages = [load(IG / "medias__comments_p1.json"), load(IG / "medias__comments_p2.json")]
    times = [instagram.parse_time(c["timestamp"]) for page in pages for c in page["data"]]
    assert times == sorted(times, reverse=True)
    newest = pages[0]["data"][0]
    item = {"id": "17846368219941692", "comments": {"data": [newest]}}
    before, after = times[0] - dt.timedelta(seconds=1), times[0] + dt.timedelta(seconds=1)
    assert instagram._unseen_newest(item, before, {}) is True
    assert instagram._unseen_newest(item, before, {newest["id"]: 0}) is False
    assert instagram._unseen_newest(item, after, {}) is False

    account = "17841400000000000"
    sandbox.state.ensure_space("instagram", account, "École")
    media = sandbox.state.add_post("instagram", account, "photo")
    for n in range(3):
        sandbox.state.add_comment("instagram", account, f"c{n}", post_id=media.id)
    listing = requests.get(f"{sandbox.url}/v11.0/{account}/media", params={
        "access_token": "t", "fields": instagram.listing_fields(2)}, timeout=5).json()
    edge = listing["data"][0]["comments"]
    assert len(edge["data"]) == 2
    assert ({k: _shape(edge["data"][0][k]) for k in newest}
            == {k: _shape(v) for k, v in newest.items()})
    listed = [instagram.parse_time(c["timestamp"]) for c in edge["data"]]
    assert listed == sorted(listed, reverse=True)
    recorded_next = urlsplit(pages[0]["paging"]["next"]).path
    assert recorded_next.endswith("/comments")
    assert urlsplit(edge["paging"]["next"]).path.endswith(f"{media.id}/comments")


def test_sandbox_feed_expansion_has_the_recorded_shape(sandbox: SandboxServer) -> None:
    """The recorded feed pages expand each post's ``comments.filter(stream)`` edge inside the
    feed call; the sandbox's expansion has the same shape, and the connector reads the
    comments the edge carries."""
    recorded = load(FB / "posts__feeds_default_fields_p1.json")
    spec = "comments.filter(stream).summary(true).limit(0)"
    assert spec in recorded["paging"]["next"].replace("%28", "(").replace("%29", ")")
    page_id = "19292868552"
    sandbox.state.ensure_space("facebook", page_id, "Page")
    post = sandbox.state.add_post("facebook", page_id, "Publication")
    quiet = sandbox.state.add_post("facebook", page_id, "Publication sans commentaire")
    made = [sandbox.state.add_comment("facebook", page_id, f"c{n}", post_id=post.id).id
            for n in range(3)]
    ours = requests.get(f"{sandbox.url}/v11.0/{page_id}/feed", params={
        "access_token": "t", "fields": f"id,created_time,updated_time,{spec}"}, timeout=5).json()
    by_id = {item["id"]: item for item in ours["data"]}
    real_edge = recorded["data"][0]["comments"]
    assert _shape(by_id[post.id]["comments"]) == _shape(real_edge)
    assert by_id[post.id]["comments"]["summary"]["total_count"] == 3

    expanded = requests.get(f"{sandbox.url}/v11.0/{page_id}/feed", params={
        "access_token": "t",
        "fields": f"{facebook.POST_FIELDS},comments.filter(stream).order(chronological)"
                  f".limit(2){{{facebook.COMMENT_FIELDS}}}"}, timeout=5).json()
    by_id = {item["id"]: item for item in expanded["data"]}
    assert "comments" not in by_id[quiet.id]  # an empty edge is left out
    edge = by_id[post.id]["comments"]
    comments, next_url = facebook.parse_comments_page(edge, page_id=page_id, post_id=post.id)
    assert [c.platform_id for c in comments] == made[:2]
    assert next_url is not None and f"/v11.0/{post.id}/comments?" in next_url
    rest = requests.get(next_url, timeout=5).json()
    assert [c["id"] for c in rest["data"]] == made[2:]


def test_recorded_feed_pages_are_bounded_by_created_time() -> None:
    """The Facebook connector cuts the feed in slices with ``since``/``until``: the recorded
    feed pages page by the posts' created_time (next: ``until`` = the last post's, previous:
    ``since`` = the first post's)."""
    from urllib.parse import parse_qs, urlsplit

    body = load(FB / "posts__feed_fields_p1.json")
    times = [int(facebook.parse_time(item["created_time"]).timestamp()) for item in body["data"]]
    assert times == sorted(times, reverse=True)
    following = parse_qs(urlsplit(body["paging"]["next"]).query)
    preceding = parse_qs(urlsplit(body["paging"]["previous"]).query)
    assert following["until"] == [str(times[-1])]
    assert preceding["since"] == [str(times[0])]
