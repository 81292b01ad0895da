"""The Graph API subset Vigie uses, for Facebook Pages and Instagram professional accounts.

Paths are the real ones under any version prefix (``/v21.0/...``); parameters, JSON shapes,
cursor paging, batch requests, usage headers and error bodies follow the real Graph API (see
docs/sandbox.md, "Graph API"). Served:

- ``GET /{page-id}/feed`` and ``/{page-id}/posts`` (``fields``, ``since``, ``until``, ``limit``,
  ``after``/``before``), ``GET /{id}/comments`` (``filter=stream|toplevel``, ``order``,
  ``since``, ``limit``, ``summary``, ``fields``), field expansion
  (``comments.filter(stream).since(T).limit(N){...}``), ``POST /`` with ``batch`` (at most 50);
- ``GET /{comment-id}``, ``POST /{comment-id}`` ``is_hidden`` (Facebook) or ``hide``
  (Instagram), ``DELETE /{comment-id}``;
- ``GET /me``, ``GET /debug_token``;
- Instagram: ``GET /{ig-user-id}/media``, ``GET /{media-id}/comments`` (newest first, at most
  50 a page), ``GET /{ig-comment-id}/replies``.

Limits: every request (and every request inside a batch) counts against the app's hourly
window (``X-App-Usage``) and the Page's or Instagram account's 24-hour Business Use Case window
(``X-Business-Use-Case-Usage``). A call past either limit is answered with the real rate-limit
error (code 4, 80001 or 80002) and recorded with ``over_limit``. The limits are settable under
``/_sandbox/graph/limits``; tokens (scopes, expiry, validity) under ``/_sandbox/graph/tokens``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, Response, jsonify, request
from werkzeug.routing import BaseConverter

from connectors.sandbox.server import note_call, state, take_fault
from connectors.sandbox.state import Fault, SandboxState, SbComment, SbPost

blueprint = Blueprint("sandbox_graph", __name__)

GRAPH_PLATFORMS = ("facebook", "instagram")
MAX_BATCH = 50
# Documented formulas: app (Platform) limit = 200 calls an hour per user of the app; Pages and
# Instagram Business Use Case limit = 4800 calls in 24 hours per engaged user / impression.
# The sandbox uses 10 app users and 1 engaged user; both are settable (docs/sandbox.md).
DEFAULT_LIMITS = {"app_per_hour": 200 * 10, "space_per_day": 4800 * 1,
                  # objects (posts or media, and their nested comments) one answer may hold;
                  # past it Graph answers error 1, "Please reduce the amount of data..."
                  "answer_objects": 10_000}
TOO_MUCH_DATA = "Please reduce the amount of data you're asking for, then retry your request"
APP_WINDOW = dt.timedelta(hours=1)
SPACE_WINDOW = dt.timedelta(hours=24)
ALL_FB_SCOPES = (
    "pages_show_list",
    "pages_read_engagement",
    "pages_read_user_content",
    "pages_manage_engagement",
    "pages_manage_metadata",
)
ALL_IG_SCOPES = ("instagram_basic", "instagram_manage_comments", "pages_show_list",
                 "pages_read_engagement")
SANDBOX_APP_ID = "1000000000000001"


class GraphVersionConverter(BaseConverter):
    """``v21.0``, ``v3.1``: any Graph version."""

    regex = r"v\d{1,2}\.\d{1,2}"


def hidden_ids(method: str, path: str, query: dict[str, Any]) -> list[str]:
    """Given a recorded Graph call (``/_sandbox/calls``), return the ids of the comments it asked
    Facebook to hide, in order: ``POST /{id}`` with ``is_hidden=true``, or the like requests
    inside a batch. For the tests and benchmarks that read the call log."""
    if method != "POST":
        return []
    if "batch" not in query:
        hidden = str(query.get("is_hidden", "")).lower() == "true"
        return [path.rstrip("/").rsplit("/", 1)[-1]] if hidden else []
    try:
        items = json.loads(query["batch"])
    except (TypeError, ValueError):
        return []
    return [str(item.get("relative_url", "")).split("?")[0].rsplit("/", 1)[-1]
            for item in (items if isinstance(items, list) else ())
            if isinstance(item, dict) and item.get("method") == "POST"
            and "is_hidden=true" in str(item.get("body"))]


@blueprint.record_once
def _add_converter(setup: Any) -> None:
    setup.app.url_map.converters["graphver"] = GraphVersionConverter


# --- time and errors ---------------------------------------------------------------------


def fb_time(value: dt.datetime) -> str:
    """Render a time the way Graph does: ``2021-08-10T18:45:03+0000``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_graph_time(value: str | None) -> dt.datetime | None:
    """Parse ``since``/``until``: a UNIX timestamp or an ISO 8601 time."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return dt.datetime.fromtimestamp(int(text), dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise GraphError(100, f"(#100) Invalid parameter: cannot parse time {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _trace_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(9)).decode().rstrip("=")


class GraphError(Exception):
    """A Graph error body ``{"error": {...}}`` with its HTTP status."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: int = 400,
        type_: str = "OAuthException",
        subcode: int | None = None,
        transient: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.type = type_
        self.subcode = subcode
        self.transient = transient
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.transient is not None:
            error["is_transient"] = self.transient
        error["fbtrace_id"] = _trace_id()
        return {"error": error}


def _no_object(object_id: str, method: str = "get") -> GraphError:
    return GraphError(
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        type_="GraphMethodException",
        subcode=33,
    )


