"""The Facebook connector against the sandbox, over real HTTP, through the real facebook-sdk."""

from __future__ import annotations

import datetime as dt
import json
import math
import time

import pytest
import requests

from connectors import registry
from connectors.errors import AuthError, RateLimited, Refused, TooMuchData, Unreachable
from connectors.facebook import FacebookConnector, FacebookOptions
from connectors.sandbox.server import SandboxServer

PAGE = "112130216863063"


def connector(sandbox: SandboxServer, token: str = "page-token", **options: object
              ) -> FacebookConnector:
    return FacebookConnector(
        platform_id=PAGE,
        secrets={"page_token": token},
        options=FacebookOptions.model_validate(options),
        api_base_url=sandbox.url,
        timeout=2,
    )


def add(sandbox: SandboxServer, text: str, **fields: object) -> str:
    response = requests.post(f"{sandbox.url}/_sandbox/comments", json={
        "platform": "facebook", "space": PAGE, "text": text, **fields}, timeout=5)
    response.raise_for_status()
    return response.json()["id"]


def graph_calls(sandbox: SandboxServer, since: int = 0) -> list[dict]:
    data = requests.get(f"{sandbox.url}/_sandbox/calls",
                        params={"platform": "facebook", "since": since}, timeout=5).json()
    return data["data"]


def last_seq(sandbox: SandboxServer) -> int:
    calls = requests.get(f"{sandbox.url}/_sandbox/calls", timeout=5).json()["data"]
    return calls[-1]["seq"] if calls else 0


