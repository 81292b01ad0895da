"""The Instagram connector against the sandbox, over real HTTP, through the real facebook-sdk."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import requests

from connectors import registry
from connectors.errors import AuthError, RateLimited, Refused, Unreachable
from connectors.instagram import InstagramConnector, InstagramOptions
from connectors.sandbox.server import SandboxServer

ACCOUNT = "17841400008460056"


def connector(sandbox: SandboxServer, **options: object) -> InstagramConnector:
    return InstagramConnector(
        platform_id=ACCOUNT,
        secrets={"access_token": "ig-token"},
        options=InstagramOptions.model_validate(options),
        api_base_url=sandbox.url,
        timeout=2,
    )


def add(sandbox: SandboxServer, text: str, **fields: object) -> str:
    response = requests.post(f"{sandbox.url}/_sandbox/comments", json={
        "platform": "instagram", "space": ACCOUNT, "text": text, **fields}, timeout=5)
    response.raise_for_status()
    return response.json()["id"]


def ago(minutes: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)).isoformat()


def calls_since(sandbox: SandboxServer, seq: int) -> list[dict]:
    return requests.get(f"{sandbox.url}/_sandbox/calls",
                        params={"platform": "instagram", "since": seq}, timeout=5).json()["data"]


def last_seq(sandbox: SandboxServer) -> int:
    calls = requests.get(f"{sandbox.url}/_sandbox/calls", timeout=5).json()["data"]
    return calls[-1]["seq"] if calls else 0


@pytest.fixture
def account(sandbox: SandboxServer) -> SandboxServer:
    requests.post(f"{sandbox.url}/_sandbox/spaces", json={
        "platform": "instagram", "id": ACCOUNT, "name": "École secondaire",
        "username": "ecole_secondaire"}, timeout=5)
    return sandbox


def test_registered_with_what_the_interface_requires() -> None:
    assert registry.get("instagram") is InstagramConnector
    assert InstagramConnector.required_secrets == ("access_token",)
    with pytest.raises(ValueError):
        InstagramOptions.model_validate({"max_pages": 0})
    # The defaults that README.md, docs/platforms.md and config/vigie.toml give.
    defaults = InstagramOptions()
    assert (defaults.media_lookback_days, defaults.max_media, defaults.max_media_pages,
            defaults.lookback_days) == (30, 100, 20, 30)
    with pytest.raises(ValueError):
        InstagramOptions.model_validate({"max_media": 101})


def test_fetches_comments_and_replies_newest_first_until_the_last_seen(
    account: SandboxServer,
) -> None:
    ids = [add(account, f"commentaire {n}", author_name=f"eleve{n}", created_time=ago(200 - n))
           for n in range(120)]
    reply = add(account, "réponse", author_name="parent1", parent=ids[100])
    own = add(account, "Merci à tous!", by_owner=True)
    ig = connector(account)
    first = ig.fetch({})
    got = {c.platform_id: c for c in first.comments}
    assert set(got) == {*ids, reply, own}
    assert got[reply].parent_id == ids[100]
    assert got[own].by_owner and got[ids[0]].author_name == "eleve0"
    assert got[ids[5]].author_meta == {"username": "eleve5"}
    assert [c.created_time for c in first.comments] == sorted(c.created_time
                                                               for c in first.comments)

    before = last_seq(account)
    again = ig.fetch(first.cursor)
    assert again.comments == [] and len(calls_since(account, before)) == 1  # media list only

    newest = add(account, "nouveau", author_name="eleve200")
    before = last_seq(account)
    third = ig.fetch(again.cursor)
    assert [c.platform_id for c in third.comments] == [newest]
    assert len(calls_since(account, before)) == 1  # the media list carries the new comment


def test_a_new_reply_under_an_old_comment_is_found(account: SandboxServer) -> None:
    ids = [add(account, f"c{n}", created_time=ago(300 - n)) for n in range(130)]
    ig = connector(account)
    cursor = ig.fetch({}).cursor
    late = add(account, "réponse tardive", parent=ids[2])
    result = ig.fetch(cursor)
    assert [c.platform_id for c in result.comments] == [late]
    assert result.comments[0].parent_id == ids[2]


@pytest.mark.parametrize("media", [1, 10, 100, 230])
def test_calls_per_poll(account: SandboxServer, media: int) -> None:
    """P media with a new comment each: they come with the media listing (field expansion), one
    call per listing page of 100, within 1 + ceil(P/50); a second poll yields nothing twice."""
    made = [requests.post(f"{account.url}/_sandbox/posts", json={
        "platform": "instagram", "space": ACCOUNT, "text": f"photo {n}",
        "created_time": ago(500 - n)}, timeout=5).json()["id"] for n in range(media)]
    ig = connector(account, max_media=100)
    cursor = ig.fetch({}).cursor
    posted = {add(account, "bravo", post=media_id) for media_id in made}
    before = last_seq(account)
    result = ig.fetch(cursor)
    assert {c.platform_id for c in result.comments} == posted
    assert len(result.comments) == media
    calls = calls_since(account, before)
    assert len(calls) == result.calls == math.ceil(media / 100)  # the listing's pages
    assert result.calls <= 1 + math.ceil(media / 50)
    assert {p.platform_id for p in result.posts} == set(made)
    again = ig.fetch(result.cursor)
    assert again.comments == [] and again.calls == math.ceil(media / 100)


def test_a_media_with_more_new_comments_than_the_listing_holds_is_read_on(
    account: SandboxServer,
) -> None:
    """The listing carries listing_comments_limit comments a media; a media with more new ones
    is read on from the nested page's paging.next, 50 a page, with the comment fields (author,
    replies) and nothing lost or twice."""
    busy, quiet = add_media(account, 0, 300), add_media(account, 1, 200)
    old = add(account, "ancien", post=busy, created_time=ago(250))
    ig = connector(account, listing_comments_limit=5)
    cursor = ig.fetch({}).cursor
    posted = [add(account, f"c{n}", post=busy, author_name=f"eleve{n}",
                  created_time=ago(100 - n)) for n in range(70)]
    reply = add(account, "réponse", post=busy, parent=posted[3], author_name="parent1")
    one = add(account, "bravo", post=quiet)
    before = last_seq(account)
    result = ig.fetch(cursor)
    got = {c.platform_id: c for c in result.comments}
    assert set(got) == {*posted, reply, one} and len(result.comments) == len(got)
    assert old not in got
    assert got[posted[3]].author_name == "eleve3" and got[reply].parent_id == posted[3]
    assert got[reply].author_name == "parent1"
    # the listing (5 of the busy media's 70 new comments), then one batch: the next page of 50,
    # then another with the last 15 and the old one (the cursor reached)
    assert len(calls_since(account, before)) == result.calls == 3
    again = ig.fetch(result.cursor)
    assert again.comments == [] and again.calls == 1


def add_media(sandbox: SandboxServer, n: int, minutes_ago: float) -> str:
    return requests.post(f"{sandbox.url}/_sandbox/posts", json={
        "platform": "instagram", "space": ACCOUNT, "text": f"photo {n}",
        "created_time": ago(minutes_ago)}, timeout=5).json()["id"]


def test_a_busy_account_loses_no_comment(account: SandboxServer) -> None:
    """More media with new comments than one listing page holds: every comment is read in one
    poll, with the listing's pages (L), within 1 + ceil(P/50) HTTP calls."""
    made = [add_media(account, n, 2000 - n) for n in range(230)]
    ig = connector(account)
    cursor = ig.fetch({}).cursor
    posted = {add(account, f"bravo {n}", post=media_id) for n, media_id in enumerate(made)}
    before = last_seq(account)
    result = ig.fetch(cursor)
    assert {c.platform_id for c in result.comments} == posted
    listing_pages = math.ceil(230 / 100)
    assert len(calls_since(account, before)) == result.calls == listing_pages
    assert result.calls <= 1 + math.ceil(230 / 50)
    assert {p.platform_id for p in result.posts} == set(made)
    # Nothing new: the listing's three pages, and no comment read.
    before = last_seq(account)
    again = ig.fetch(result.cursor)
    assert again.comments == [] and len(calls_since(account, before)) == listing_pages


