"""Instagram professional accounts through the Graph API (facebook-sdk).

The Instagram Graph API lists a media's comments newest first, at most 50 a page, with no
timestamp filter. A poll therefore:

1. reads the account's recent media with their ``comments_count`` (one call);
2. for each media whose count changed since the last poll, reads its comments newest first with
   their replies expanded (``replies{...}``), in batch requests of up to 50 media, and pages on
   only until it reaches comments older than the cursor — or, when the count grew by more than
   it found (a new reply under an old comment), until it has found them or ``max_pages``.

Hiding is ``POST /{ig-comment-id}`` with ``hide=true|false``; a comment by the account itself
cannot be hidden.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import Field

from connectors.base import (
    CheckResult,
    Connector,
    ConnectorOptions,
    FetchResult,
    RemoteComment,
    RemotePost,
    RemoteState,
    Usage,
)
from connectors.errors import BadPayload, Refused
from connectors.graph import (
    DEFAULT_GRAPH_VERSION,
    GRAPH_VERSION_PATTERN,
    GraphClient,
    ensure_success,
    is_gone,
    is_missing_object,
    map_error,
    parse_seen,
    parse_time,
    render_seen,
    utcnow,
)
from connectors.graph import _ as _
from connectors.registry import register

MEDIA_FIELDS = "id,caption,timestamp,permalink,comments_count"
REPLY_FIELDS = "id,text,timestamp,username,from{id,username},hidden"
COMMENT_FIELDS = f"{REPLY_FIELDS},replies.limit(50){{{REPLY_FIELDS},parent_id}}"
PAGE_SIZE = 50  # the API's maximum
REQUIRED_PERMISSIONS = ("instagram_basic", "instagram_manage_comments")


class InstagramOptions(ConnectorOptions):
    """``options`` of an Instagram space."""

    graph_version: str = Field(default=DEFAULT_GRAPH_VERSION, pattern=GRAPH_VERSION_PATTERN)
    max_media: int = Field(default=25, ge=1, le=100)  # recent media watched for comments
    lookback_days: int = Field(default=30, ge=1, le=365)  # first poll: comments this recent
    overlap_seconds: int = Field(default=60, ge=0, le=3600)
    max_pages: int = Field(default=20, ge=1, le=1000)  # pages of 50 per media and poll


def parse_comment(item: Mapping[str, Any], *, account_id: str, media_id: str | None,
                  parent_id: str | None = None, permalink: str | None = None) -> RemoteComment:
    """Given one Instagram comment object, return it as a RemoteComment. Raise BadPayload."""
    if not isinstance(item, Mapping) or not item.get("id"):
        raise BadPayload(_("The platform sent a comment without an id."))
    author = item.get("from") if isinstance(item.get("from"), Mapping) else {}
    author_id = str(author["id"]) if author.get("id") else None
    username = item.get("username") or author.get("username")
    return RemoteComment(
        platform_id=str(item["id"]),
        text=str(item.get("text") or ""),
        created_time=parse_time(item.get("timestamp")),
        author_id=author_id,
        author_name=username,
        post_id=media_id,
        parent_id=parent_id or item.get("parent_id"),
        permalink=permalink,
        hidden=bool(item.get("hidden", False)),
        by_owner=author_id == account_id,
        author_meta={"username": username} if username else {},
    )


def parse_comments_page(
    body: Any, *, account_id: str, media_id: str | None, permalink: str | None = None,
    parent_id: str | None = None,
) -> tuple[list[RemoteComment], list[tuple[str, str]], str | None]:
    """Given a ``/{media-id}/comments`` (or ``/replies``) page, return its comments (replies
    included), the ``paging.next`` of replies lists that go on, and the page's ``paging.next``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise BadPayload(_("The platform sent a list of comments that cannot be read."))
    comments: list[RemoteComment] = []
    more_replies: list[tuple[str, str]] = []
    for item in body["data"]:
        comment = parse_comment(item, account_id=account_id, media_id=media_id,
                                parent_id=parent_id, permalink=permalink)
        comments.append(comment)
        replies = item.get("replies") if isinstance(item, Mapping) else None
        if isinstance(replies, Mapping):
            reply_items = replies.get("data") or []
            if not isinstance(reply_items, list):
                raise BadPayload(_("The platform sent a list of comments that cannot be read."))
            for reply in reply_items:
                comments.append(parse_comment(reply, account_id=account_id, media_id=media_id,
                                              parent_id=comment.platform_id,
                                              permalink=permalink))
            paging = replies.get("paging") if isinstance(replies.get("paging"), Mapping) else {}
            if paging.get("next"):
                more_replies.append((comment.platform_id, paging["next"]))
    paging = body.get("paging") if isinstance(body.get("paging"), Mapping) else {}
    return comments, more_replies, paging.get("next")


def _relative_from(next_url: str) -> str:
    parts = urlsplit(next_url)
    args = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k not in ("access_token", "appsecret_proof")]
    return f"{parts.path.lstrip('/')}?{urlencode(args)}"


