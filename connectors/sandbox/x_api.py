"""Sandbox routes of the X API v2: the reads and the hide-replies call Vigie makes.

Shapes follow the recorded real responses (tweepy's cassettes): ``data``, ``includes.users``,
``meta`` with ``newest_id``, ``oldest_id``, ``result_count`` and ``next_token``; errors as v2
"problem" bodies; ``x-rate-limit-limit/-remaining/-reset`` on every answer. The documented
per-user limits of each 15-minute window are enforced: a call past one is answered 429 and
counted as ``over_limit`` in ``/_sandbox/calls``.

Authentication: ``Authorization: OAuth ... oauth_token="<user-id>-..."`` (OAuth 1.0a user
context: X access tokens begin with the user's id) or ``Bearer <token>``: a space's ``token``
(set with ``POST /_sandbox/spaces``) is an OAuth 2.0 user token of that account; any other
bearer token is an app-only token (reads only).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response, g, jsonify, request

from connectors.base import parse_iso_time
from connectors.sandbox.server import note_call, state, take_fault
from connectors.sandbox.state import SbComment, SbPost, SbSpace

blueprint = Blueprint("sandbox_x", __name__)

WINDOW = dt.timedelta(minutes=15)
# Documented per-user limits per 15 minutes (docs.x.com, "Rate limits"); app-only in brackets.
LIMITS: dict[str, tuple[int, int]] = {
    "search": (300, 450),
    "mentions": (300, 450),
    "timeline": (900, 10_000),
    "tweet": (900, 450),
    "me": (75, 75),
    "hidden": (50, 50),
}
QUERY_MAX = 512
RECENT_DAYS = 7
TERM = re.compile(r"^(-?)(conversation_id|from|to|is):(\S+)$")


def _problem(status: int, title: str, detail: str, kind: str = "about:blank",
             **extra: Any) -> tuple[Response, int]:
    return jsonify({"title": title, "detail": detail, "type": kind, "status": status, **extra}), status


def _invalid(parameter: str, message: str) -> tuple[Response, int]:
    body = {
        "errors": [{"parameters": {parameter: [request.args.get(parameter, "")]},
                    "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    return jsonify(body), 400


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"



# --- who is calling ------------------------------------------------------------------------------


class _Caller:
    def __init__(self, user_id: str | None, key: str) -> None:
        self.user_id = user_id  # None: app-only bearer token
        self.key = key  # rate-limit bucket


def _caller(hint: str | None) -> _Caller | tuple[Response, int]:
    """Who calls: the account a token belongs to, or None for an app-only token.

    ``hint`` is the account the request is about (the timeline's user, the conversation's
    owner): an account without a set ``token`` accepts any token, as in the rest of the sandbox.
    """
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header[len("Bearer "):].strip()
        with state().locked() as st:
            accounts = [s for s in st.spaces.values() if s.platform == "x"]
            for space in accounts:
                if space.token and space.token == token:
                    return _Caller(space.id, f"user:{space.id}")
            open_accounts = [s.id for s in accounts if s.token is None]
        if hint is not None and hint in open_accounts:
            return _Caller(hint, f"user:{hint}")
        if hint is None and request.path == "/2/users/me" and len(open_accounts) == 1:
            return _Caller(open_accounts[0], f"user:{open_accounts[0]}")
        return _Caller(None, "app")
    if header.startswith("OAuth "):
        match = re.search(r'oauth_token="([^"]*)"', header)
        token = unquote(match.group(1)) if match else ""
        user_id = token.split("-", 1)[0]
        if not match or not user_id.isdigit() or "-" not in token:
            return _unauthorized()
        space = state().spaces.get(("x", user_id))
        if space is not None and space.token is not None and space.token != token:
            return _unauthorized()
        return _Caller(user_id, f"user:{user_id}")
    return _unauthorized()


def _unauthorized() -> tuple[Response, int]:
    return _problem(401, "Unauthorized", "Unauthorized")


def _rate_headers(response: Response, bucket: list[Any], limit: int) -> Response:
    response.headers["x-rate-limit-limit"] = str(limit)
    response.headers["x-rate-limit-remaining"] = str(max(0, limit - bucket[1]))
    response.headers["x-rate-limit-reset"] = str(int((bucket[0] + WINDOW).timestamp()))
    return response


def _count(caller: _Caller, endpoint: str) -> tuple[list[Any], int, bool]:
    """Count this call in its 15-minute window; return (bucket, limit, over the limit)."""
    st = state()
    limit = LIMITS[endpoint][0 if caller.user_id else 1]
    now = st.now()
    with st.locked():
        buckets = st.counters.setdefault("x", {})
        bucket = buckets.get((caller.key, endpoint))
        if bucket is None or now >= bucket[0] + WINDOW:
            bucket = [now, 0]
            buckets[(caller.key, endpoint)] = bucket
        over = bucket[1] >= limit
        if not over:
            bucket[1] += 1
        return bucket, limit, over


def _guard(endpoint: str, space: str | None, *, user_context: bool = False) -> Any:
    """Faults, authentication and rate limits common to every route. Return an error or a caller."""
    note_call("x", space)
    fault = take_fault("x", space)
    if fault is not None:
        if fault.kind == "http500":
            return _problem(500, "Internal Server Error", "Internal Server Error")
        if fault.kind == "timeout":
            return _problem(503, "Service Unavailable", "Service Unavailable")
        code = int(fault.code or 503)
        if code == 401:
            return _unauthorized()
        if code == 403:
            return _problem(403, "Client Forbidden", "This request must be made using an approved "
                            "developer account.", "https://api.twitter.com/2/problems/client-forbidden",
                            reason="client-not-enrolled")
        if code == 429:
            response, status = _problem(429, "Too Many Requests", "Too Many Requests",
                                        "https://api.twitter.com/2/problems/rate-limit-exceeded")
            response.headers["x-rate-limit-limit"] = str(LIMITS[endpoint][0])
            response.headers["x-rate-limit-remaining"] = "0"
            response.headers["x-rate-limit-reset"] = str(int((state().now() + WINDOW).timestamp()))
            return response, status
        return _problem(503, "Service Unavailable", "Service Unavailable")
    caller = _caller(space)
    if not isinstance(caller, _Caller):
        return caller
    if space is None and caller.user_id is not None:
        note_call("x", caller.user_id)
    if user_context and caller.user_id is None:
        return _problem(
            403, "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
            "https://api.twitter.com/2/problems/unsupported-authentication",
        )
    bucket, limit, over = _count(caller, endpoint)
    if over:
        note_call("x", getattr(g, "sandbox_space", space), over_limit=True)
        response, status = _problem(429, "Too Many Requests", "Too Many Requests",
                                    "https://api.twitter.com/2/problems/rate-limit-exceeded")
        return _rate_headers(response, bucket, limit), status
    g.x_rate = (bucket, limit)
    return caller


def _answer(body: dict[str, Any], status: int = 200) -> tuple[Response, int]:
    response = jsonify(body)
    rate = getattr(g, "x_rate", None)
    if rate is not None:
        _rate_headers(response, *rate)
    if request.headers.get("Authorization", "").startswith("OAuth "):
        response.headers["x-access-level"] = "read-write"
    return response, status


# --- rendering -----------------------------------------------------------------------------------


def _fields(name: str) -> set[str]:
    return {f for f in request.args.get(name, "").split(",") if f}


def _post_author(post: SbPost) -> str:
    return post.space


def _render_post(post: SbPost, fields: set[str]) -> dict[str, Any]:
    tweet: dict[str, Any] = {"edit_history_tweet_ids": [post.id], "id": post.id, "text": post.text}
    if "author_id" in fields:
        tweet["author_id"] = _post_author(post)
    if "created_at" in fields:
        tweet["created_at"] = _iso(post.created_time)
    if "conversation_id" in fields:
        tweet["conversation_id"] = post.id
    return tweet


def _render_reply(comment: SbComment, fields: set[str]) -> dict[str, Any]:
    st = state()
    tweet: dict[str, Any] = {
        "edit_history_tweet_ids": [comment.id], "id": comment.id, "text": comment.text,
    }
    replied_to = comment.parent or comment.post
    if "author_id" in fields:
        tweet["author_id"] = _author(comment)
    if "created_at" in fields:
        tweet["created_at"] = _iso(comment.created_time)
    if "conversation_id" in fields:
        tweet["conversation_id"] = comment.post
    if "in_reply_to_user_id" in fields:
        parent = st.comment(comment.parent) if comment.parent else None
        post = st.posts.get(comment.post)
        tweet["in_reply_to_user_id"] = (
            parent.author_id if parent else (post.space if post else comment.space)
        )
    if "referenced_tweets" in fields:
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": replied_to}]
    return tweet


def _author(comment: SbComment) -> str:
    """The author's id (the account itself for a reply made by the space)."""
    return comment.space if comment.by_owner else comment.author_id


