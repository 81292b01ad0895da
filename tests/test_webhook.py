"""The webhook receiver over real HTTP, with a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlmodel import select
from werkzeug.serving import make_server

from connectors.base import RemoteComment
from connectors.webhook import create_app
from tests.support import make_config, make_runtime, remote, space_toml
from watcher.store.db import Store
from watcher.store.models import Comment, WebhookDelivery

SECRET = "app-secret-for-tests"
VERIFY = "verify-me"
PAGE = "44444444"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[RemoteComment]]] = []
        self.fail = False

    def __call__(self, space_id: str, comments: list[RemoteComment]) -> None:
        if self.fail:
            raise RuntimeError("pipeline down")
        self.calls.append((space_id, comments))


def serve(app) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture
def hook(store: Store) -> Iterator[tuple[str, Recorder, Store]]:
    recorder = Recorder()
    app = create_app(store=store, spaces={("facebook", PAGE): "page-ecole",
                                          ("instagram", "1784"): "ig-ecole"},
                     app_secret=SECRET, verify_token=VERIFY, handler=recorder)
    url, server = serve(app)
    yield url, recorder, store
    server.shutdown()  # type: ignore[attr-defined]


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def feed_delivery(comment_id: str, message: str, *, parent: str | None = None,
                  author: str = "1234") -> bytes:
    value = {
        "from": {"id": author, "name": "Parent inquiet"},
        "post": {"status_type": "added_photos", "is_published": True,
                 "updated_time": "2026-11-28T01:00:00+0000", "id": f"{PAGE}_555"},
        "message": message, "post_id": f"{PAGE}_555", "comment_id": comment_id,
        "created_time": 1795827600, "item": "comment", "parent_id": parent or f"{PAGE}_555",
        "verb": "add",
    }
    return json.dumps({"object": "page", "entry": [
        {"id": PAGE, "time": 1795827601, "changes": [{"field": "feed", "value": value}]}]}
    ).encode()


def test_verification_challenge(hook) -> None:
    url, _recorder, _store = hook
    ok = requests.get(f"{url}/webhook", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"},
        timeout=5)
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = requests.get(f"{url}/webhook", params={
        "hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "x"}, timeout=5)
    assert bad.status_code == 403


def test_signature_is_required(hook) -> None:
    url, recorder, _store = hook
    body = feed_delivery("555_1", "allo")
    assert requests.post(f"{url}/webhook", data=body, timeout=5).status_code == 403
    assert requests.post(f"{url}/webhook", data=body, headers=signed(body, "other"),
                         timeout=5).status_code == 403
    assert recorder.calls == []


def test_comments_are_handed_over_once(hook) -> None:
    url, recorder, store = hook
    body = feed_delivery("555_1", "Vous êtes des incompétents")
    first = requests.post(f"{url}/webhook", data=body, headers=signed(body), timeout=5)
    assert first.status_code == 200 and first.json() == {"handled": 1}
    ((space, comments),) = recorder.calls
    assert space == "page-ecole"
    (comment,) = comments
    assert comment.platform_id == "555_1" and comment.parent_id is None
    assert comment.post_id == f"{PAGE}_555" and comment.author_name == "Parent inquiet"
    assert comment.created_time.tzinfo is not None
    # Meta retries the same delivery: nothing is handed over twice
    again = requests.post(f"{url}/webhook", data=body, headers=signed(body), timeout=5)
    assert again.json() == {"handled": 0} and len(recorder.calls) == 1
    with store.session() as session:
        assert len(session.exec(select(WebhookDelivery)).all()) == 1


def test_replies_keep_their_parent_and_other_changes_are_ignored(hook) -> None:
    url, recorder, _store = hook
    body = feed_delivery("555_2", "réponse", parent="555_1")
    requests.post(f"{url}/webhook", data=body, headers=signed(body), timeout=5)
    assert recorder.calls[0][1][0].parent_id == "555_1"
    like = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": 1, "changes": [
        {"field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": "1_2"}}]}]}
    ).encode()
    answer = requests.post(f"{url}/webhook", data=like, headers=signed(like), timeout=5)
    assert answer.json() == {"handled": 0} and len(recorder.calls) == 1
    other_page = feed_delivery("9_9", "ailleurs").replace(PAGE.encode(), b"77777777")
    answer = requests.post(f"{url}/webhook", data=other_page, headers=signed(other_page),
                           timeout=5)
    assert answer.status_code == 200 and len(recorder.calls) == 1


def test_instagram_comments(hook) -> None:
    url, recorder, _store = hook
    body = json.dumps({"object": "instagram", "entry": [{"id": "1784", "time": 1, "changes": [
        {"field": "comments", "value": {"from": {"id": "232323", "username": "eleve"},
                                        "media": {"id": "123123"}, "id": "17865799348089039",
                                        "text": "This is an example."}}]}]}).encode()
    requests.post(f"{url}/webhook", data=body, headers=signed(body), timeout=5)
    ((space, (comment,)),) = recorder.calls
    assert space == "ig-ecole" and comment.author_name == "eleve"
    assert comment.post_id == "123123"


def test_garbage_is_refused_cleanly(hook) -> None:
    url, recorder, _store = hook
    for body in (b"not json", b"[]", b'{"object": "page", "entry": [42]}'):
        answer = requests.post(f"{url}/webhook", data=body, headers=signed(body), timeout=5)
        assert answer.status_code == 400
    assert recorder.calls == []


def test_a_failed_handover_is_retried_by_meta(hook) -> None:
    url, recorder, _store = hook
    body = feed_delivery("555_3", "x")
    recorder.fail = True
    failed = requests.post(f"{url}/webhook", data=body, headers=signed(body), timeout=5)
    assert failed.status_code == 500
    recorder.fail = False
    retried = requests.post(f"{url}/webhook", data=body, headers=signed(body), timeout=5)
    assert retried.json() == {"handled": 1}


def test_through_the_pipeline_a_comment_is_hidden_within_seconds(sandbox, tmp_path: Path
                                                                 ) -> None:
    from watcher.pipeline import ingest_and_process

    config = make_config(tmp_path, [space_toml("page-ecole", sandbox.url, platform_id=PAGE)])
    runtime = make_runtime(config)
    try:
        comment_id = sandbox.state.add_comment(
            "facebook", PAGE, "Je vais te tuer, espèce d'idiot", author_name="X").id
        app = create_app(store=runtime.store, spaces={("facebook", PAGE): "page-ecole"},
                         app_secret=SECRET, verify_token=VERIFY,
                         handler=lambda sid, cs: ingest_and_process(runtime, sid, cs))
        url, server = serve(app)
        post_id = sandbox.state.comments[comment_id].post
        body = json.loads(feed_delivery(comment_id, "Je vais te tuer, espèce d'idiot"))
        value = body["entry"][0]["changes"][0]["value"]
        value["post_id"] = post_id
        value["parent_id"] = post_id
        raw = json.dumps(body).encode()
        answer = requests.post(f"{url}/webhook", data=raw, headers=signed(raw), timeout=30)
        server.shutdown()  # type: ignore[attr-defined]
        assert answer.json() == {"handled": 1}
        with runtime.store.session() as session:
            stored = session.exec(select(Comment).where(Comment.platform_id == comment_id)).one()
            assert stored.text.startswith("Je vais te tuer")
        assert remote(sandbox.url, comment_id)["hidden"] is True
    finally:
        runtime.close()
