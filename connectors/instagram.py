"""Instagram professional accounts through the Graph API (facebook-sdk).

The Instagram Graph API lists a media's comments newest first, at most 50 a page, with no
timestamp filter. A poll therefore:

1. reads the account's media, newest first, with their ``comments_count`` and, by field
   expansion, their ``listing_comments_limit`` newest top-level comments with replies
   (``comments.limit(N){..., replies{...}}``): the first page of ``max_media`` always, then the
   next pages while they hold media younger than ``media_lookback_days`` (at most
   ``max_media_pages`` pages). The comments newer than the cursor come with the listing;
2. a media whose count changed since the last poll, or whose newest comment is within the
   cursor's window and not seen yet (one deleted, one added), and whose nested page ends with
   comments still newer than the cursor — or, when the count grew by more than it found (a new
   reply under an old comment), whose nested page did not hold them all — is read on from the
   nested page's ``paging.next``, 50 comments a page, until it reaches comments older than the
   cursor (or has found them, or ``max_pages``).

The listing's next pages and the read-on pages ride in batch requests (50 requests a call). A
poll therefore costs L HTTP calls when the look-back window's media take L listing pages and no
media has more new comments than its nested page holds, whatever the number P of media with new
comments (one call up to ``max_media`` recent media); each media read on adds one request to a
batch. Graph counts every request of a batch: L plus one per page read on. A listing Graph finds
too large (error 1, "Please reduce the amount of data...") is asked for again with ``max_media``
and ``listing_comments_limit`` halved (:func:`connectors.graph.with_smaller_pages`).

Hiding is ``POST /{ig-comment-id}`` with ``hide=true|false``; a comment by the account itself
cannot be hidden.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import deque
from collections.abc import Mapping, Sequence
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
    parse_seen,
)
from connectors.errors import BadPayload, ConnectorError, Refused
from connectors.graph import (
    DEFAULT_GRAPH_VERSION,
    GRAPH_VERSION_PATTERN,
    MAX_BATCH,
    GraphClient,
    act_in_batches,
    ensure_success,
    is_gone,
    is_missing_object,
    map_error,
    parse_time,
    render_seen,
    utcnow,
    with_smaller_pages,
)
from connectors.graph import _ as _
from connectors.registry import register

# With each media, its newest top-level comments (comments.limit(N){...}, field expansion), so
# that its new comments come with the listing; data[0], the newest, also tells a new comment
# when another was deleted meanwhile (comments_count unchanged).
MEDIA_FIELDS = "id,caption,timestamp,permalink,comments_count"
REPLY_FIELDS = "id,text,timestamp,username,from{id,username},hidden"
COMMENT_FIELDS = f"{REPLY_FIELDS},replies.limit(50){{{REPLY_FIELDS},parent_id}}"
PAGE_SIZE = 50  # the API's maximum
REQUIRED_PERMISSIONS = ("instagram_basic", "instagram_manage_comments")

log = logging.getLogger(__name__)


class InstagramOptions(ConnectorOptions):
    """``options`` of an Instagram space."""

    graph_version: str = Field(default=DEFAULT_GRAPH_VERSION, pattern=GRAPH_VERSION_PATTERN)
    max_media: int = Field(default=100, ge=1, le=100)  # media per page of the listing
    # Media younger than this are watched for comments (beyond the first page of the listing,
    # which is always watched), following the listing's pages, at most max_media_pages.
    media_lookback_days: int = Field(default=30, ge=1, le=365)
    max_media_pages: int = Field(default=20, ge=1, le=1000)
    # Newest top-level comments read inside the listing for each media (field expansion); a
    # media with more new comments is read on, 50 a page, in batch requests.
    listing_comments_limit: int = Field(default=10, ge=1, le=50)
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


def listing_fields(comments_limit: int) -> str:
    """The media listing's ``fields``: each media with its ``comments_limit`` newest top-level
    comments and their replies (field expansion)."""
    return f"{MEDIA_FIELDS},comments.limit({comments_limit}){{{COMMENT_FIELDS}}}"


def _follow_up(next_url: str, fields: str) -> str:
    """Turn a comments (or replies) page's ``paging.next`` into a batch item's relative URL
    that asks for ``fields`` and ``PAGE_SIZE`` a page (a nested edge's next page need not
    repeat the fields or the page size it was asked with)."""
    parts = urlsplit(next_url)
    args = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k not in ("access_token", "appsecret_proof")}
    args["fields"] = fields
    args["limit"] = str(PAGE_SIZE)
    return f"{parts.path.lstrip('/')}?{urlencode(args)}"


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
        return with_smaller_pages(
            lambda sizes: self._fetch(cursor, now, *sizes),
            (self.opts.max_media, self.opts.listing_comments_limit),
            cursor, client=self.client, what=f"Instagram account {self.platform_id}", now=now)

    def _fetch(self, cursor: Mapping[str, str], now: dt.datetime, max_media: int,
               comments_limit: int) -> FetchResult:
        """One poll with these page sizes: ``max_media`` media a page of the listing, each with
        its ``comments_limit`` newest top-level comments."""
        overlap = dt.timedelta(seconds=self.opts.overlap_seconds)
        since = (parse_time(cursor["since"]) if cursor.get("since")
                 else now - dt.timedelta(days=self.opts.lookback_days))
        window_start = since - overlap
        media_from = now - dt.timedelta(days=self.opts.media_lookback_days)
        seen = parse_seen(cursor.get("seen"))
        counts = _parse_counts(cursor.get("counts"))

        media: dict[str, Mapping[str, Any]] = {}
        posts: list[RemotePost] = []
        new_counts: dict[str, int] = {}
        # How many new comments and replies to look for under each media whose count changed.
        # On the first poll (no counts yet) none are owed: stop at the lookback, like any later
        # poll.
        expected: dict[str, int] = {}
        fresh_count: dict[str, int] = {}
        found: dict[str, RemoteComment] = {}
        # Reads still to make: (media id, relative url, page number, replies-of comment id or
        # None); a media id of "" is the next page of the media listing.
        pending: deque[tuple[str, str, int, str | None]] = deque()
        listing_pages = 0

        def take_comments(mid: str, body: Any, page: int, parent: str | None
                          ) -> list[tuple[str, str, int, str | None]]:
            """Record one page of a media's comments (or of a comment's replies), newest first;
            return the reads still owed for it: more replies, and its next page while it holds
            comments newer than the cursor or the count's growth is not found yet. Only a media
            whose count or newest comment changed (in ``expected``) is read on."""
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
                    fresh_count[mid] = fresh_count.get(mid, 0) + 1
                found.setdefault(comment.platform_id, comment)
            if mid not in expected:
                return []
            follow_ups = [(mid, _follow_up(u, REPLY_FIELDS), 1, cid) for cid, u in more_replies]
            want_more = not reached_old or fresh_count.get(mid, 0) < expected[mid]
            if next_url and want_more and page < self.opts.max_pages:
                fields = COMMENT_FIELDS if parent is None else REPLY_FIELDS
                follow_ups.append((mid, _follow_up(next_url, fields), page + 1, parent))
            return follow_ups

        def take_listing(body: Any) -> None:
            """Record one page of the media listing with each media's newest comments (field
            expansion), queue the reads of the media whose comments go on past them, then the
            listing's next page if it is still wanted."""
            nonlocal listing_pages
            listing_pages += 1
            if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
                raise BadPayload(_("The platform sent a list of media that cannot be read."))
            reached_old = False
            follow_ups: list[tuple[str, str, int, str | None]] = []
            for item in body["data"]:
                if not isinstance(item, Mapping) or not item.get("id"):
                    raise BadPayload(_("The platform sent a media without an id."))
                mid = str(item["id"])
                created = parse_time(item["timestamp"]) if item.get("timestamp") else None
                if created is not None and created < media_from:
                    reached_old = True
                if mid in media:
                    continue
                media[mid] = item
                posts.append(RemotePost(
                    platform_id=mid, text=str(item.get("caption") or ""),
                    created_time=created, permalink=item.get("permalink"),
                ))
                count = _comment_count(item.get("comments_count"))
                new_counts[mid] = count
                if (count < 0 or count != counts.get(mid, 0)
                        or _unseen_newest(item, window_start, seen)):
                    expected[mid] = max(0, count - counts.get(mid, 0)) if counts else 0
                edge = item.get("comments")
                if edge is None:
                    continue  # Graph leaves out an empty edge
                if isinstance(edge, Mapping) and isinstance(edge.get("data"), list):
                    follow_ups.extend(take_comments(mid, edge, 1, None))
                elif mid in expected:  # an edge that cannot be read: read the media's own
                    follow_ups.append((mid, self.client.relative(
                        f"{mid}/comments", {"fields": COMMENT_FIELDS, "limit": PAGE_SIZE}),
                        1, None))
            pending.extend(follow_ups)
            paging = body.get("paging") if isinstance(body.get("paging"), Mapping) else {}
            next_url = paging.get("next")
            if reached_old or not body["data"] or not isinstance(next_url, str):
                return
            if listing_pages >= self.opts.max_media_pages:
                log.warning(
                    "Instagram account %s: its media younger than %d days fill more than "
                    "max_media_pages = %d pages of %d; the older ones are not watched",
                    self.platform_id, self.opts.media_lookback_days,
                    self.opts.max_media_pages, max_media)
                return
            # The next listing page goes first in the next batch: it can add media to read.
            pending.appendleft(("", _relative_from(next_url), listing_pages + 1, None))

        take_listing(self.client.request(f"{self.platform_id}/media", {
            "fields": listing_fields(comments_limit), "limit": max_media}))
        while pending:
            jobs = [pending.popleft() for _n in range(min(MAX_BATCH, len(pending)))]
            items = [{"method": "GET", "relative_url": url} for _m, url, _p, _r in jobs]
            follow_ups: list[tuple[str, str, int, str | None]] = []
            for (mid, _url, page, parent), (status, body) in zip(
                jobs, self.client.batch(items), strict=True
            ):
                if status == 0:
                    raise map_error(None, status=503)
                if not mid:  # a page of the media listing
                    if status != 200:
                        raise map_error(body, status=status)
                    take_listing(body)
                    continue
                if status != 200:
                    if is_missing_object(status, body):
                        continue  # media or comment deleted meanwhile
                    raise map_error(body, status=status)
                follow_ups.extend(take_comments(mid, body, page, parent))
            pending.extend(follow_ups)

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
            posts=[p for p in posts
                   if p.platform_id in expected or fresh_count.get(p.platform_id)],
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

    def act_many(self, kind: str, comment_ids: Sequence[str]) -> list[ConnectorError | None]:
        """Hide, unhide or delete several comments, 50 to a batch request."""
        return act_in_batches(self.client, kind, comment_ids, "hide")

    def close(self) -> None:
        self.client.close()


def _parse_counts(text: str | None) -> dict[str, int]:
    """Given a cursor's ``counts`` (JSON {media id: count}), return it; {} when unreadable."""
    try:
        counts = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(counts, dict):
        return {}
    return {str(k): v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}


def _unseen_newest(item: Mapping[str, Any], window_start: dt.datetime,
                   seen: Mapping[str, int]) -> bool:
    """True when a listed media's newest top-level comment (``comments.limit(1)``) is within
    the cursor's window and not seen yet, or cannot be read (then the media is read)."""
    edge = item.get("comments")
    if edge is None:
        return False  # Graph leaves out an empty edge
    data = edge.get("data") if isinstance(edge, Mapping) else None
    if not isinstance(data, list):
        return True
    if not data:
        return False
    newest = data[0]
    if not isinstance(newest, Mapping) or not newest.get("id"):
        return True
    try:
        created = parse_time(newest.get("timestamp"))
    except BadPayload:
        return True
    return created >= window_start and str(newest["id"]) not in seen


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