def _user(user_id: str, name: str, username: str, fields: set[str]) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "name": name, "username": username}
    seed = int(user_id) if user_id.isdigit() else sum(map(ord, user_id))
    if "created_at" in fields:
        created = dt.datetime(2009, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=seed % 5000)
        user["created_at"] = _iso(created)
    if "description" in fields:
        user["description"] = ""
    if "verified" in fields:
        user["verified"] = False
    if "profile_image_url" in fields:
        user["profile_image_url"] = (
            "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"
        )
    if "public_metrics" in fields:
        user["public_metrics"] = {"followers_count": seed % 300, "following_count": seed % 200,
                                  "tweet_count": seed % 900, "listed_count": 0}
    return user


def _includes(items: Iterable[SbComment | SbPost]) -> dict[str, Any]:
    if "author_id" not in _fields("expansions"):
        return {}
    fields = _fields("user.fields")
    users: dict[str, dict[str, Any]] = {}
    st = state()
    for item in items:
        if isinstance(item, SbComment) and not item.by_owner:
            users.setdefault(item.author_id,
                             _user(item.author_id, item.author_name, item.author_username, fields))
        elif isinstance(item, SbComment):
            space = st.spaces.get(("x", item.space))
            if space is not None:
                users.setdefault(space.id, _user(space.id, space.name, space.username, fields))
        else:
            space = st.spaces.get(("x", item.space))
            if space is not None:
                users.setdefault(space.id, _user(space.id, space.name, space.username, fields))
    return {"users": list(users.values())} if users else {}