def past(minutes: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def page(sandbox: SandboxServer) -> SandboxServer:
    requests.post(f"{sandbox.url}/_sandbox/spaces", json={
        "platform": "facebook", "id": PAGE, "name": "CSS De La Jonquière"}, timeout=5)
    return sandbox


def test_registered_with_what_the_interface_requires() -> None:
    cls = registry.get("facebook")
    assert cls is FacebookConnector
    assert cls.required_secrets == ("page_token",)
    assert FacebookOptions().graph_version >= "v21.0"
    with pytest.raises(ValueError):
        FacebookOptions.model_validate({"graph_version": "21"})
    with pytest.raises(ValueError):
        FacebookOptions.model_validate({"unknown": 1})


def test_fetches_comments_and_replies_incrementally(page: SandboxServer) -> None:
    fb = connector(page)
    first = add(page, "Merci pour l'info!", author_name="Julie Tremblay")
    reply = add(page, "Oui, merci", author_name="Marc Gagnon", parent=first)
    own = add(page, "Bonne journée à tous", by_owner=True)
    result = fb.fetch({})
    got = {c.platform_id: c for c in result.comments}
    assert set(got) == {first, reply, own}
    assert got[first].author_name == "Julie Tremblay" and got[first].parent_id is None
    assert got[reply].parent_id == first
    assert got[own].by_owner and not got[first].by_owner
    assert got[first].post_id and got[first].post_id.startswith(f"{PAGE}_")
    assert all(c.created_time.tzinfo is not None for c in result.comments)
    assert result.posts and result.cursor["since"]

    again = fb.fetch(result.cursor)
    assert again.comments == []
    late = add(page, "Une autre question", author_name="Nadia Roy")
    third = fb.fetch(again.cursor)
    assert [c.platform_id for c in third.comments] == [late]


def test_pages_through_many_comments(page: SandboxServer) -> None:
    ids = [add(page, f"commentaire {n}", author_name=f"Parent {n}", created_time=past(30 - n / 10))
           for n in range(25)]
    fb = connector(page, feed_comments_limit=5, comments_page_size=10)
    before = last_seq(page)
    result = fb.fetch({})
    assert [c.platform_id for c in result.comments] == ids
    calls = graph_calls(page, before)
    # the feed call brings the post's first 5 comments; its next pages of 10 (10, 10) come
    # in batch requests
    assert [c["path"] for c in calls] == ["/v25.0/112130216863063/feed"] + ["/v25.0/"] * 2
    assert result.calls == 3
    again = fb.fetch(result.cursor)
    assert again.comments == []


@pytest.mark.parametrize("posts", [1, 10, 100, 230])
def test_a_poll_costs_at_most_one_plus_ceil_p_over_50_calls(page: SandboxServer,
                                                           posts: int) -> None:
    fb = connector(page, overlap_seconds=0)
    for n in range(posts):
        made = requests.post(f"{page.url}/_sandbox/posts", json={
            "platform": "facebook", "space": PAGE, "text": f"Publication {n}",
            "created_time": past(120 + n)}, timeout=5).json()
        add(page, "vieux commentaire", post=made["id"], created_time=past(60 + n / 100))
    cursor = fb.fetch({}).cursor  # first poll: reads the backlog
    new_ids = set()
    for post in page.state.space_posts("facebook", PAGE):
        new_ids.add(add(page, f"nouveau sur {post.id}", post=post.id))
    time.sleep(1.05)  # Graph times have whole seconds: let this one end
    before = last_seq(page)
    counted_before = len(page.state.counters[f"graph_space_calls:facebook:{PAGE}"])
    result = fb.fetch(cursor)
    calls = graph_calls(page, before)
    assert {c.platform_id for c in result.comments} == new_ids
    # each post's new comments come inside the feed call (field expansion); beyond one page
    # of posts, the feed's slices found by the previous poll come in one batch request
    assert len(calls) == result.calls == 1 <= 1 + math.ceil(posts / 50)
    assert all(c["space"] == PAGE and not c["over_limit"] for c in calls)
    slices = 1 + len(cursor["feed_marks"].split(",")) if "feed_marks" in cursor else 1
    assert ("feed_marks" in cursor) == (posts > 100)
    window = page.state.counters[f"graph_space_calls:facebook:{PAGE}"]
    assert len(window) - counted_before == slices  # as Graph counts them
    assert slices == (1 if posts <= 100 else math.ceil(posts / 90))

    before = last_seq(page)
    idle = fb.fetch(result.cursor)  # nothing new: the feed alone, nothing twice
    assert idle.comments == []
    assert len(graph_calls(page, before)) == 1


def test_overflowing_posts_ride_with_the_next_feed_page(page: SandboxServer) -> None:
    """150 posts (two feed pages), each with a comment; the newest post has 30 more comments
    and replies, more than the feed call carries. First poll: its next page rides in the same
    batch request as the feed's second page. Second poll, the same again: the feed's two slices
    in one batch, the overflow in the next. Nothing lost, nothing twice."""
    fb = connector(page, overlap_seconds=0)
    posts = [requests.post(f"{page.url}/_sandbox/posts", json={
        "platform": "facebook", "space": PAGE, "text": f"Publication {n}",
        "created_time": past(300 - n)}, timeout=5).json()["id"] for n in range(150)]
    newest = posts[-1]

    def comment_everywhere(round_: int) -> set[str]:
        made = {add(page, f"nouveau {round_}.{n}", post=post) for n, post in enumerate(posts)}
        for n in range(15):
            top = add(page, f"fil {round_}.{n}", post=newest)
            made |= {top, add(page, f"réponse {round_}.{n}", post=newest, parent=top)}
        return made

    cursor: dict[str, str] = {}
    for round_, paths in ((1, [f"/v25.0/{PAGE}/feed", "/v25.0/"]),
                          (2, ["/v25.0/", "/v25.0/"])):
        time.sleep(1.05)
        wanted = comment_everywhere(round_)
        time.sleep(1.05)
        before = last_seq(page)
        result = fb.fetch(cursor)
        assert len(result.comments) == len(wanted) == 150 + 30
        assert {c.platform_id for c in result.comments} == wanted
        replies = [c for c in result.comments if c.parent_id]
        assert len(replies) == 15 and all(c.post_id == newest for c in replies)
        assert [c["path"] for c in graph_calls(page, before)] == paths
        assert result.calls == 2 <= 1 + math.ceil(150 / 50)
        cursor = dict(result.cursor)
    assert fb.fetch(cursor).comments == []


def test_a_long_feed_with_few_new_comments_costs_one_call(page: SandboxServer) -> None:
    """600 posts in the look-back window, new comments on two of them (one old, one published
    since the last poll): the feed's seven slices come in one batch request, whatever the
    window's length; a post on a slice's bound is read once."""
    fb = connector(page, overlap_seconds=0)
    now = page.state.now()
    posts = [page.state.add_post("facebook", PAGE, f"Publication {n}",
                                 created_time=now - dt.timedelta(minutes=2000 - 3 * n))
             for n in range(600)]
    first = fb.fetch({})
    assert first.calls == 6  # no slices known yet: the feed page after page
    marks = first.cursor["feed_marks"].split(",")
    assert len(marks) == 6
    on_bound = next(p for p in posts if str(int(p.created_time.timestamp())) == marks[2])
    fresh = page.state.add_post("facebook", PAGE, "Nouvelle publication")
    time.sleep(1.05)
    wanted = {add(page, "sur une vieille publication", post=posts[3].id),
              add(page, "sur la nouvelle", post=fresh.id),
              add(page, "sur la borne", post=on_bound.id)}
    time.sleep(1.05)
    before = last_seq(page)
    counted = len(page.state.counters[f"graph_space_calls:facebook:{PAGE}"])
    result = fb.fetch(first.cursor)
    assert [c["path"] for c in graph_calls(page, before)] == ["/v25.0/"]
    assert len(page.state.counters[f"graph_space_calls:facebook:{PAGE}"]) - counted == 7
    assert sorted(c.platform_id for c in result.comments) == sorted(wanted)
    assert fb.fetch(result.cursor).comments == []


def test_a_slice_grown_past_a_page_goes_on(page: SandboxServer) -> None:
    """More posts published between two polls than a slice leaves room for: the newest slice
    goes on with its next page in a second batch request; nothing lost, nothing twice."""
    fb = connector(page, overlap_seconds=0, max_posts=20)
    now = page.state.now()
    for n in range(50):
        page.state.add_post("facebook", PAGE, f"Publication {n}",
                            created_time=now - dt.timedelta(minutes=500 - n))
    cursor = fb.fetch({}).cursor
    assert cursor["feed_marks"]
    time.sleep(1.05)
    wanted = set()
    for n in range(10):  # the newest slice: 18 + 10 posts, two pages of 20
        made = page.state.add_post("facebook", PAGE, f"Nouvelle {n}")
        wanted.add(add(page, f"commentaire {n}", post=made.id))
    time.sleep(1.05)
    before = last_seq(page)
    result = fb.fetch(cursor)
    assert {c.platform_id for c in result.comments} == wanted
    assert len(graph_calls(page, before)) == 2 == result.calls
    assert len(result.cursor["feed_marks"].split(",")) == 3  # 60 posts, slices of 18
    assert fb.fetch(result.cursor).comments == []


def test_feed_marks_cut_every_90th_post_and_survive_damage() -> None:
    from connectors.base import RemotePost
    from connectors.facebook import parse_marks, render_marks

    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)

    def posts(times: list[int]) -> list[RemotePost]:
        return [RemotePost(platform_id=str(n), text="", created_time=start + dt.timedelta(
            seconds=t)) for n, t in enumerate(times)]

    base = int(start.timestamp())
    marks = render_marks(posts(list(range(300))), 100)
    assert marks == ",".join(str(base + 299 - k) for k in (89, 179, 269))
    assert render_marks(posts(list(range(90))), 100) == ""
    # posts sharing a second: one bound for them, never the oldest post's second
    assert render_marks(posts([0] * 300), 100) == ""
    assert render_marks(posts([0] * 150 + [5] * 150), 100) == str(base + 5)
    assert parse_marks(marks) == [base + 210, base + 120, base + 30]
    assert parse_marks("12,x") == [] and parse_marks(None) == []
    assert parse_marks("1,3,3,2") == [3, 2, 1]


