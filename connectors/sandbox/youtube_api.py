"""Sandbox routes of the YouTube Data API v3: comment threads, comments, moderation, channels.

Shapes follow the API reference: list responses with ``kind``, ``etag``, ``pageInfo``,
``nextPageToken`` and ``items``; errors as ``{"error": {"code", "message", "errors": [{"message",
"domain", "reason"}]}}``. The project's daily quota (10,000 units by default, reset at midnight
Pacific time) is counted with the documented costs (list 1, setModerationStatus 50, delete 50); a
call that would pass it is answered 403 ``quotaExceeded`` and counted ``over_limit``.

Authentication: ``Authorization: Bearer <token>`` where the token is a channel's ``token`` (set
with ``POST /_sandbox/spaces``) or, for a channel without one, ``ya29.<channel-id>``.
``POST /_sandbox/youtube/quota`` (``{"limit": N, "used": N}``) sets the day's quota for tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, request

from connectors.sandbox.server import note_call, state, take_fault
from connectors.sandbox.state import SbComment, SbSpace

blueprint = Blueprint("sandbox_youtube", __name__)

PACIFIC = ZoneInfo("America/Los_Angeles")
DEFAULT_QUOTA = 10_000
COSTS = {"list": 1, "setModerationStatus": 50, "delete": 50}
STATUSES = ("published", "heldForReview", "likelySpam", "rejected")
REPLIES_INCLUDED = 5  # commentThreads' "replies" part carries at most this many


def _error(code: int, reason: str, message: str, domain: str = "youtube.comment",
           **extra: Any) -> tuple[Response, int]:
    item = {"message": message, "domain": domain, "reason": reason, **extra}
    return jsonify({"error": {"code": code, "message": message, "errors": [item]}}), code


def _auth_error() -> tuple[Response, int]:
    response, code = _error(
        401, "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential.",
        "global", location="Authorization", locationType="header",
    )
    return response, code


def _quota_error() -> tuple[Response, int]:
    return _error(403, "quotaExceeded", "The request cannot be completed because you have "
                  "exceeded your quota.", "youtube.quota")


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _etag(*parts: Any) -> str:
    return base64.urlsafe_b64encode(
        hashlib.sha256(repr(parts).encode()).digest()[:20]
    ).decode().rstrip("=")


# --- quota and authentication ----------------------------------------------------------------


def _quota() -> dict[str, Any]:
    st = state()
    book = st.counters.setdefault("youtube", {"limit": DEFAULT_QUOTA, "used": {}})
    return book


def _day() -> str:
    return state().now().astimezone(PACIFIC).date().isoformat()


@blueprint.post("/_sandbox/youtube/quota")
def set_quota() -> Any:
    """Set the daily quota (``limit``, every channel) or one channel's units ``used`` today."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": "expected a JSON object"}), 400
    try:
        with state().locked():
            book = _quota()
            if "limit" in body:
                book["limit"] = int(body["limit"])
            if "used" in body:
                book["used"][(str(body["channel"]), _day())] = int(body["used"])
    except (KeyError, TypeError, ValueError):
        return jsonify({"error": "expected limit, or channel and used (numbers)"}), 400
    return get_quota()


@blueprint.get("/_sandbox/youtube/quota")
def get_quota() -> Any:
    """Return the daily quota and what each channel used today (Pacific time)."""
    with state().locked():
        book = _quota()
        used = {channel: n for (channel, day), n in book["used"].items() if day == _day()}
        return jsonify({"limit": book["limit"], "day": _day(), "used": used})


def _caller(hint: str | None) -> SbSpace | None:
    """The channel a bearer token belongs to; None (401) if none.

    A channel's ``token`` when set; ``ya29.<channel-id>`` for a channel without one; and any
    token for ``hint`` (the channel the request is about) when that channel has no set token.
    """
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header[len("Bearer "):].strip()
    with state().locked() as st:
        channels = [s for s in st.spaces.values() if s.platform == "youtube"]
        for space in channels:
            if space.token and space.token == token:
                return space
        open_channels = [s for s in channels if s.token is None]
        for space in open_channels:
            if token == f"ya29.{space.id}":
                return space
        for space in open_channels:
            if space.id == hint:
                return space
        if hint is None and request.path.endswith("/channels") and len(open_channels) == 1:
            return open_channels[0]
    return None