def _render(item: SbComment | SbPost) -> dict[str, Any]:
    fields = _fields("tweet.fields")
    return _render_reply(item, fields) if isinstance(item, SbComment) else _render_post(item, fields)


def _page(items: list[SbComment | SbPost], token_param: str, low: int, high: int,
          default: int) -> tuple[Response, int]:
    """Filter by since_id/until_id/start_time/end_time, newest first, and answer one page."""
    args = request.args
    try:
        max_results = int(args.get("max_results", default))
    except ValueError:
        return _invalid("max_results", "The `max_results` query parameter value is not valid")
    if not low <= max_results <= high:
        return _invalid(
            "max_results",
            f"The `max_results` query parameter value [{max_results}] is not between {low} and "
            f"{high}",
        )
    since_id = args.get("since_id")
    until_id = args.get("until_id")
    start = parse_iso_time(args["start_time"]) if args.get("start_time") else None
    end = parse_iso_time(args["end_time"]) if args.get("end_time") else None
    if (args.get("start_time") and start is None) or (args.get("end_time") and end is None):
        return _invalid("start_time", "Invalid date")
    chosen = [
        i for i in items
        if (not since_id or int(i.id) > int(since_id))
        and (not until_id or int(i.id) < int(until_id))
        and (start is None or i.created_time >= start)
        and (end is None or i.created_time <= end)
    ]
    chosen.sort(key=lambda i: int(i.id), reverse=True)
    offset = 0
    token = args.get(token_param)
    if token:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
        except (ValueError, KeyError, TypeError):
            return _invalid(token_param, "Invalid pagination token")
    page = chosen[offset:offset + max_results]
    body: dict[str, Any] = {}
    if page:
        body["data"] = [_render(i) for i in page]
        includes = _includes(page)
        if includes:
            body["includes"] = includes
    meta: dict[str, Any] = {}
    if page:
        meta["newest_id"] = page[0].id
        meta["oldest_id"] = page[-1].id
    meta["result_count"] = len(page)
    if offset + max_results < len(chosen):
        meta["next_token"] = base64.urlsafe_b64encode(
            json.dumps({"o": offset + max_results}).encode()
        ).decode()
    body["meta"] = meta
    return _answer(body)