RATE_LIMIT_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
    "again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
    "try again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}


def rate_limit_error(code: int, regain_minutes: int, space: str | None) -> GraphError:
    headers = {}
    if code in (80001, 80002, 32) and space:
        kind = "instagram" if code == 80002 else "pages"
        headers["X-Business-Use-Case-Usage"] = json.dumps(
            {space: [{"type": kind, "call_count": 100, "total_cputime": 100, "total_time": 100,
                      "estimated_time_to_regain_access": regain_minutes}]}
        )
    elif code in (4, 17, 613):
        headers["X-App-Usage"] = json.dumps(
            {"call_count": 100, "total_cputime": 100, "total_time": 100}
        )
    return GraphError(code, RATE_LIMIT_MESSAGES[code], status=403, transient=True,
                      headers=headers)


def expired_token_error(now: dt.datetime, expired_at: dt.datetime | None = None) -> GraphError:
    expired_at = expired_at or now - dt.timedelta(hours=1)
    return GraphError(
        190,
        "Error validating access token: Session has expired on "
        f"{expired_at.strftime('%A, %d-%b-%y %H:%M:%S')} UTC. The current time is "
        f"{now.strftime('%A, %d-%b-%y %H:%M:%S')} UTC.",
        subcode=463,
    )


def fault_error(fault: Fault, space: str | None, now: dt.datetime) -> tuple[int, dict, dict]:
    """Render an injected fault: (HTTP status, body, headers)."""
    if fault.kind == "http500":
        error = GraphError(2, "An unexpected error has occurred. Please retry your request "
                           "later.", status=500, transient=True)
        return 500, error.body(), {}
    code = int(fault.code or 1)
    if code == 429:
        return 429, {"error": {"message": "Too Many Requests", "type": "OAuthException",
                               "code": 4, "is_transient": True, "fbtrace_id": _trace_id()}}, {
            "Retry-After": "60"}
    if code in RATE_LIMIT_MESSAGES:
        minutes = 1
        if fault.until is not None:
            minutes = max(1, math.ceil((fault.until - now).total_seconds() / 60))
        error = rate_limit_error(code, minutes, space)
        return error.status, error.body(), error.headers
    if code == 190:
        error = expired_token_error(now)
        return error.status, error.body(), {}
    error = GraphError(code, f"(#{code}) An error injected by the sandbox.")
    return error.status, error.body(), {}


# --- field specifications ----------------------------------------------------------------


@dataclass
class FieldSpec:
    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    children: list[FieldSpec] | None = None


def parse_fields(text: str | None) -> list[FieldSpec] | None:
    """Parse ``id,message,comments.filter(stream).limit(5){id,from{name}}``."""
    if not text:
        return None
    specs, rest = _parse_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise GraphError(100, f"(#100) Syntax error in fields near position {rest}")
    return specs


def _parse_list(text: str, pos: int) -> tuple[list[FieldSpec], int]:
    specs: list[FieldSpec] = []
    while pos < len(text):
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, pos)
        if not match:
            raise GraphError(100, f"(#100) Syntax error in fields near position {pos}")
        spec = FieldSpec(match.group(0))
        pos = match.end()
        while pos < len(text) and text[pos] in ".{":
            if text[pos] == ".":
                mod = re.compile(r"\.([A-Za-z_]+)\(([^()]*)\)").match(text, pos)
                if not mod:
                    raise GraphError(100, f"(#100) Syntax error in fields near position {pos}")
                spec.modifiers[mod.group(1)] = mod.group(2)
                pos = mod.end()
            else:
                children, pos = _parse_list(text, pos + 1)
                if pos >= len(text) or text[pos] != "}":
                    raise GraphError(100, "(#100) Syntax error in fields: missing }")
                spec.children = children
                pos += 1
        specs.append(spec)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        break
    return specs, pos


def _spec_list(specs: list[FieldSpec] | None, default: str) -> list[FieldSpec]:
    return specs if specs is not None else (parse_fields(default) or [])


# --- request context ---------------------------------------------------------------------


@dataclass
class Call:
    """One Graph request (top-level or inside a batch)."""

    method: str
    path: str  # without version, no leading slash
    params: dict[str, str]
    base_url: str  # for paging.next
    version: str
    scopes: frozenset[str] | None = None  # of a registered token; None: every scope


@dataclass
class Target:
    platform: str
    space: str | None
    kind: str  # page | ig_user | post | media | comment | me | debug_token | unknown
    obj: Any = None


def _tokens(st: SandboxState) -> dict[str, dict[str, Any]]:
    return st.counters.setdefault("graph_tokens", {})


def _limits(st: SandboxState) -> dict[str, int]:
    return st.counters.setdefault("graph_limits", dict(DEFAULT_LIMITS))


def resolve(st: SandboxState, object_id: str, token: str | None) -> Target:
    """Given the first path segment, return what it names."""
    if object_id == "me":
        info = _tokens(st).get(token or "")
        if info and info.get("space"):
            return Target(info.get("platform", "facebook"), info["space"], "me")
        spaces = [s for s in st.spaces.values() if s.platform == "facebook"]
        for space in spaces:
            if space.token and space.token == token:
                return Target("facebook", space.id, "me")
        if len(spaces) == 1:
            return Target("facebook", spaces[0].id, "me")
        return Target("facebook", None, "me")
    if object_id == "debug_token":
        return Target("facebook", None, "debug_token")
    for platform in GRAPH_PLATFORMS:
        space = st.spaces.get((platform, object_id))
        if space is not None:
            return Target(platform, space.id, "page" if platform == "facebook" else "ig_user",
                          space)
    post = st.posts.get(object_id)
    if post is not None and post.platform in GRAPH_PLATFORMS:
        return Target(post.platform, post.space, "post" if post.platform == "facebook"
                      else "media", post)
    comment = st.comments.get(object_id)
    if comment is not None and comment.platform in GRAPH_PLATFORMS:
        return Target(comment.platform, comment.space, "comment", comment)
    return Target("facebook", None, "unknown")