def _guard(cost: int, space: str | None) -> Any:
    """Faults, authentication and quota common to every route: an error, or the caller."""
    note_call("youtube", space)
    fault = take_fault("youtube", space)
    if fault is not None:
        if fault.kind == "http500":
            return _error(500, "backendError", "Backend Error", "global")
        if fault.kind == "timeout":
            return _error(503, "backendError", "Backend Error", "global")
        code = str(fault.code or "backendError")
        if code in ("quotaExceeded", "403"):
            return _quota_error()
        if code in ("authError", "401"):
            return _auth_error()
        if code == "rateLimitExceeded":
            return _error(403, "rateLimitExceeded", "The request cannot be completed because "
                          "you have exceeded your rate limit.", "youtube.quota")
        if code == "forbidden":
            return _error(403, "forbidden", "The request is not properly authorized.")
        return _error(503, "backendError", "Backend Error", "global")
    caller = _caller(space)
    if caller is None:
        return _auth_error()
    if space is None:
        note_call("youtube", caller.id)
    with state().locked():
        book = _quota()
        key = (caller.id, _day())  # one Google Cloud project per channel in the sandbox
        used = book["used"].get(key, 0)
        if used + cost > book["limit"]:
            note_call("youtube", space or caller.id, over_limit=True)
            return _quota_error()
        book["used"][key] = used + cost
    return caller


# --- rendering -------------------------------------------------------------------------------


def _comment(comment: SbComment, owner: bool) -> dict[str, Any]:
    st = state()
    post = st.posts.get(comment.post)
    handle = "@" + (comment.author_username or "user")
    snippet: dict[str, Any] = {
        "channelId": comment.space,
        "videoId": comment.post if post is not None else None,
        "textDisplay": comment.text,
        "textOriginal": comment.text,
        "authorDisplayName": handle,
        "authorProfileImageUrl": "https://yt3.ggpht.com/ytc/default-s48-c-k-c0x00ffffff-no-rj",
        "authorChannelUrl": f"http://www.youtube.com/{handle}",
        "authorChannelId": {"value": _author(comment)},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": 0,
        "publishedAt": _iso(comment.created_time),
        "updatedAt": _iso(comment.created_time),
    }
    if comment.parent:
        snippet["parentId"] = comment.parent
    if owner:
        snippet["moderationStatus"] = comment.moderation_status
    if snippet["videoId"] is None:
        del snippet["videoId"]
    return {"kind": "youtube#comment", "etag": _etag(comment.id, comment.text), "id": comment.id,
            "snippet": snippet}


def _author(comment: SbComment) -> str:
    """The author's channel id (the channel itself for a comment made by the space)."""
    return comment.space if comment.by_owner else comment.author_id


def _replies(top: SbComment, statuses: tuple[str, ...] = ("published",)) -> list[SbComment]:
    return [
        c for c in state().post_comments(top.post)
        if c.parent == top.id and c.moderation_status in statuses
    ]


def _page(items: list[Any], default: int) -> tuple[list[Any], dict[str, Any]] | tuple[Response, int]:
    try:
        size = int(request.args.get("maxResults", default))
    except ValueError:
        size = -1
    if not 1 <= size <= 100:
        return _error(400, "invalidValue", "Invalid value for maxResults: must be 1 to 100.",
                      "youtube.parameter")
    offset = 0
    token = request.args.get("pageToken")
    if token:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalidPageToken", "The request specifies an invalid page token.",
                          "youtube.parameter")
    chosen = items[offset:offset + size]
    extra: dict[str, Any] = {
        "pageInfo": {"totalResults": len(items), "resultsPerPage": size},
    }
    if offset + size < len(items):
        extra["nextPageToken"] = base64.urlsafe_b64encode(
            json.dumps({"o": offset + size}).encode()
        ).decode()
    return chosen, extra


def _list(kind: str, items: list[dict[str, Any]], extra: dict[str, Any]) -> Response:
    body: dict[str, Any] = {"kind": kind, "etag": _etag(kind, [i["id"] for i in items])}
    if "nextPageToken" in extra:
        body["nextPageToken"] = extra["nextPageToken"]
    body["pageInfo"] = extra["pageInfo"]
    body["items"] = items
    return jsonify(body)