def test_hide_unhide_delete_and_state(page: SandboxServer) -> None:
    fb = connector(page)
    target = add(page, "Commentaire à masquer", author_name="Anonyme 12")
    assert fb.state(target) == "visible"
    fb.hide(target)
    assert page.state.comments[target].hidden
    assert fb.state(target) == "hidden"
    fb.unhide(target)
    assert fb.state(target) == "visible" and not page.state.comments[target].hidden
    fb.delete(target)
    assert page.state.comments[target].deleted
    assert fb.state(target) == "deleted"
    hidden = fb.fetch({}).comments
    assert target not in {c.platform_id for c in hidden}


def test_the_pages_own_comment_cannot_be_hidden(page: SandboxServer) -> None:
    own = add(page, "Merci de votre patience", by_owner=True)
    with pytest.raises(Refused) as caught:
        connector(page).hide(own)
    assert caught.value.code == 100
    assert not page.state.comments[own].hidden


def test_hidden_comments_are_reported_hidden(page: SandboxServer) -> None:
    target = add(page, "Déjà masqué", author_name="X")
    page.state.comments[target].hidden = True
    (comment,) = connector(page).fetch({}).comments
    assert comment.hidden


def fault(sandbox: SandboxServer, **spec: object) -> None:
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"platform": "facebook", **spec},
                  timeout=5).raise_for_status()


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_rate_limit_errors_become_rate_limited(page: SandboxServer, code: int) -> None:
    add(page, "bonjour")
    fault(page, kind="error", code=code, space=PAGE, seconds=600)
    with pytest.raises(RateLimited) as caught:
        connector(page).fetch({})
    assert caught.value.code == code
    if code in (32, 80001):  # the Business Use Case header says when access comes back
        assert caught.value.retry_at is not None
        wait = caught.value.retry_at - dt.datetime.now(dt.UTC)
        assert dt.timedelta(minutes=8) < wait <= dt.timedelta(minutes=11)