def _check_token(st: SandboxState, target: Target, token: str | None, now: dt.datetime) -> None:
    if not token:
        raise GraphError(104, "An access token is required to request this resource.")
    info = _tokens(st).get(token)
    if info is not None:
        if not info.get("valid", True):
            raise GraphError(190, "Error validating access token: The session has been "
                             "invalidated because the user changed their password or Facebook "
                             "has changed the session for security reasons.", subcode=460)
        expires = info.get("expires_at")
        if expires and parse_graph_time(expires) <= now:  # type: ignore[operator]
            raise expired_token_error(now, parse_graph_time(expires))
    if target.space is None:
        return
    space = st.spaces.get((target.platform, target.space))
    if space is not None and space.token and space.token != token:
        raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")


# --- rate limits and usage ---------------------------------------------------------------


def _window(st: SandboxState, key: str, span: dt.timedelta, now: dt.datetime) -> list[dt.datetime]:
    calls: list[dt.datetime] = st.counters.setdefault(key, [])
    cutoff = now - span
    while calls and calls[0] <= cutoff:
        calls.pop(0)
    return calls


def count_call(st: SandboxState, target: Target, now: dt.datetime) -> tuple[bool, GraphError | None]:
    """Count one call against the app and space windows; return (over_limit, error)."""
    limits = _limits(st)
    app = _window(st, "graph_app_calls", APP_WINDOW, now)
    error: GraphError | None = None
    if len(app) >= limits["app_per_hour"]:
        regain = math.ceil(((app[0] + APP_WINDOW) - now).total_seconds() / 60)
        error = rate_limit_error(4, max(1, regain), target.space)
    elif target.space is not None:
        space_calls = _window(st, f"graph_space_calls:{target.platform}:{target.space}",
                              SPACE_WINDOW, now)
        if len(space_calls) >= limits["space_per_day"]:
            regain = math.ceil(((space_calls[0] + SPACE_WINDOW) - now).total_seconds() / 60)
            code = 80002 if target.platform == "instagram" else 80001
            error = rate_limit_error(code, max(1, regain), target.space)
    if error is not None:
        return True, error
    app.append(now)
    if target.space is not None:
        _window(st, f"graph_space_calls:{target.platform}:{target.space}", SPACE_WINDOW,
                now).append(now)
    return False, None


def usage_headers(st: SandboxState, spaces: Iterable[tuple[str, str]], now: dt.datetime) -> dict:
    """The ``X-App-Usage`` and ``X-Business-Use-Case-Usage`` headers after this request.

    The sandbox does no real work worth timing, so ``total_cputime`` and ``total_time`` are
    reported equal to ``call_count``.
    """
    limits = _limits(st)
    app_pct = min(100, math.floor(100 * len(_window(st, "graph_app_calls", APP_WINDOW, now))
                                  / limits["app_per_hour"]))
    headers = {"X-App-Usage": json.dumps(
        {"call_count": app_pct, "total_cputime": app_pct, "total_time": app_pct})}
    buc: dict[str, list[dict[str, Any]]] = {}
    for platform, space in spaces:
        calls = _window(st, f"graph_space_calls:{platform}:{space}", SPACE_WINDOW, now)
        pct = min(100, math.floor(100 * len(calls) / limits["space_per_day"]))
        regain = 0
        if calls and len(calls) >= limits["space_per_day"]:
            regain = max(1, math.ceil(((calls[0] + SPACE_WINDOW) - now).total_seconds() / 60))
        buc[space] = [{"type": "instagram" if platform == "instagram" else "pages",
                       "call_count": pct, "total_cputime": pct, "total_time": pct,
                       "estimated_time_to_regain_access": regain}]
    if buc:
        headers["X-Business-Use-Case-Usage"] = json.dumps(buc)
    return headers


# --- rendering objects -------------------------------------------------------------------


def _permalink_comment(c: SbComment) -> str:
    if c.platform == "instagram":
        return f"https://www.instagram.com/p/{c.post}/c/{c.id}/"
    page_id, _sep, post_number = c.post.partition("_")
    comment_number = c.id.split("_")[-1]
    if c.parent:
        parent_number = c.parent.split("_")[-1]
        return (f"https://www.facebook.com/{page_id}/posts/{post_number}/?comment_id="
                f"{parent_number}&reply_comment_id={comment_number}")
    return f"https://www.facebook.com/{page_id}/posts/{post_number}/?comment_id={comment_number}"


def _owner_name(st: SandboxState, c: SbComment) -> tuple[str, str]:
    space = st.spaces.get((c.platform, c.space))
    if space is None:
        return c.space, c.space
    return space.id, (space.name if c.platform == "facebook" else space.username)