def test_the_listing_stops_at_the_look_back_window(account: SandboxServer) -> None:
    """The first page of media is always watched (an account that seldom posts keeps its old
    media watched); later pages only while they hold media younger than media_lookback_days."""
    old = [add_media(account, n, 60 * 24 * 60 - n) for n in range(150)]  # about 60 days old
    recent = [add_media(account, 1000 + n, 30 - n) for n in range(10)]
    ig = connector(account, media_lookback_days=30)
    cursor = ig.fetch({}).cursor
    on_first_page = old[-90:]  # the 10 recent media, then the 90 newest old ones
    targets = [*recent, on_first_page[0], old[0]]
    ids = {media_id: add(account, "question", post=media_id) for media_id in targets}
    before = last_seq(account)
    result = ig.fetch(cursor)
    found = {c.platform_id for c in result.comments}
    assert found == {ids[m] for m in [*recent, on_first_page[0]]}
    assert ids[old[0]] not in found  # 60 days old and past the first page: not watched
    listing = [c for c in calls_since(account, before) if c["path"].endswith("/media")]
    assert len(listing) == 1


def test_max_media_pages_caps_the_listing_with_a_warning(
    account: SandboxServer, caplog: pytest.LogCaptureFixture,
) -> None:
    made = [add_media(account, n, 500 - n) for n in range(25)]
    ig = connector(account, max_media=10, max_media_pages=2)
    cursor = ig.fetch({}).cursor
    for media_id in made:
        add(account, "bravo", post=media_id)
    with caplog.at_level("WARNING", logger="connectors.instagram"):
        result = ig.fetch(cursor)
    assert len(result.comments) == 20  # the 20 newest media: two pages of 10
    assert "max_media_pages" in caplog.text