def test_http_429_becomes_rate_limited(page: SandboxServer) -> None:
    fault(page, kind="error", code=429, space=PAGE)
    with pytest.raises(RateLimited) as caught:
        connector(page).fetch({})
    assert caught.value.retry_at is not None


def test_expired_token_becomes_auth_error(page: SandboxServer) -> None:
    fault(page, kind="error", code=190, space=PAGE)
    with pytest.raises(AuthError) as caught:
        connector(page).fetch({})
    assert caught.value.code == 190
    assert "page-token" not in str(caught.value)


def test_server_error_and_timeout_become_unreachable(page: SandboxServer) -> None:
    fault(page, kind="http500", space=PAGE)
    with pytest.raises(Unreachable):
        connector(page).fetch({})
    fault(page, kind="timeout", space=PAGE, delay=3)
    with pytest.raises(Unreachable):
        connector(page).hide(add(page, "x"))


def test_connection_refused_becomes_unreachable() -> None:
    with SandboxServer() as stopped:
        url = stopped.url
    fb = FacebookConnector(platform_id=PAGE, secrets={"page_token": "t"}, api_base_url=url,
                           timeout=1)
    with pytest.raises(Unreachable):
        fb.fetch({})


def test_a_fault_on_one_page_leaves_another_alone(page: SandboxServer) -> None:
    other = "998877665544"
    requests.post(f"{page.url}/_sandbox/comments", json={
        "platform": "facebook", "space": other, "text": "ailleurs"}, timeout=5)
    fault(page, kind="error", code=190, space=PAGE, count=5)
    with pytest.raises(AuthError):
        connector(page).fetch({})
    fine = FacebookConnector(platform_id=other, secrets={"page_token": "t"},
                             api_base_url=page.url, timeout=2).fetch({})
    assert [c.text for c in fine.comments] == ["ailleurs"]