# --- routes ----------------------------------------------------------------------------------


@blueprint.post("/token")
def oauth_token() -> Any:
    """Google's OAuth 2.0 token endpoint, refresh_token grant only.

    A refresh token ``1//<channel-id>`` of a known channel gives that channel's access token (its
    ``token`` if set, else ``ya29.<channel-id>``), valid one hour.
    """
    form = request.form
    note_call("youtube", None)
    if form.get("grant_type") != "refresh_token":
        return jsonify({"error": "unsupported_grant_type",
                        "error_description": "Invalid grant_type"}), 400
    if not form.get("client_id") or not form.get("client_secret"):
        return jsonify({"error": "invalid_client", "error_description": "Unauthorized"}), 401
    refresh = form.get("refresh_token", "")
    channel_id = refresh[3:] if refresh.startswith("1//") else ""
    space = state().spaces.get(("youtube", channel_id))
    if space is None:
        return jsonify({"error": "invalid_grant",
                        "error_description": "Token has been expired or revoked."}), 400
    note_call("youtube", space.id)
    return jsonify({
        "access_token": space.token or f"ya29.{space.id}",
        "expires_in": 3599,
        "scope": "https://www.googleapis.com/auth/youtube.force-ssl",
        "token_type": "Bearer",
    })


@blueprint.get("/youtube/v3/commentThreads")
def comment_threads() -> Any:
    args = request.args
    channel = args.get("allThreadsRelatedToChannelId")
    video = args.get("videoId")
    st = state()
    space = channel or (st.posts[video].space if video in st.posts else None)
    guard = _guard(COSTS["list"], space)
    if not isinstance(guard, SbSpace):
        return guard
    if "snippet" not in args.get("part", "").split(",") and "id" not in args.get("part", ""):
        return _error(400, "missingRequiredParameter", "No filter selected. Expected one of: part",
                      "youtube.parameter")
    if not channel and not video:
        return _error(400, "missingRequiredParameter", "No filter selected. Expected one of: "
                      "allThreadsRelatedToChannelId, videoId, id, channelId", "youtube.parameter")
    if channel and ("youtube", channel) not in st.spaces:
        return _error(404, "channelNotFound", "The channel could not be found.")
    status = args.get("moderationStatus", "published")
    owner = guard.id == space
    if status != "published" and not owner:
        return _error(403, "forbidden", "The request is not properly authorized to retrieve the "
                      "specified comment threads.")
    with st.locked():
        tops = [
            c for c in st.comments.values()
            if c.platform == "youtube" and c.parent is None and not c.deleted
            and c.moderation_status == status
            and (c.space == channel if channel else c.post == video)
        ]
        if args.get("order", "time") == "time":
            tops.sort(key=lambda c: (c.created_time, c.id), reverse=True)
        paged = _page(tops, 20)
        if isinstance(paged[0], Response):
            return paged
        chosen, extra = paged
        with_replies = "replies" in args.get("part", "").split(",")
        items = []
        for top in chosen:
            replies = _replies(top)
            thread: dict[str, Any] = {
                "kind": "youtube#commentThread",
                "etag": _etag("t", top.id, len(replies)),
                "id": top.id,
                "snippet": {
                    "channelId": top.space,
                    "videoId": top.post,
                    "topLevelComment": _comment(top, owner),
                    "canReply": True,
                    "totalReplyCount": len(replies),
                    "isPublic": True,
                },
            }
            if with_replies and replies:
                thread["replies"] = {
                    "comments": [_comment(r, owner) for r in replies[:REPLIES_INCLUDED]]
                }
            items.append(thread)
        return _list("youtube#commentThreadListResponse", items, extra)