@register
class InstagramConnector(Connector):
    kind: ClassVar[str] = "instagram"
    display_name: ClassVar[str] = "Instagram"
    required_secrets: ClassVar[tuple[str, ...]] = ("access_token",)
    optional_secrets: ClassVar[tuple[str, ...]] = ("app_secret",)
    Options = InstagramOptions
    default_api_base_url: ClassVar[str] = "https://graph.facebook.com"
    can_delete: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        assert isinstance(self.options, InstagramOptions)
        self.opts: InstagramOptions = self.options
        self.client = GraphClient(
            self.secrets["access_token"],
            version=self.opts.graph_version,
            base_url=self.api_base_url,
            timeout=self.timeout,
            app_secret=self.secrets.get("app_secret"),
        )

    def fetch(self, cursor: Mapping[str, str]) -> FetchResult:
        now = utcnow()
        calls_before = self.client.calls
        overlap = dt.timedelta(seconds=self.opts.overlap_seconds)
        since = (parse_time(cursor["since"]) if cursor.get("since")
                 else now - dt.timedelta(days=self.opts.lookback_days))
        window_start = since - overlap
        seen = parse_seen(cursor.get("seen"))
        try:
            counts: dict[str, int] = json.loads(cursor.get("counts") or "{}")
        except ValueError:
            counts = {}

        listing = self.client.request(
            f"{self.platform_id}/media", {"fields": MEDIA_FIELDS, "limit": self.opts.max_media})
        if not isinstance(listing, Mapping) or not isinstance(listing.get("data"), list):
            raise BadPayload(_("The platform sent a list of media that cannot be read."))
        media: dict[str, Mapping[str, Any]] = {}
        posts: list[RemotePost] = []
        for item in listing["data"]:
            if not isinstance(item, Mapping) or not item.get("id"):
                raise BadPayload(_("The platform sent a media without an id."))
            media[str(item["id"])] = item
            posts.append(RemotePost(
                platform_id=str(item["id"]), text=str(item.get("caption") or ""),
                created_time=parse_time(item["timestamp"]) if item.get("timestamp") else None,
                permalink=item.get("permalink"),
            ))
        new_counts = {mid: _comment_count(item.get("comments_count"))
                      for mid, item in media.items()}
        changed = [mid for mid in media
                   if new_counts[mid] < 0 or new_counts[mid] != counts.get(mid, 0)]

        found: dict[str, RemoteComment] = {}
        # How many new comments and replies to look for under each media. On the first poll
        # (no counts yet) none are owed: stop at the lookback, like any later poll.
        expected = {mid: max(0, new_counts[mid] - counts.get(mid, 0)) if counts else 0
                    for mid in changed}
        fresh_count: dict[str, int] = dict.fromkeys(changed, 0)
        # (media id, relative url, page number, replies-of comment id or None)
        pending: list[tuple[str, str, int, str | None]] = [
            (mid, self.client.relative(f"{mid}/comments",
                                       {"fields": COMMENT_FIELDS, "limit": PAGE_SIZE}), 1, None)
            for mid in changed
        ]
        while pending:
            items = [{"method": "GET", "relative_url": url} for _m, url, _p, _r in pending]
            follow_ups: list[tuple[str, str, int, str | None]] = []
            for (mid, _url, page, parent), (status, body) in zip(
                pending, self.client.batches(items), strict=True
            ):
                if status == 0:
                    raise map_error(None, status=503)
                if status != 200:
                    if is_missing_object(status, body):
                        continue  # media or comment deleted meanwhile
                    raise map_error(body, status=status)
                comments, more_replies, next_url = parse_comments_page(
                    body, account_id=self.platform_id, media_id=mid,
                    permalink=media[mid].get("permalink"), parent_id=parent)
                reached_old = False
                for comment in comments:
                    if comment.created_time < window_start:
                        if comment.parent_id is None or parent is not None:
                            reached_old = True
                        continue
                    if comment.platform_id not in found and comment.platform_id not in seen:
                        fresh_count[mid] += 1
                    found.setdefault(comment.platform_id, comment)
                follow_ups.extend((mid, _relative_from(u), 1, cid) for cid, u in more_replies)
                want_more = not reached_old or fresh_count[mid] < expected[mid]
                if next_url and want_more and page < self.opts.max_pages:
                    follow_ups.append((mid, _relative_from(next_url), page + 1, parent))
            pending = follow_ups

        fresh = sorted(
            (c for c in found.values() if c.platform_id not in seen),
            key=lambda c: (c.created_time, c.platform_id),
        )
        newest = max([since, *(c.created_time for c in found.values())])
        seen_next = render_seen(seen, found.values(), newest - overlap)
        return FetchResult(
            comments=fresh,
            cursor={"since": newest.isoformat(), "seen": seen_next,
                    "counts": json.dumps(new_counts, sort_keys=True)},
            posts=[p for p in posts if p.platform_id in changed],
            calls=self.client.calls - calls_before,
            usage=self.client.usage,
        )

    def state(self, comment_id: str) -> RemoteState:
        try:
            node = self.client.request(comment_id, {"fields": "id,hidden"})
        except Refused as error:
            if is_gone(error):
                return "deleted"
            raise
        if not isinstance(node, Mapping) or "id" not in node:
            raise BadPayload(_("The platform answered something that cannot be read."))
        return "hidden" if node.get("hidden") else "visible"

    def check(self) -> CheckResult:
        return self.client.check_token(REQUIRED_PERMISSIONS, self.platform_id,
                                       self.platform_id, "id,username")

    def last_usage(self) -> Usage | None:
        return self.client.usage

    def hide(self, comment_id: str) -> None:
        ensure_success(self.client.request(comment_id, post_args={"hide": "true"}))

    def unhide(self, comment_id: str) -> None:
        ensure_success(self.client.request(comment_id, post_args={"hide": "false"}))

    def delete(self, comment_id: str) -> None:
        ensure_success(self.client.request(comment_id, method="DELETE"))

    def close(self) -> None:
        self.client.close()


def _comment_count(value: Any) -> int:
    """Given a media's ``comments_count``, return it; -1 when unreadable, so that the media
    counts as changed and its comments are read (nothing is skipped on a damaged answer)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return -1
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