def test_usage_headers_rise_and_limits_are_enforced(page: SandboxServer) -> None:
    requests.post(f"{page.url}/_sandbox/graph/limits",
                  json={"app_per_hour": 1000, "space_per_day": 10}, timeout=5)
    fb = connector(page)
    target = add(page, "bonjour")
    ratios = []
    for _n in range(4):
        fb.state(target)
        ratios.append(fb.last_usage().ratio)  # type: ignore[union-attr]
    assert ratios == sorted(ratios) and ratios[-1] == pytest.approx(0.4)
    for _n in range(6):
        fb.state(target)
    with pytest.raises(RateLimited) as caught:
        fb.state(target)
    assert caught.value.code == 80001 and caught.value.retry_at is not None
    calls = graph_calls(page)
    assert sum(c["over_limit"] for c in calls) == 1
    assert calls[-1]["status"] == 403


def test_batches_count_each_request_against_the_limits(page: SandboxServer) -> None:
    for n in range(3):
        made = requests.post(f"{page.url}/_sandbox/posts", json={
            "platform": "facebook", "space": PAGE, "text": f"P{n}"}, timeout=5).json()
        add(page, "c", post=made["id"])
        add(page, "d", post=made["id"])
    connector(page).fetch({})
    buc = requests.get(f"{page.url}/_sandbox/graph/limits", timeout=5).json()
    assert buc["space_per_day"] == 4800
    connector(page, feed_comments_limit=1).fetch({})  # each post's comments overflow
    window = page.state.counters[f"graph_space_calls:facebook:{PAGE}"]
    # the first poll: one feed call (comments nested); the second: the feed call and the
    # three requests inside its batch
    assert len(window) == 1 + 1 + 3


def test_check_reports_validity_expiry_and_permissions(page: SandboxServer) -> None:
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=50)).replace(microsecond=0)
    requests.post(f"{page.url}/_sandbox/graph/tokens", json={
        "token": "good", "platform": "facebook", "space": PAGE,
        "expires_at": expires.isoformat()}, timeout=5)
    result = connector(page, token="good").check()
    assert result.ok and result.token_expires_at == expires

    requests.post(f"{page.url}/_sandbox/graph/tokens", json={
        "token": "narrow", "platform": "facebook", "space": PAGE,
        "scopes": ["pages_read_engagement"]}, timeout=5)
    result = connector(page, token="narrow").check()
    assert not result.ok
    assert result.missing_permissions == ("pages_read_user_content", "pages_manage_engagement")

    requests.post(f"{page.url}/_sandbox/graph/tokens", json={
        "token": "old", "platform": "facebook", "space": PAGE,
        "expires_at": past(60)}, timeout=5)
    assert not connector(page, token="old").check().ok
    with pytest.raises(AuthError):
        connector(page, token="old").fetch({})


def test_a_token_bound_to_a_page_refuses_others(page: SandboxServer) -> None:
    requests.post(f"{page.url}/_sandbox/spaces", json={
        "platform": "facebook", "id": PAGE, "token": "the-right-one"}, timeout=5)
    with pytest.raises(AuthError):
        connector(page, token="another").fetch({})
    assert connector(page, token="the-right-one").fetch({}).comments == []


def test_app_secret_proof_is_sent(page: SandboxServer) -> None:
    fb = FacebookConnector(platform_id=PAGE, secrets={"page_token": "t", "app_secret": "s"},
                           api_base_url=page.url, timeout=2)
    fb.fetch({})
    # the sandbox hides proofs from its call log; the SDK sent it in the query
    assert fb.client.proof and len(fb.client.proof) == 64


def test_missing_permissions_show_as_the_platform_shows_them(page: SandboxServer) -> None:
    requests.post(f"{page.url}/_sandbox/graph/tokens", json={
        "token": "read-only", "platform": "facebook", "space": PAGE,
        "scopes": ["pages_read_engagement"]}, timeout=5)
    target = add(page, "Commentaire", author_name="Julie Tremblay")
    fb = connector(page, token="read-only")
    (comment,) = fb.fetch({}).comments
    assert comment.author_id is None and comment.author_name is None  # no user content
    with pytest.raises(AuthError) as caught:
        fb.hide(target)
    assert caught.value.code == 200
    assert not page.state.comments[target].hidden


