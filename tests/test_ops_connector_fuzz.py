"""Property-based tests of every connector's parsing, through its real SDK over real HTTP.

A proxy stands between the connector and the sandbox platform and damages the sandbox's real
answers the way a platform (or the network) can: a key removed, a value of the wrong type,
unknown keys added, arbitrary Unicode or a 100 KB text in a string, a truncated body, an HTML
error page instead of JSON. Whatever comes back, ``fetch`` either returns well-formed comments
or raises one of the connector errors (which the pipeline records in one line, keeping its
cursor, so nothing is lost); and added keys alone never lose a comment.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors import registry
from connectors.base import FetchResult, RemoteComment
from connectors.errors import ConnectorError
from connectors.sandbox.server import SandboxServer
from tests.support import make_config, post_comment, space_toml
from tests.support import test_environ as secrets_environ
from watcher.secrets import resolve

ACCOUNTS = {
    "facebook": "100064000000071",
    "instagram": "17841400000000071",
    "x": "1500000000000000071",
    "youtube": "UCsandboxChannel0000071",
}
MUTATIONS = ("none", "extra", "drop", "retype", "unicode", "huge", "truncate", "garbage")
SKIP_HEADERS = {"content-length", "content-encoding", "transfer-encoding", "connection", "host"}


# --- damaging JSON ---------------------------------------------------------------------------


def _paths(node: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _set(node: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = node
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return node


def _get(node: Any, path: tuple) -> Any:
    for step in path:
        node = node[step]
    return node


WEIRD_TEXT = ["", "\ud800", "\x00", "\u202eevil", "😡" * 3, "<script>alert(1)</script>",
              "Ｉｄｉｏｔ", "\n\r\t", "a\u0000b"]


def _other_value(rng: random.Random) -> Any:
    return rng.choice([None, 0, -1, 1.5, True, "", "x", [], {}, [1, "a"], {"id": None},
                       "2026-13-45T99:99:99+0000", "not-a-date", 10**30])


def damage(body: bytes, kind: str, seed: int) -> bytes:
    """Given a JSON body, return it damaged by ``kind`` (deterministic for ``seed``)."""
    rng = random.Random(seed)
    if kind == "garbage":
        return rng.choice([b"<html><body>502 Bad Gateway</body></html>", b"", b"\xff\xfe\x00",
                           b"null", b"[]", b"42", b'"text"'])
    if kind == "truncate":
        return body[: rng.randrange(0, max(len(body), 1))]
    try:
        data = json.loads(body)
    except ValueError:
        return body
    paths = list(_paths(data))
    if kind == "extra":
        for path in paths:
            target = _get(data, path)
            if isinstance(target, dict) and rng.random() < 0.5:
                target[f"unexpected_{rng.randrange(1000)}"] = _other_value(rng)
    elif kind == "drop":
        keyed = [p for p in paths if p and isinstance(p[-1], str)]
        for path in rng.sample(keyed, min(len(keyed), rng.randint(1, 3))):
            try:
                parent = _get(data, path[:-1])
                parent.pop(path[-1], None)
            except (KeyError, IndexError, TypeError, AttributeError):
                continue
    elif kind == "retype":
        for path in rng.sample(paths, min(len(paths), rng.randint(1, 3))):
            try:
                data = _set(data, path, _other_value(rng))
            except (KeyError, IndexError, TypeError):
                continue
    elif kind in ("unicode", "huge"):
        strings = [p for p in paths if p and isinstance(_get(data, p), str)]
        for path in rng.sample(strings, min(len(strings), rng.randint(1, 4))):
            value = rng.choice(WEIRD_TEXT) if kind == "unicode" else "é" * 100_000
            data = _set(data, path, value)
    return json.dumps(data).encode()


class DamagingProxy:
    """Forward every request to the sandbox; damage the n-th answer as the plan says."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.plan: list[tuple[str, int]] = []
        self.requests = 0
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self, plan: list[tuple[str, int]]) -> None:
        with self.lock:
            self.plan, self.requests = plan, 0

    def app(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            index = self.requests
            self.requests += 1
            step = self.plan[index] if index < len(self.plan) else ("none", 0)
        upstream = requests.request(
            request.method,
            self.upstream + request.full_path.rstrip("?"),
            data=request.get_data(),
            headers={k: v for k, v in request.headers.items() if k.lower() not in SKIP_HEADERS},
            timeout=30,
        )
        body = upstream.content
        if step[0] != "none":
            body = damage(body, *step)
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in SKIP_HEADERS]
        return Response(body, status=upstream.status_code, headers=headers)(
            environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- one sandbox, one proxy, per platform ------------------------------------------------------


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    sandbox = SandboxServer().start()
    proxy = DamagingProxy(sandbox.url)
    state = tmp_path_factory.mktemp("fuzz")
    built: dict[str, Any] = {}
    for platform, account in ACCOUNTS.items():
        first = post_comment(sandbox.url, account, "Merci pour l'information!",
                             platform=platform, author_name="Annie Lavoie", author_id="a1")
        post_comment(sandbox.url, account, "Espèce d'idiot.", platform=platform,
                     author_name="Compte Jetable", author_id="a2")
        post_comment(sandbox.url, account, "Je suis d'accord.", platform=platform,
                     author_name="Marc Gagnon", author_id="a3", parent=first)
        config = make_config(state, [space_toml(platform, proxy.url, platform=platform,
                                                platform_id=account)])
        environ = secrets_environ(config)
        space = config.space(platform)
        built[platform] = (space, {name: resolve(ref, environ)
                                   for name, ref in space.secrets.items()})
    yield {"sandbox": sandbox, "proxy": proxy, "spaces": built}
    proxy.stop()
    sandbox.stop()


def _fetch(world: dict[str, Any], platform: str, plan: list[tuple[str, int]]) -> FetchResult:
    proxy: DamagingProxy = world["proxy"]
    proxy.reset(plan)
    space, secrets = world["spaces"][platform]
    connector = registry.build(space, secrets)
    try:
        return connector.fetch({})
    finally:
        connector.close()


def _well_formed(comment: RemoteComment) -> None:
    assert isinstance(comment.platform_id, str) and comment.platform_id
    assert isinstance(comment.text, str)
    assert isinstance(comment.created_time, dt.datetime)
    assert comment.created_time.tzinfo is not None
    assert comment.author_id is None or isinstance(comment.author_id, str)


PLANS = st.lists(st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 2**32)), min_size=1,
                 max_size=6)