# --- search ----------------------------------------------------------------------------------------


def _match(comment_or_post: SbComment | SbPost, groups: list[list[tuple[bool, str, str]]]) -> bool:
    """A query is a conjunction of groups; a group is a disjunction of (negated, op, value)."""
    st = state()
    item = comment_or_post
    is_reply = isinstance(item, SbComment)
    conversation = item.post if isinstance(item, SbComment) else item.id
    author = _author(item) if isinstance(item, SbComment) else item.space
    author_name = item.author_username if isinstance(item, SbComment) else (
        st.spaces[("x", item.space)].username if ("x", item.space) in st.spaces else ""
    )

    def test(op: str, value: str) -> bool:
        if op == "conversation_id":
            return conversation == value
        if op == "from":
            return value in (author, author_name)
        if op == "to":
            post = st.posts.get(conversation)
            return is_reply and post is not None and value in (post.space, author_name)
        if op == "is":
            return {"reply": is_reply, "retweet": False, "quote": False}.get(value, False)
        return False

    return all(
        any(test(op, value) != negated for negated, op, value in group) for group in groups
    )


def _parse_query(query: str) -> list[list[tuple[bool, str, str]]] | None:
    groups: list[list[tuple[bool, str, str]]] = []
    for part in re.findall(r"\([^)]*\)|\S+", query):
        inner = part[1:-1] if part.startswith("(") else part
        terms = [t for t in inner.split() if t != "OR"]
        group = []
        for term in terms:
            match = TERM.match(term)
            if match is None:
                return None
            group.append((match.group(1) == "-", match.group(2), match.group(3)))
        if group:
            groups.append(group)
    return groups or None


@blueprint.get("/2/tweets/search/recent")
def search_recent() -> Any:
    query = request.args.get("query", "")
    guard = _guard("search", _query_owner(query))
    if not isinstance(guard, _Caller):
        return guard
    if not query or len(query) > QUERY_MAX:
        return _invalid("query", f"There were errors processing your request: query length must "
                                 f"be between 1 and {QUERY_MAX}")
    groups = _parse_query(query)
    if groups is None:
        return _invalid("query", "There were errors processing your request: Invalid query")
    st = state()
    oldest = st.now() - dt.timedelta(days=RECENT_DAYS)
    since_id = request.args.get("since_id")
    if since_id and (not since_id.isdigit() or _id_time(since_id) < oldest):
        return _invalid("since_id", f"Invalid 'since_id':'{since_id}'. 'since_id' must be a "
                                    f"tweet id created after {_iso(oldest)}")
    with st.locked():
        items: list[SbComment | SbPost] = [
            c for c in st.comments.values()
            if c.platform == "x" and not c.deleted and c.created_time >= oldest and _match(c, groups)
        ]
        items += [p for p in st.posts.values()
                  if p.platform == "x" and p.created_time >= oldest and _match(p, groups)]
        return _page(items, "next_token", 10, 100, 10)


def _query_owner(query: str) -> str | None:
    """The account whose conversations a query searches, when they are all one account's."""
    st = state()
    conversations = re.findall(r"conversation_id:(\d+)", query)
    owners = {st.posts[c].space for c in conversations if c in st.posts}
    owners |= set(re.findall(r"(?<![-\w])from:(\d+)", query))
    return owners.pop() if len(owners) == 1 else None


def _id_time(tweet_id: str) -> dt.datetime:
    from connectors.sandbox.ids import X_EPOCH_MS

    return dt.datetime.fromtimestamp(((int(tweet_id) >> 22) + X_EPOCH_MS) / 1000, tz=dt.UTC)


# --- timelines -------------------------------------------------------------------------------------