def test_a_batch_of_more_than_50_is_refused_and_counted(page: SandboxServer) -> None:
    fb = connector(page)
    target = add(page, "x")
    with pytest.raises(ValueError):
        fb.client.batch([{"method": "GET", "relative_url": target}] * 51)
    answer = requests.post(f"{page.url}/v25.0/", data={
        "access_token": "t",
        "batch": json.dumps([{"method": "GET", "relative_url": target}] * 51)}, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 1
    assert graph_calls(page)[-1]["over_limit"] is True


def test_an_answer_too_large_is_asked_again_in_smaller_pages(page: SandboxServer) -> None:
    """Graph refuses an answer it finds too large (HTTP 500, error 1, "Please reduce the amount
    of data you're asking for"): the poll asks again with every page size halved until Graph
    answers, loses nothing, counts the refused calls, and keeps the smaller sizes for a day."""
    requests.post(f"{page.url}/_sandbox/graph/limits", json={"answer_objects": 30}, timeout=5)
    posts = [requests.post(f"{page.url}/_sandbox/posts", json={
        "platform": "facebook", "space": PAGE, "text": f"Publication {n}",
        "created_time": past(200 - n)}, timeout=5).json()["id"] for n in range(20)]
    wanted = {add(page, f"commentaire {n}.{k}", post=post, created_time=past(100 - n - k / 10))
              for n, post in enumerate(posts) for k in range(3)}
    fb = connector(page, overlap_seconds=0)
    before = last_seq(page)
    first = fb.fetch({})
    assert {c.platform_id for c in first.comments} == wanted
    calls = graph_calls(page, before)
    refused = [c for c in calls if c["status"] == 500]
    # 100/25/100 (120 objects), 50/12/50 and 25/6/25 (80), 12/3/12 (48): refused; 6/1/6 passes
    assert [c["query"]["limit"] for c in refused] == ["100", "50", "25", "12"]
    assert first.calls == len(calls)
    assert first.cursor["page_sizes"] == "6,1,6"
    until = dt.datetime.fromisoformat(first.cursor["page_sizes_until"])
    assert dt.timedelta(hours=23) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)

    time.sleep(1.05)
    fresh = add(page, "un de plus", post=posts[0])
    time.sleep(1.05)
    before = last_seq(page)
    second = fb.fetch(first.cursor)  # the smaller sizes straight away: nothing refused
    assert [c.platform_id for c in second.comments] == [fresh]
    assert all(c["status"] == 200 for c in graph_calls(page, before))
    assert second.cursor["page_sizes"] == "6,1,6"
    assert second.cursor["page_sizes_until"] == first.cursor["page_sizes_until"]

    # a day later the configured sizes are tried again: with nothing new the answer is small
    before = last_seq(page)
    third = fb.fetch(dict(second.cursor, page_sizes_until=past(1)))
    assert third.calls == 1 and all(c["status"] == 200 for c in graph_calls(page, before))
    assert "page_sizes" not in third.cursor and "page_sizes_until" not in third.cursor


def test_an_answer_too_large_even_one_by_one_is_a_server_error(page: SandboxServer) -> None:
    requests.post(f"{page.url}/_sandbox/graph/limits", json={"answer_objects": 1}, timeout=5)
    add(page, "bonjour")
    with pytest.raises(TooMuchData) as caught:  # an Unreachable: the daemon retries later
        connector(page).fetch({})
    assert isinstance(caught.value, Unreachable) and "reduce the amount" in caught.value.message
    # a damaged cursor is read as the configured sizes
    with pytest.raises(Unreachable):
        connector(page).fetch({"page_sizes": "x,0", "page_sizes_until": "demain"})