def render_fb_comment(st: SandboxState, c: SbComment, specs: list[FieldSpec] | None,
                      ctx: Call) -> dict[str, Any]:
    out: dict[str, Any] = {}
    replies = [r for r in st.post_comments(c.post) if r.parent == c.id]
    for spec in _spec_list(specs, "created_time,from,message,id"):
        name = spec.name
        if name == "id":
            out["id"] = c.id
        elif name == "message":
            out["message"] = c.text
        elif name == "created_time":
            out["created_time"] = fb_time(c.created_time)
        elif name == "from":
            if c.by_owner:
                owner_id, owner_name = _owner_name(st, c)
                data = {"name": owner_name, "id": owner_id}
            elif ctx.scopes is not None and "pages_read_user_content" not in ctx.scopes:
                continue  # Graph leaves the author out without pages_read_user_content
            else:
                data = {"name": c.author_name, "id": c.author_id}
            out["from"] = _pick(data, spec.children)
        elif name == "parent":
            if c.parent and c.parent in st.comments:
                parent = st.comments[c.parent]
                out["parent"] = render_fb_comment(
                    st, parent, spec.children or parse_fields("created_time,from,message,id"),
                    ctx)
        elif name == "is_hidden":
            out["is_hidden"] = c.hidden
        elif name == "can_hide":
            out["can_hide"] = not c.by_owner
        elif name == "can_remove":
            out["can_remove"] = True
        elif name == "can_comment":
            out["can_comment"] = True
        elif name == "can_like":
            out["can_like"] = True
        elif name == "can_reply_privately":
            out["can_reply_privately"] = not c.by_owner
        elif name == "is_private":
            out["is_private"] = False
        elif name == "permalink_url":
            out["permalink_url"] = _permalink_comment(c)
        elif name == "comment_count":
            out["comment_count"] = len(replies)
        elif name == "like_count":
            out["like_count"] = 0
        elif name == "object":
            post = st.posts[c.post]
            out["object"] = {"created_time": fb_time(post.created_time), "message": post.text,
                             "id": post.id}
        elif name == "comments":
            _put_edge(out, "comments", comments_edge(st, c.id, "comment", spec.modifiers,
                                                     spec.children, ctx, nested=True))
        else:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node "
                             "type (Comment)")
    return out


def render_ig_comment(st: SandboxState, c: SbComment, specs: list[FieldSpec] | None,
                      ctx: Call) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in _spec_list(specs, "timestamp,text,id"):
        name = spec.name
        if name == "id":
            out["id"] = c.id
        elif name == "text":
            out["text"] = c.text
        elif name == "timestamp":
            out["timestamp"] = fb_time(c.created_time)
        elif name == "username":
            out["username"] = _owner_name(st, c)[1] if c.by_owner else c.author_username
        elif name == "from":
            if c.by_owner:
                owner_id, owner_name = _owner_name(st, c)
                data = {"id": owner_id, "username": owner_name}
            else:
                data = {"id": c.author_id, "username": c.author_username}
            out["from"] = _pick(data, spec.children)
        elif name == "hidden":
            out["hidden"] = c.hidden
        elif name == "like_count":
            out["like_count"] = 0
        elif name == "media":
            out["media"] = {"id": c.post}
        elif name == "parent_id":
            if c.parent:
                out["parent_id"] = c.parent
        elif name == "replies":
            _put_edge(out, "replies", ig_replies_edge(st, c, spec.modifiers, spec.children,
                                                      ctx, nested=True))
        else:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node "
                             "type (IGComment)")
    return out


def _put_edge(out: dict[str, Any], name: str, edge: dict[str, Any]) -> None:
    """Put a field-expanded edge into a node, as Graph does: an edge with no item (and no
    ``summary`` asked for) is left out of the node altogether."""
    if edge.get("data") or "summary" in edge:
        out[name] = edge


def _pick(data: dict[str, Any], specs: list[FieldSpec] | None) -> dict[str, Any]:
    if not specs:
        return data
    return {s.name: data[s.name] for s in specs if s.name in data}


def render_post(st: SandboxState, p: SbPost, specs: list[FieldSpec] | None,
                ctx: Call) -> dict[str, Any]:
    out: dict[str, Any] = {}
    page_id, _sep, number = p.id.partition("_")
    for spec in _spec_list(specs, "created_time,message,id"):
        name = spec.name
        if name == "id":
            out["id"] = p.id
        elif name == "message":
            out["message"] = p.text
        elif name == "created_time":
            out["created_time"] = fb_time(p.created_time)
        elif name == "updated_time":
            out["updated_time"] = fb_time(p.updated_time)
        elif name == "permalink_url":
            out["permalink_url"] = f"https://www.facebook.com/{page_id}/posts/{number}/"
        elif name == "status_type":
            out["status_type"] = "mobile_status_update"
        elif name == "is_hidden":
            out["is_hidden"] = False
        elif name == "from":
            space = st.spaces.get(("facebook", p.space))
            out["from"] = _pick({"name": space.name if space else p.space, "id": p.space},
                                spec.children)
        elif name == "comments":
            _put_edge(out, "comments", comments_edge(st, p.id, "post", spec.modifiers,
                                                     spec.children, ctx, nested=True))
        else:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node "
                             "type (PagePost)")
    return out