def test_a_new_comment_is_found_when_another_was_deleted(account: SandboxServer) -> None:
    """One comment deleted and one added between two polls leave comments_count unchanged; the
    media's newest comment (listed with it) still shows the new one."""
    media_id = add_media(account, 0, 60)
    ids = [add(account, f"c{n}", post=media_id, created_time=ago(50 - n)) for n in range(3)]
    ig = connector(account)
    cursor = ig.fetch({}).cursor
    ig.delete(ids[0])
    late = add(account, "nouveau", post=media_id)
    before = last_seq(account)
    result = ig.fetch(cursor)
    assert [c.platform_id for c in result.comments] == [late]
    assert len(calls_since(account, before)) == 1  # the listing carries the new comment
    # Nothing new: the listing only.
    before = last_seq(account)
    assert ig.fetch(result.cursor).comments == [] and len(calls_since(account, before)) == 1


def test_hide_unhide_delete_state(account: SandboxServer) -> None:
    ig = connector(account)
    target = add(account, "à masquer")
    ig.hide(target)
    assert account.state.comments[target].hidden and ig.state(target) == "hidden"
    ig.unhide(target)
    assert ig.state(target) == "visible"
    ig.delete(target)
    assert ig.state(target) == "deleted" and account.state.comments[target].deleted


def test_own_comment_cannot_be_hidden(account: SandboxServer) -> None:
    own = add(account, "Merci", by_owner=True)
    with pytest.raises(Refused):
        connector(account).hide(own)


@pytest.mark.parametrize(("spec", "error"), [
    ({"kind": "error", "code": 80002}, RateLimited),
    ({"kind": "error", "code": 4}, RateLimited),
    ({"kind": "error", "code": 190}, AuthError),
    ({"kind": "http500"}, Unreachable),
    ({"kind": "timeout", "delay": 3}, Unreachable),
])
def test_faults_map_onto_errors(account: SandboxServer, spec: dict, error: type) -> None:
    add(account, "x")
    requests.post(f"{account.url}/_sandbox/faults",
                  json={"platform": "instagram", "space": ACCOUNT, **spec}, timeout=5)
    with pytest.raises(error):
        connector(account).fetch({})


def test_check(account: SandboxServer) -> None:
    assert connector(account).check().ok
    requests.post(f"{account.url}/_sandbox/graph/tokens", json={
        "token": "ig-token", "platform": "instagram", "space": ACCOUNT,
        "scopes": ["instagram_basic"]}, timeout=5)
    result = connector(account).check()
    assert not result.ok and result.missing_permissions == ("instagram_manage_comments",)