@blueprint.get("/2/users/<user_id>/mentions")
def mentions(user_id: str) -> Any:
    guard = _guard("mentions", user_id)
    if not isinstance(guard, _Caller):
        return guard
    st = state()
    with st.locked():
        items: list[SbComment | SbPost] = [
            c for c in st.comments.values()
            if c.platform == "x" and not c.deleted and _author(c) != user_id
            and st.posts.get(c.post) is not None and st.posts[c.post].space == user_id
        ]
        return _page(items, "pagination_token", 5, 100, 10)


@blueprint.get("/2/users/<user_id>/tweets")
def user_tweets(user_id: str) -> Any:
    guard = _guard("timeline", user_id)
    if not isinstance(guard, _Caller):
        return guard
    exclude = set(request.args.get("exclude", "").split(","))
    st = state()
    with st.locked():
        items: list[SbComment | SbPost] = [
            p for p in st.posts.values() if p.platform == "x" and p.space == user_id
        ]
        if "replies" not in exclude:
            items += [c for c in st.comments.values()
                      if c.platform == "x" and not c.deleted and _author(c) == user_id]
        return _page(items, "pagination_token", 5, 100, 10)


@blueprint.get("/2/users/me")
def users_me() -> Any:
    guard = _guard("me", None, user_context=True)
    if not isinstance(guard, _Caller):
        return guard
    assert guard.user_id is not None
    space: SbSpace | None = state().spaces.get(("x", guard.user_id))
    name = space.name if space else f"user {guard.user_id}"
    username = space.username if space else f"user{guard.user_id[:6]}"
    return _answer({"data": _user(guard.user_id, name, username, _fields("user.fields"))})


# --- tweets ----------------------------------------------------------------------------------------


def _not_found(tweet_id: str) -> dict[str, Any]:
    return {"errors": [{
        "value": tweet_id, "detail": f"Could not find tweet with id: [{tweet_id}].",
        "title": "Not Found Error", "resource_type": "tweet", "parameter": "id",
        "resource_id": tweet_id, "type": "https://api.twitter.com/2/problems/resource-not-found",
    }]}


@blueprint.get("/2/tweets/<tweet_id>")
def get_tweet(tweet_id: str) -> Any:
    st = state()
    item: SbComment | SbPost | None = st.comment(tweet_id)
    if item is None:
        item = st.posts.get(tweet_id)
    space = item.space if item is not None else None
    guard = _guard("tweet", space)
    if not isinstance(guard, _Caller):
        return guard
    if item is None or (isinstance(item, SbComment) and (item.deleted or item.platform != "x")):
        return _answer(_not_found(tweet_id))
    if isinstance(item, SbPost) and item.platform != "x":
        return _answer(_not_found(tweet_id))
    body: dict[str, Any] = {"data": _render(item)}
    includes = _includes([item])
    if includes:
        body["includes"] = includes
    return _answer(body)


@blueprint.put("/2/tweets/<tweet_id>/hidden")
def hide_reply(tweet_id: str) -> Any:
    st = state()
    comment = st.comment(tweet_id)
    post = st.posts.get(comment.post) if comment else None
    guard = _guard("hidden", post.space if post else None, user_context=True)
    if not isinstance(guard, _Caller):
        return guard
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("hidden"), bool):
        return _problem(400, "Invalid Request", "The `hidden` field is required and must be a "
                        "boolean.", "https://api.twitter.com/2/problems/invalid-request")
    if comment is None or comment.platform != "x" or comment.deleted:
        if tweet_id in st.posts:
            return _problem(403, "Forbidden", "You attempted to hide a Tweet that is not a reply.")
        return _problem(404, "Not Found Error", f"Could not find tweet with id: [{tweet_id}].",
                        "https://api.twitter.com/2/problems/resource-not-found")
    if post is None or post.space != guard.user_id or _author(comment) == guard.user_id:
        return _problem(403, "Forbidden", "You attempted to hide a reply that is not part of a "
                                          "conversation you started.")
    with st.locked():
        comment.hidden = body["hidden"]
    return _answer({"data": {"hidden": comment.hidden}})