def render_media(st: SandboxState, p: SbPost, specs: list[FieldSpec] | None,
                 ctx: Call) -> dict[str, Any]:
    out: dict[str, Any] = {}
    space = st.spaces.get(("instagram", p.space))
    for spec in _spec_list(specs, "id"):
        name = spec.name
        if name == "id":
            out["id"] = p.id
        elif name == "caption":
            out["caption"] = p.text
        elif name == "timestamp":
            out["timestamp"] = fb_time(p.created_time)
        elif name == "permalink":
            out["permalink"] = f"https://www.instagram.com/p/{p.id}/"
        elif name == "comments_count":
            out["comments_count"] = len(st.post_comments(p.id))
        elif name == "like_count":
            out["like_count"] = 0
        elif name == "media_type":
            out["media_type"] = "IMAGE"
        elif name == "media_product_type":
            out["media_product_type"] = "FEED"
        elif name == "username":
            out["username"] = space.username if space else p.space
        elif name == "comments":
            _put_edge(out, "comments", ig_comments_edge(st, p, spec.modifiers, spec.children,
                                                        ctx, nested=True))
        else:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node "
                             "type (IGMedia)")
    return out


# --- paging ------------------------------------------------------------------------------


def _cursor(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _uncursor(value: str) -> tuple[str, str]:
    try:
        padded = value + "=" * (-len(value) % 4)
        first, second = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return str(first), str(second)
    except (ValueError, TypeError):
        raise GraphError(100, "(#100) Invalid cursor") from None


def _limit(params: dict[str, str], default: int, maximum: int) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise GraphError(100, "(#100) Param limit must be a number") from None
    return max(0, min(value, maximum))


def page_of(
    items: list[Any],
    key: Callable[[Any], tuple[str, str]],
    params: dict[str, str],
    ctx: Call,
    path: str,
    *,
    default_limit: int,
    max_limit: int,
    nested: bool,
) -> tuple[list[Any], dict[str, Any]]:
    """Cut one page from ``items`` (already in order) with Graph cursor paging."""
    limit = _limit(params, default_limit, max_limit)
    start = 0
    if params.get("after"):
        after = _uncursor(params["after"])
        keys = [key(i) for i in items]
        start = keys.index(after) + 1 if after in keys else 0
        if after not in keys:  # the item is gone: resume after the first item past it
            start = next((n for n, k in enumerate(keys) if k > after), len(items))
    elif params.get("before"):
        before = _uncursor(params["before"])
        keys = [key(i) for i in items]
        end = keys.index(before) if before in keys else 0
        start = max(0, end - limit)
    chunk = items[start:start + limit]
    paging: dict[str, Any] = {}
    if chunk:
        paging["cursors"] = {"before": _cursor(key(chunk[0])), "after": _cursor(key(chunk[-1]))}
        query = {k: v for k, v in params.items() if k not in ("after", "before")}
        if nested:
            query.setdefault("access_token", ctx.params.get("access_token", ""))
        query["limit"] = str(limit)
        if start + limit < len(items):
            query_next = dict(query, after=paging["cursors"]["after"])
            paging["next"] = f"{ctx.base_url}{ctx.version}/{path}?{urlencode(query_next)}"
        if start > 0:
            query_prev = dict(query, before=paging["cursors"]["before"])
            paging["previous"] = f"{ctx.base_url}{ctx.version}/{path}?{urlencode(query_prev)}"
    return chunk, paging


def _modifier_params(modifiers: dict[str, str], ctx: Call) -> dict[str, str]:
    params = {k: v for k, v in modifiers.items()}
    if "access_token" in ctx.params:
        params["access_token"] = ctx.params["access_token"]
    return params


def comments_edge(st: SandboxState, object_id: str, kind: str, params: dict[str, str],
                  specs: list[FieldSpec] | None, ctx: Call, *, nested: bool = False) -> dict:
    """``/{post-or-comment-id}/comments``."""
    if nested:
        params = _modifier_params(params, ctx)
    if kind == "post":
        all_comments = st.post_comments(object_id)
        mode = params.get("filter", "toplevel")
        items = all_comments if mode == "stream" else [c for c in all_comments if not c.parent]
    else:
        parent = st.comments[object_id]
        items = [c for c in st.post_comments(parent.post) if c.parent == object_id]
    since = parse_graph_time(params.get("since"))
    until = parse_graph_time(params.get("until"))
    if since is not None:
        items = [c for c in items if c.created_time >= since]
    if until is not None:
        items = [c for c in items if c.created_time <= until]
    order = params.get("order", "chronological")
    if order not in ("chronological", "reverse_chronological"):
        raise GraphError(100, "(#100) param order must be one of {CHRONOLOGICAL, "
                         "REVERSE_CHRONOLOGICAL}")
    items.sort(key=lambda c: (fb_time(c.created_time), c.id),
               reverse=order == "reverse_chronological")
    chunk, paging = page_of(items, lambda c: (fb_time(c.created_time), c.id), params, ctx,
                            f"{object_id}/comments", default_limit=25, max_limit=100,
                            nested=nested)
    result: dict[str, Any] = {"data": [render_fb_comment(st, c, specs, ctx) for c in chunk]}
    if paging:
        result["paging"] = paging
    if str(params.get("summary", "")).lower() in ("1", "true", "total_count"):
        result["summary"] = {"order": "chronological" if order == "chronological"
                             else "reverse_chronological", "total_count": len(items),
                             "can_comment": True}
    return result


def ig_comments_edge(st: SandboxState, media: SbPost, params: dict[str, str],
                     specs: list[FieldSpec] | None, ctx: Call, *, nested: bool = False) -> dict:
    """``/{ig-media-id}/comments``: top-level comments, newest first, at most 50 a page."""
    if nested:
        params = _modifier_params(params, ctx)
    items = [c for c in st.post_comments(media.id) if not c.parent]
    items.sort(key=lambda c: (fb_time(c.created_time), c.id), reverse=True)
    chunk, paging = page_of(items, lambda c: (fb_time(c.created_time), c.id), params, ctx,
                            f"{media.id}/comments", default_limit=50, max_limit=50,
                            nested=nested)
    result: dict[str, Any] = {"data": [render_ig_comment(st, c, specs, ctx) for c in chunk]}
    if paging:
        result["paging"] = paging
    return result


def ig_replies_edge(st: SandboxState, comment: SbComment, params: dict[str, str],
                    specs: list[FieldSpec] | None, ctx: Call, *, nested: bool = False) -> dict:
    """``/{ig-comment-id}/replies``: oldest first."""
    if nested:
        params = _modifier_params(params, ctx)
    items = [c for c in st.post_comments(comment.post) if c.parent == comment.id]
    chunk, paging = page_of(items, lambda c: (fb_time(c.created_time), c.id), params, ctx,
                            f"{comment.id}/replies", default_limit=50, max_limit=50,
                            nested=nested)
    result: dict[str, Any] = {"data": [render_ig_comment(st, c, specs, ctx) for c in chunk]}
    if paging:
        result["paging"] = paging
    return result


def feed_edge(st: SandboxState, page_id: str, params: dict[str, str], ctx: Call,
              edge: str) -> dict:
    """``/{page-id}/feed`` and ``/{page-id}/posts``: newest first."""
    posts = st.space_posts("facebook", page_id)
    since = parse_graph_time(params.get("since"))
    until = parse_graph_time(params.get("until"))
    if since is not None:
        posts = [p for p in posts if p.created_time >= since]
    if until is not None:
        posts = [p for p in posts if p.created_time <= until]
    posts.sort(key=lambda p: (fb_time(p.created_time), p.id), reverse=True)
    specs = parse_fields(params.get("fields"))
    chunk, paging = page_of(posts, lambda p: (fb_time(p.created_time), p.id), params, ctx,
                            f"{page_id}/{edge}", default_limit=25, max_limit=100, nested=False)
    result: dict[str, Any] = {"data": [render_post(st, p, specs, ctx) for p in chunk]}
    _check_size(st, result["data"])
    if paging:
        result["paging"] = paging
    return result


def _check_size(st: SandboxState, items: list[dict[str, Any]]) -> None:
    """Refuse an answer of more objects than the ``answer_objects`` limit, as Graph refuses an
    answer too large for it (HTTP 500, error 1), whatever the number of calls left."""
    size = len(items)
    for item in items:
        for edge in ("comments", "replies"):
            nested = item.get(edge)
            if isinstance(nested, dict) and isinstance(nested.get("data"), list):
                size += len(nested["data"])
                size += sum(len(c.get("replies", {}).get("data", [])) for c in nested["data"]
                            if isinstance(c.get("replies"), dict))
    if size > _limits(st)["answer_objects"]:
        raise GraphError(1, TOO_MUCH_DATA, status=500)


def media_edge(st: SandboxState, user_id: str, params: dict[str, str], ctx: Call) -> dict:
    """``/{ig-user-id}/media``: newest first."""
    posts = st.space_posts("instagram", user_id)
    posts.sort(key=lambda p: (fb_time(p.created_time), p.id), reverse=True)
    specs = parse_fields(params.get("fields"))
    chunk, paging = page_of(posts, lambda p: (fb_time(p.created_time), p.id), params, ctx,
                            f"{user_id}/media", default_limit=25, max_limit=100, nested=False)
    result: dict[str, Any] = {"data": [render_media(st, p, specs, ctx) for p in chunk]}
    _check_size(st, result["data"])
    if paging:
        result["paging"] = paging
    return result


# --- the dispatcher ----------------------------------------------------------------------


def _truthy(value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = str(value).strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise GraphError(100, f"(#100) Param must be a boolean, got {value!r}")


def handle(st: SandboxState, call: Call, now: dt.datetime) -> tuple[int, Any, Target]:
    """Serve one Graph request; return (status, JSON body, what it was about)."""
    segments = [s for s in call.path.strip("/").split("/") if s]
    token = call.params.get("access_token")
    if not segments:
        raise GraphError(100, "(#100) Missing object id")
    with st.locked():
        target = resolve(st, segments[0], token)
        _check_token(st, target, token, now)
        info = _tokens(st).get(token or "")
        if info is not None and info.get("scopes") is not None:
            call.scopes = frozenset(info["scopes"])
        over, error = count_call(st, target, now)
        if error is not None:
            raise error
        return 200, _serve(st, call, segments, target, now), target


def _serve(st: SandboxState, call: Call, segments: list[str], target: Target,
           now: dt.datetime) -> Any:
    method = call.method.upper()
    params = call.params
    specs = parse_fields(params.get("fields"))
    if target.kind == "debug_token":
        return _debug_token(st, params.get("input_token") or "", now)
    if target.kind == "me":
        if target.space is None:
            return {"name": "Sandbox User", "id": "1000000000000099"}
        space = st.spaces[(target.platform, target.space)]
        data = {"name": space.name, "id": space.id}
        if specs:
            data = {s.name: data.get(s.name, "") for s in specs}
        return data
    if target.kind == "unknown":
        raise _no_object(segments[0], method.lower())
    if len(segments) == 1:
        return _node(st, target, method, params, specs, call)
    if len(segments) != 2 or method != "GET":
        raise GraphError(100, f"(#100) Unknown path components: /{'/'.join(segments[1:])}",
                         type_="OAuthException")
    edge = segments[1]
    if target.kind == "page" and edge in ("feed", "posts", "published_posts"):
        return feed_edge(st, target.space or "", params, call, edge)
    if target.kind == "ig_user" and edge == "media":
        return media_edge(st, target.space or "", params, call)
    if target.kind == "post" and edge == "comments":
        return comments_edge(st, target.obj.id, "post", params, specs, call)
    if target.kind == "media" and edge == "comments":
        return ig_comments_edge(st, target.obj, params, specs, call)
    if target.kind == "comment" and target.obj.deleted:
        raise _no_object(target.obj.id)
    if target.kind == "comment" and target.platform == "facebook" and edge == "comments":
        return comments_edge(st, target.obj.id, "comment", params, specs, call)
    if target.kind == "comment" and target.platform == "instagram" and edge == "replies":
        return ig_replies_edge(st, target.obj, params, specs, call)
    raise GraphError(100, f"(#100) Tried accessing nonexisting field ({edge})")


def _node(st: SandboxState, target: Target, method: str, params: dict[str, str],
          specs: list[FieldSpec] | None, call: Call) -> Any:
    if target.kind in ("page", "ig_user"):
        if method != "GET":
            raise GraphError(100, "(#100) Unsupported operation on this node")
        space = target.obj
        data = {"id": space.id, "name": space.name, "username": space.username}
        wanted = specs or parse_fields("name,id" if target.kind == "page" else "id")
        return {s.name: data[s.name] for s in wanted or [] if s.name in data}
    if target.kind in ("post", "media"):
        if method != "GET":
            raise GraphError(100, "(#100) Unsupported operation on this node")
        render = render_post if target.kind == "post" else render_media
        return render(st, target.obj, specs, call)
    comment: SbComment = target.obj
    if comment.deleted:
        raise _no_object(comment.id, method.lower())
    if method == "GET":
        render_c = render_fb_comment if comment.platform == "facebook" else render_ig_comment
        return render_c(st, comment, specs, call)
    manage = "pages_manage_engagement" if comment.platform == "facebook" else (
        "instagram_manage_comments")
    if call.scopes is not None and manage not in call.scopes:
        raise GraphError(200, f"(#200) Requires {manage} permission to manage the object",
                         status=403)
    if method == "DELETE":
        comment.deleted = True
        return {"success": True}
    if method == "POST":
        flag_name = "is_hidden" if comment.platform == "facebook" else "hide"
        flag = _truthy(params.get(flag_name))
        if flag is None:
            if params.get("message") is not None:
                comment.text = params["message"]
                return {"success": True}
            raise GraphError(100, f"(#100) The parameter {flag_name} is required")
        if comment.by_owner:
            if comment.platform == "facebook":
                raise GraphError(100, "(#100) A comment made by the Page itself cannot be "
                                 "hidden (can_hide is false for this comment).")
            raise GraphError(100, "(#100) Comments made by the media owner cannot be hidden.")
        comment.hidden = flag
        return {"success": True}
    raise GraphError(100, "(#100) Unsupported method")


def _debug_token(st: SandboxState, input_token: str, now: dt.datetime) -> dict[str, Any]:
    info = _tokens(st).get(input_token, {})
    platform = info.get("platform", "facebook")
    space_id = info.get("space")
    if space_id is None:
        matches = [s for s in st.spaces.values() if s.token == input_token]
        if not matches:
            matches = [s for s in st.spaces.values() if s.platform in GRAPH_PLATFORMS]
        if len(matches) == 1:
            space_id, platform = matches[0].id, matches[0].platform
    expires = parse_graph_time(info.get("expires_at")) if info.get("expires_at") else None
    valid = bool(info.get("valid", True)) and (expires is None or expires > now)
    if info.get("scopes") is not None:
        scopes = list(info["scopes"])
    elif space_id is None:  # a token the sandbox knows nothing of: every scope Vigie uses
        scopes = list(dict.fromkeys(ALL_FB_SCOPES + ALL_IG_SCOPES))
    else:
        scopes = list(ALL_IG_SCOPES if platform == "instagram" else ALL_FB_SCOPES)
    data: dict[str, Any] = {
        "app_id": SANDBOX_APP_ID,
        "type": "PAGE",
        "application": "Vigie sandbox",
        "data_access_expires_at": int((now + dt.timedelta(days=90)).timestamp()),
        "expires_at": int(expires.timestamp()) if expires else 0,
        "is_valid": valid,
        "issued_at": int((now - dt.timedelta(days=1)).timestamp()),
        "scopes": scopes,
        "granular_scopes": [{"scope": s} for s in scopes],
        "user_id": "1000000000000099",
    }
    if space_id:
        data["profile_id"] = space_id
    if not valid:
        data["error"] = {"code": 190, "message": "Error validating access token: Session has "
                         "expired.", "subcode": 463}
    return {"data": data}


# --- HTTP routes -------------------------------------------------------------------------


def _params() -> dict[str, str]:
    params = dict(request.args.items())
    if request.method != "GET":
        params.update(request.form.items())
    return params


def _respond(status: int, body: Any, headers: dict[str, str]) -> Response:
    response = jsonify(body)
    response.status_code = status
    for name, value in headers.items():
        response.headers[name] = value
    return response


def _fault_for(platform: str, space: str | None) -> tuple[int, Any, dict] | None:
    fault = take_fault(platform, space)
    if fault is None or fault.kind == "timeout":
        return None
    return fault_error(fault, space, state().now())


def _serve_one(version: str, path: str) -> Response:
    st = state()
    now = st.now()
    params = _params()
    call = Call(request.method, path, params, request.host_url, version)
    segments = [s for s in path.split("/") if s]
    with st.locked():
        target = resolve(st, segments[0], params.get("access_token")) if segments else None
    platform = target.platform if target else "facebook"
    space = target.space if target else None
    note_call(platform, space)
    faulted = _fault_for(platform, space)
    if faulted is not None:
        return _respond(*faulted)
    try:
        status, body, target = handle(st, call, now)
    except GraphError as error:
        if error.code in (4, 80001, 80002):
            note_call(platform, space, over_limit=True)
        headers = dict(error.headers)
        headers.setdefault("X-App-Usage", usage_headers(st, [], now)["X-App-Usage"])
        return _respond(error.status, error.body(), headers)
    spaces = [(target.platform, target.space)] if target.space else []
    return _respond(status, body, usage_headers(st, spaces, now))


@blueprint.route("/<graphver:version>/<path:path>", methods=["GET", "POST", "DELETE"])
def graph_call(version: str, path: str) -> Response:
    return _serve_one(version, path)


@blueprint.route("/", methods=["POST"])
@blueprint.route("/<graphver:version>/", methods=["POST"])
@blueprint.route("/<graphver:version>", methods=["POST"])
def graph_batch(version: str = "v21.0") -> Response:
    """``POST /`` with ``batch=[{"method", "relative_url", "body"}, ...]`` (at most 50)."""
    st = state()
    now = st.now()
    params = _params()
    token = params.get("access_token")
    try:
        batch = json.loads(params.get("batch") or "")
        if not isinstance(batch, list) or not all(isinstance(b, dict) for b in batch):
            raise ValueError
    except ValueError:
        note_call("facebook", None)
        error = GraphError(100, "(#100) The parameter batch must be a JSON array of requests")
        return _respond(error.status, error.body(), {})
    calls: list[Call] = []
    targets: list[Target | None] = []
    for item in batch:
        relative = str(item.get("relative_url", "")).lstrip("/")
        parts = urlsplit(relative)
        path = re.sub(r"^v\d{1,2}\.\d{1,2}/", "", parts.path)
        sub_params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if item.get("body"):
            sub_params.update(parse_qsl(str(item["body"]), keep_blank_values=True))
        sub_params.setdefault("access_token", token or "")
        calls.append(Call(str(item.get("method", "GET")), path, sub_params, request.host_url,
                          version))
        segments = [s for s in path.split("/") if s]
        with st.locked():
            targets.append(resolve(st, segments[0], sub_params["access_token"])
                           if segments else None)
    first = next((t for t in targets if t is not None and t.space), None)
    platform = first.platform if first else "facebook"
    note_call(platform, first.space if first else None)
    if len(batch) > MAX_BATCH:  # a documented limit: the call is counted as past it
        note_call(platform, first.space if first else None, over_limit=True)
        error = GraphError(1, f"(#1) Too many requests in batch message. Maximum batch size is "
                           f"{MAX_BATCH}")
        return _respond(error.status, error.body(), {})
    faulted = _fault_for(platform, first.space if first else None)
    if faulted is not None:
        return _respond(*faulted)
    results: list[dict[str, Any] | None] = []
    spaces: set[tuple[str, str]] = set()
    include_headers = params.get("include_headers", "true").lower() != "false"
    for call in calls:
        try:
            status, body, target = handle(st, call, now)
            if target.space:
                spaces.add((target.platform, target.space))
        except GraphError as error:
            status, body = error.status, error.body()
            if error.code in (4, 80001, 80002):
                note_call(platform, first.space if first else None, over_limit=True)
        entry: dict[str, Any] = {"code": status, "body": json.dumps(body)}
        if include_headers:
            entry["headers"] = [{"name": "Content-Type",
                                 "value": "application/json; charset=UTF-8"}]
        results.append(entry)
    return _respond(200, results, usage_headers(st, sorted(spaces), now))


# --- sandbox control for the Graph part --------------------------------------------------


@blueprint.route("/_sandbox/graph/tokens", methods=["POST"])
def control_token() -> Response:
    """Register a token: ``{"token", "platform", "space", "scopes", "expires_at", "valid"}``."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        return _respond(400, {"error": "expected a JSON object with token"}, {})
    info = {k: body[k] for k in ("platform", "space", "scopes", "expires_at", "valid")
            if k in body}
    if info.get("platform", "facebook") not in GRAPH_PLATFORMS:
        return _respond(400, {"error": "platform must be facebook or instagram"}, {})
    st = state()
    with st.locked():
        _tokens(st)[body["token"]] = info
        if body.get("bind") and body.get("space"):
            space = st.ensure_space(info.get("platform", "facebook"), str(body["space"]))
            space.token = body["token"]
    return _respond(201, {"ok": True}, {})


@blueprint.route("/_sandbox/graph/limits", methods=["GET", "POST"])
def control_limits() -> Response:
    """Read or set ``{"app_per_hour": N, "space_per_day": N, "answer_objects": N}``."""
    st = state()
    if request.method == "POST":
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not all(
            k in DEFAULT_LIMITS and isinstance(v, int) and v > 0 for k, v in body.items()
        ):
            return _respond(400, {"error": "expected app_per_hour, space_per_day and/or "
                                           "answer_objects > 0"}, {})
        with st.locked():
            _limits(st).update(body)
    with st.locked():
        return _respond(200, dict(_limits(st)), {})
