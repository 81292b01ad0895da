"""The sandbox HTTP server: the platforms' routes plus the control API under ``/_sandbox/``.

Platform routes live in one module per API (``PLATFORM_MODULES``); each defines a Flask
``blueprint`` and uses :func:`state`, :func:`note_call` and :func:`take_fault` from here. Every
request to a platform route is recorded (``GET /_sandbox/calls``) with its platform and space.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from connectors.sandbox.state import PLATFORMS, Fault, SandboxState

log = logging.getLogger(__name__)

# One module per platform API. Each exposes ``blueprint`` (a flask.Blueprint).
PLATFORM_MODULES: tuple[str, ...] = (
    "connectors.sandbox.graph",
    "connectors.sandbox.x_api",
    "connectors.sandbox.youtube_api",
)

SENSITIVE_PARAMS = {
    "access_token", "key", "appsecret_proof", "client_secret", "input_token", "refresh_token",
}

control = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


def state() -> SandboxState:
    """Return the sandbox state of the current app."""
    return current_app.config["SANDBOX_STATE"]


def note_call(platform: str, space: str | None = None, *, over_limit: bool = False) -> None:
    """Tell the call log which platform and space this request is for."""
    g.sandbox_platform = platform
    g.sandbox_space = space
    g.sandbox_over_limit = bool(getattr(g, "sandbox_over_limit", False) or over_limit)


def take_fault(platform: str, space: str | None) -> Fault | None:
    """Return the injected fault for this request (the caller renders it), if any.

    A ``timeout`` fault holds the request for its delay first (long enough for the client's
    timeout to fire); a ``slow`` fault holds it, then lets it be answered normally.
    """
    fault = state().take_fault(platform, space)
    if fault is not None and fault.kind in ("timeout", "slow"):
        threading.Event().wait(fault.delay)
        if fault.kind == "slow":
            return None
    return fault


def _parse_time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _bad(message: str, status: int = 400) -> Any:
    return jsonify({"error": message}), status


@control.get("/health")
def health() -> Any:
    return jsonify({"ok": True, "platforms": list(PLATFORMS)})


@control.post("/comments")
def post_comment() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _bad("expected a JSON object")
    platform = body.get("platform", "facebook")
    if platform not in PLATFORMS or not isinstance(body.get("text"), str):
        return _bad("expected platform (facebook|instagram|x|youtube), space and text")
    space = str(body.get("space") or "")
    if not space:
        return _bad("space is required")
    try:
        comment = state().add_comment(
            platform,
            space,
            body["text"],
            post_id=body.get("post"),
            author_name=str(body.get("author_name") or "Anonyme"),
            author_id=body.get("author_id"),
            parent=body.get("parent"),
            created_time=_parse_time(body.get("created_time")),
            by_owner=bool(body.get("by_owner", False)),
            author_username=str(body.get("author_username") or ""),
        )
    except (KeyError, ValueError) as error:
        return _bad(str(error), 404)
    return jsonify({"id": comment.id, "post": comment.post}), 201


@control.get("/comments/<comment_id>")
def get_comment(comment_id: str) -> Any:
    comment = state().comment(comment_id)
    if comment is None:
        return _bad("no such comment", 404)
    return jsonify(comment.public())


@control.get("/comments")
def list_comments() -> Any:
    platform = request.args.get("platform")
    space = request.args.get("space")
    with state().locked() as st:
        items = [
            c.public()
            for c in st.comments.values()
            if (platform is None or c.platform == platform) and (space is None or c.space == space)
        ]
    return jsonify({"data": items})


@control.post("/posts")
def post_post() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("platform", "facebook") not in PLATFORMS:
        return _bad("expected platform, space and text")
    space = str(body.get("space") or "")
    if not space:
        return _bad("space is required")
    post = state().add_post(
        body.get("platform", "facebook"),
        space,
        str(body.get("text", "")),
        created_time=_parse_time(body.get("created_time")),
    )
    return jsonify({"id": post.id}), 201


@control.post("/spaces")
def post_space() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("platform") not in PLATFORMS or not body.get("id"):
        return _bad("expected platform and id")
    space = state().ensure_space(body["platform"], str(body["id"]), body.get("name"))
    if "token" in body:
        space.token = body["token"]
    if body.get("username"):
        space.username = str(body["username"])
    return jsonify({"platform": space.platform, "id": space.id}), 201


@control.get("/calls")
def get_calls() -> Any:
    since = request.args.get("since", type=int, default=0)
    platform = request.args.get("platform")
    space = request.args.get("space")
    with state().locked() as st:
        calls = [
            c.__dict__
            for c in st.calls
            if c.seq > since
            and (platform is None or c.platform == platform)
            and (space is None or c.space == space)
        ]
    return jsonify({"data": calls, "over_limit": sum(1 for c in calls if c["over_limit"])})


@control.delete("/calls")
def clear_calls() -> Any:
    with state().locked() as st:
        st.calls.clear()
    return jsonify({"ok": True})


@control.post("/faults")
def post_fault() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _bad("expected a JSON object")
    try:
        fault = state().add_fault(
            body.get("platform", "facebook"),
            body.get("kind", "error"),
            space=body.get("space"),
            code=body.get("code"),
            count=body.get("count"),
            seconds=body.get("seconds"),
            delay=float(body.get("delay", 5.0)),
        )
    except (TypeError, ValueError) as error:
        return _bad(str(error))
    return jsonify({"id": fault.id}), 201


@control.delete("/faults")
def delete_faults() -> Any:
    state().clear_faults()
    return jsonify({"ok": True})


@control.post("/clock")
def advance_clock() -> Any:
    body = request.get_json(silent=True) or {}
    state().advance(float(body.get("advance_seconds", 0)))
    return jsonify({"now": state().now().isoformat()})


@control.post("/reset")
def reset() -> Any:
    state().reset()
    return jsonify({"ok": True})


def _record(response: Any) -> Any:
    platform = getattr(g, "sandbox_platform", None)
    if platform is None:
        return response
    query = {k: v for k, v in request.args.items() if k not in SENSITIVE_PARAMS}
    if request.method != "GET" and request.form:
        query.update({k: v for k, v in request.form.items() if k not in SENSITIVE_PARAMS})
    state().record_call(
        platform,
        request.method,
        request.path,
        query,
        response.status_code,
        space=getattr(g, "sandbox_space", None),
        over_limit=bool(getattr(g, "sandbox_over_limit", False)),
    )
    return response


def create_app(sandbox: SandboxState | None = None) -> Flask:
    """Return the sandbox WSGI app over the given (or a new) state."""
    app = Flask("vigie-sandbox")
    app.config["SANDBOX_STATE"] = sandbox or SandboxState()
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(control)
    for module_name in PLATFORM_MODULES:
        module = importlib.import_module(module_name)
        app.register_blueprint(module.blueprint)
    app.after_request(_record)
    return app


def load_scenario(sandbox: SandboxState, path: Path) -> int:
    """Load a scenario file (JSON, docs/sandbox.md) into the state; return the comments added."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for space in data.get("spaces", []):
        sb_space = sandbox.ensure_space(space["platform"], str(space["id"]), space.get("name"))
        sb_space.username = space.get("username", sb_space.username)
    added = 0
    aliases: dict[str, str] = {}
    for post in data.get("posts", []):
        created = _parse_time(post.get("created_time"))
        made = sandbox.add_post(post["platform"], str(post["space"]), post.get("text", ""), created)
        aliases[str(post.get("key", made.id))] = made.id
    for comment in data.get("comments", []):
        parent = comment.get("parent")
        made_comment = sandbox.add_comment(
            comment["platform"],
            str(comment["space"]),
            comment["text"],
            post_id=aliases.get(str(comment.get("post")), comment.get("post")),
            author_name=comment.get("author_name", "Anonyme"),
            author_id=comment.get("author_id"),
            parent=aliases.get(str(parent), parent) if parent else None,
            created_time=_parse_time(comment.get("created_time")),
            by_owner=bool(comment.get("by_owner", False)),
        )
        if comment.get("key"):
            aliases[str(comment["key"])] = made_comment.id
        added += 1
    return added


class SandboxServer:
    """A sandbox listening on a local port, served from a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, sandbox: SandboxState | None = None):
        self.state = sandbox or SandboxState()
        self.app = create_app(self.state)
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