@pytest.mark.parametrize("platform", sorted(ACCOUNTS))
def test_clean_answers_give_every_comment(worlds: dict[str, Any], platform: str) -> None:
    result = _fetch(worlds, platform, [])
    assert len(result.comments) == 3
    for comment in result.comments:
        _well_formed(comment)


@pytest.mark.parametrize("platform", sorted(ACCOUNTS))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=PLANS)
def test_damaged_answers_never_crash_a_connector(
    worlds: dict[str, Any], platform: str, plan: list[tuple[str, int]]
) -> None:
    try:
        result = _fetch(worlds, platform, plan)
    except ConnectorError as error:
        message = str(error)
        assert message.strip() and "\n" not in message.strip(), message
        assert "Traceback" not in message
        return
    assert isinstance(result, FetchResult)
    for comment in result.comments:
        _well_formed(comment)
    assert worlds["proxy"].requests < 200  # paging that loops on a damaged cursor is bounded
    if all(kind in ("none", "extra") for kind, _seed in plan):
        assert len(result.comments) == 3  # unknown keys lose nothing


def test_damage_is_real() -> None:
    """The mutations change what they claim to (so the test above is not vacuous)."""
    body = json.dumps({"data": [{"id": "1", "message": "m", "from": {"id": "2"}}]}).encode()
    assert damage(body, "truncate", 3) != body
    assert b"unexpected_" in damage(body, "extra", 1) or b"unexpected_" in damage(body, "extra", 2)
    assert damage(body, "drop", 5) != body
    assert len(damage(body, "huge", 7)) > 100_000
    assert all(damage(body, "garbage", seed) != body for seed in range(20))