@blueprint.get("/youtube/v3/comments")
def comments_list() -> Any:
    args = request.args
    st = state()
    ids = [i for i in args.get("id", "").split(",") if i]
    parent = args.get("parentId")
    first = st.comment(parent) if parent else (st.comment(ids[0]) if ids else None)
    guard = _guard(COSTS["list"], first.space if first else None)
    if not isinstance(guard, SbSpace):
        return guard
    if not ids and not parent:
        return _error(400, "missingRequiredParameter", "No filter selected. Expected one of: id, "
                      "parentId", "youtube.parameter")
    with st.locked():
        if ids:
            found = [c for c in (st.comment(i) for i in ids)
                     if c is not None and c.platform == "youtube" and not c.deleted]
            items = [_comment(c, guard.id == c.space) for c in found]
            return _list("youtube#commentListResponse", items,
                         {"pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}})
        if first is None or first.platform != "youtube":
            return _error(404, "commentNotFound", "The comment identified by the parentId "
                          "parameter could not be found.")
        replies = _replies(first)
        paged = _page(replies, 20)
        if isinstance(paged[0], Response):
            return paged
        chosen, extra = paged
        items = [_comment(c, guard.id == c.space) for c in chosen]
        return _list("youtube#commentListResponse", items, extra)


@blueprint.post("/youtube/v3/comments/setModerationStatus")
def set_moderation_status() -> Any:
    args = request.args
    st = state()
    ids = [i for i in args.get("id", "").split(",") if i]
    first = st.comment(ids[0]) if ids else None
    guard = _guard(COSTS["setModerationStatus"], first.space if first else None)
    if not isinstance(guard, SbSpace):
        return guard
    status = args.get("moderationStatus", "")
    if not ids or len(ids) > 50:
        return _error(400, "invalidValue", "The id parameter must list 1 to 50 comments.",
                      "youtube.parameter")
    if status not in ("heldForReview", "published", "rejected"):
        return _error(400, "invalidValue", "Invalid moderationStatus.", "youtube.parameter")
    if args.get("banAuthor", "false").lower() == "true" and status != "rejected":
        return _error(400, "banWithoutReject", "The banAuthor parameter can only be used if the "
                      "moderationStatus parameter value is rejected.")
    with st.locked():
        targets = []
        for comment_id in ids:
            comment = st.comment(comment_id)
            if comment is None or comment.platform != "youtube" or comment.deleted:
                return _error(404, "commentNotFound", "One or more comments that the request is "
                              "trying to update cannot be found.")
            if comment.space != guard.id:
                return _error(403, "forbidden", "The moderation status of one or more comments "
                              "cannot be set due to insufficient permissions.")
            if comment.moderation_status == "rejected" and status == "published":
                return _error(400, "processingFailure", "A rejected comment cannot be published "
                              "again.")
            targets.append(comment)
        for comment in targets:
            comment.moderation_status = status
            comment.hidden = status != "published"
    return Response(status=204)


@blueprint.delete("/youtube/v3/comments")
def delete_comment() -> Any:
    st = state()
    comment_id = request.args.get("id", "")
    comment = st.comment(comment_id)
    guard = _guard(COSTS["delete"], comment.space if comment else None)
    if not isinstance(guard, SbSpace):
        return guard
    if comment is None or comment.platform != "youtube" or comment.deleted:
        return _error(404, "commentNotFound", "The comment could not be found.")
    if _author(comment) != guard.id:
        return _error(403, "forbidden", "The comment could not be deleted: only its author may "
                      "delete it.")
    with st.locked():
        comment.deleted = True
    return Response(status=204)


@blueprint.get("/youtube/v3/channels")
def channels() -> Any:
    guard = _guard(COSTS["list"], None)
    if not isinstance(guard, SbSpace):
        return guard
    if request.args.get("mine") != "true" and not request.args.get("id"):
        return _error(400, "missingRequiredParameter", "No filter selected. Expected one of: "
                      "mine, id, forHandle", "youtube.parameter")
    ids = [guard.id] if request.args.get("mine") == "true" else request.args["id"].split(",")
    items = []
    st = state()
    for channel_id in ids:
        space = st.spaces.get(("youtube", channel_id))
        if space is None:
            continue
        items.append({
            "kind": "youtube#channel",
            "etag": _etag("c", space.id),
            "id": space.id,
            "snippet": {"title": space.name, "description": "", "customUrl": "@" + space.username,
                        "publishedAt": "2015-09-01T12:00:00Z"},
        })
    return _list("youtube#channelListResponse", items,
                 {"pageInfo": {"totalResults": len(items), "resultsPerPage": 5}})