def test_an_unreadable_comment_count_reads_the_media() -> None:
    """A damaged ``comments_count`` never hides a media's comments from the poll."""
    from connectors.instagram import _comment_count

    assert _comment_count(None) == 0
    assert _comment_count("7") == 7
    assert _comment_count("2026-13-45T99:99:99+0000") == -1
    assert _comment_count(True) == -1
    assert _comment_count({"n": 1}) == -1


def test_an_unreadable_newest_comment_reads_the_media() -> None:
    """A damaged ``comments`` expansion in the listing never hides a media's comments."""
    from connectors.instagram import _unseen_newest

    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    newer = {"id": "1", "timestamp": "2026-11-02T00:00:00+0000"}
    older = {"id": "2", "timestamp": "2026-10-30T00:00:00+0000"}
    assert _unseen_newest({}, start, {}) is False  # no comment: Graph leaves the edge out
    assert _unseen_newest({"comments": {"data": []}}, start, {}) is False
    assert _unseen_newest({"comments": {"data": [newer]}}, start, {}) is True
    assert _unseen_newest({"comments": {"data": [newer]}}, start, {"1": 0}) is False
    assert _unseen_newest({"comments": {"data": [older]}}, start, {}) is False
    assert _unseen_newest({"comments": "damaged"}, start, {}) is True
    assert _unseen_newest({"comments": {"data": [{"id": "3", "timestamp": "x"}]}}, start, {})
    assert _unseen_newest({"comments": {"data": [{"timestamp": newer["timestamp"]}]}}, start, {})


def test_a_damaged_nested_page_reads_the_media(account: SandboxServer) -> None:
    """A listing whose ``comments`` expansion cannot be read never hides a media's comments:
    the media's own ``/comments`` is read instead, in the next batch."""
    media_id = add_media(account, 0, 60)
    ig = connector(account)
    cursor = ig.fetch({}).cursor
    new = add(account, "nouveau", post=media_id)
    real_request = ig.client.request

    def damaging(path: str, *args: object, **kwargs: object) -> object:
        body = real_request(path, *args, **kwargs)
        if path.endswith("/media"):
            for item in body["data"]:
                item["comments"] = "damaged"
        return body

    ig.client.request = damaging  # type: ignore[method-assign]
    before = last_seq(account)
    result = ig.fetch(cursor)
    assert [c.platform_id for c in result.comments] == [new]
    assert len(calls_since(account, before)) == result.calls == 2


def test_an_answer_too_large_is_asked_again_in_smaller_pages(account: SandboxServer) -> None:
    """Graph refuses a listing it finds too large (error 1, "Please reduce the amount of data"):
    the poll halves the media a page and the comments inside, loses nothing, and keeps the
    smaller sizes in its cursor."""
    requests.post(f"{account.url}/_sandbox/graph/limits", json={"answer_objects": 30}, timeout=5)
    made = [add_media(account, n, 500 - n) for n in range(20)]
    old = {add(account, f"bravo {n}", post=media_id, created_time=ago(100 - n))
           for n, media_id in enumerate(made)}
    ig = connector(account, overlap_seconds=0)
    before = last_seq(account)
    first = ig.fetch({})
    assert {c.platform_id for c in first.comments} == old
    calls = calls_since(account, before)
    # 100/10, 50/5 and 25/2: 40 objects, refused; 12/1: 24, then the listing's second page
    assert [c["query"]["limit"] for c in calls if c["status"] == 500] == ["100", "50", "25"]
    assert first.calls == len(calls) == 5
    assert first.cursor["page_sizes"] == "12,1"
    new = {add(account, f"encore {n}.{k}", post=made[n]) for n in (0, 7, 19) for k in range(2)}
    before = last_seq(account)
    second = ig.fetch(first.cursor)
    assert {c.platform_id for c in second.comments} == new
    assert all(c["status"] == 200 for c in calls_since(account, before))
    assert second.cursor["page_sizes"] == "12,1"
