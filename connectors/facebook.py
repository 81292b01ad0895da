"""Facebook Pages through the Graph API (facebook-sdk), with a Page access token.

One poll costs at most ``1 + ceil(P/50)`` Graph calls when P recent posts have new comments:
one ``/{page-id}/feed`` call lists the recent posts with their ``updated_time`` (which moves
when someone comments), then the comments of the posts updated since the cursor are read with
batch requests of up to 50 ``/{post-id}/comments?filter=stream&since=...`` each (``stream``
gives comments and replies in one chronological list). Only a post with more than
``comments_page_size`` new comments in one cycle costs more (its next pages, batched too).

The cursor is ``since`` (the newest comment time seen), ``seen`` (the ids of the comments of the
last ``overlap_seconds``, so that the overlap never yields a comment twice) and ``polled_at``
(when this poll started: only posts updated since then, less the overlap, are read next time).
"""

from __future__ import annotations

import datetime as dt
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

POST_FIELDS = "id,message,created_time,updated_time,permalink_url"
COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},is_hidden,permalink_url"
REQUIRED_PERMISSIONS = ("pages_read_engagement", "pages_read_user_content",
                        "pages_manage_engagement")


class FacebookOptions(ConnectorOptions):
    """``options`` of a Facebook space."""

    graph_version: str = Field(default=DEFAULT_GRAPH_VERSION, pattern=GRAPH_VERSION_PATTERN)
    posts_lookback_days: int = Field(default=30, ge=1, le=365)  # posts watched for comments
    max_posts: int = Field(default=100, ge=1, le=100)  # posts per page of the feed
    # Pages of the feed read at most per poll (recent posts within posts_lookback_days).
    max_feed_pages: int = Field(default=20, ge=1, le=1000)
    comments_page_size: int = Field(default=100, ge=1, le=100)
    overlap_seconds: int = Field(default=60, ge=0, le=3600)
    max_pages_per_post: int = Field(default=20, ge=1, le=1000)


def parse_comment(item: Mapping[str, Any], *, page_id: str, post_id: str | None) -> RemoteComment:
    """Given one Graph comment object, return it as a RemoteComment. Raise BadPayload."""
    if not isinstance(item, Mapping):
        raise BadPayload(_("The platform sent a comment without an id."))
    author = item.get("from") if isinstance(item.get("from"), Mapping) else {}
    parent = item.get("parent") if isinstance(item.get("parent"), Mapping) else {}
    author_id = str(author["id"]) if author.get("id") else None
    comment_id, permalink_parent = _ids_from(item)
    if permalink_parent and not parent:
        parent = {"id": permalink_parent}
    if post_id is None and "_" in comment_id:
        # a comment id is {post-id}_{comment-id}; the Page post id is {page-id}_{post-id}
        post_id = f"{page_id}_{comment_id.split('_')[0]}"
    return RemoteComment(
        platform_id=comment_id,
        text=str(item.get("message") or ""),
        created_time=parse_time(item.get("created_time")),
        author_id=author_id,
        author_name=author.get("name"),
        post_id=post_id,
        parent_id=str(parent["id"]) if parent.get("id") else None,
        permalink=item.get("permalink_url"),
        hidden=bool(item.get("is_hidden", False)),
        by_owner=author_id == page_id,
        author_meta={"name_given": bool(author.get("name"))},
    )


def _ids_from(item: Mapping[str, Any]) -> tuple[str, str | None]:
    """Return (comment id, parent id or None); without ``id``, read them from the permalink
    (``.../posts/{post}/?comment_id={c}&reply_comment_id={r}``), as Graph sometimes omits it."""
    link = item.get("permalink_url")
    parent_id = None
    if isinstance(link, str):
        parts = urlsplit(link)
        query = dict(parse_qsl(parts.query))
        post_number = next((s for s in reversed(parts.path.strip("/").split("/")) if s.isdigit()),
                           None)
        if post_number and query.get("reply_comment_id") and query.get("comment_id"):
            parent_id = f"{post_number}_{query['comment_id']}"
            derived = f"{post_number}_{query['reply_comment_id']}"
        elif post_number and query.get("comment_id"):
            derived = f"{post_number}_{query['comment_id']}"
        else:
            derived = None
    else:
        derived = None
    comment_id = str(item["id"]) if item.get("id") else derived
    if not comment_id:
        raise BadPayload(_("The platform sent a comment without an id."))
    return comment_id, parent_id


def parse_post(item: Mapping[str, Any]) -> RemotePost:
    """Given one Graph post object, return it as a RemotePost. Raise BadPayload."""
    if not isinstance(item, Mapping) or not item.get("id"):
        raise BadPayload(_("The platform sent a post without an id."))
    created = item.get("created_time")
    return RemotePost(
        platform_id=str(item["id"]),
        text=str(item.get("message") or ""),
        created_time=parse_time(created) if created else None,
        permalink=item.get("permalink_url"),
    )


def parse_comments_page(body: Any, *, page_id: str, post_id: str | None
                        ) -> tuple[list[RemoteComment], str | None]:
    """Given a ``/{id}/comments`` page, return its comments and its ``paging.next``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise BadPayload(_("The platform sent a list of comments that cannot be read."))
    comments = [parse_comment(item, page_id=page_id, post_id=post_id) for item in body["data"]]
    paging = body.get("paging") if isinstance(body.get("paging"), Mapping) else {}
    return comments, paging.get("next")


@register
class FacebookConnector(Connector):
    kind: ClassVar[str] = "facebook"
    display_name: ClassVar[str] = "Facebook"
    required_secrets: ClassVar[tuple[str, ...]] = ("page_token",)
    optional_secrets: ClassVar[tuple[str, ...]] = ("app_secret",)  # adds appsecret_proof
    Options = FacebookOptions
    default_api_base_url: ClassVar[str] = "https://graph.facebook.com"
    can_delete: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        assert isinstance(self.options, FacebookOptions)
        self.opts: FacebookOptions = self.options
        self.client = GraphClient(
            self.secrets["page_token"],
            version=self.opts.graph_version,
            base_url=self.api_base_url,
            timeout=self.timeout,
            app_secret=self.secrets.get("app_secret"),
        )

    # --- reading -----------------------------------------------------------------------

    def fetch(self, cursor: Mapping[str, str]) -> FetchResult:
        now = utcnow()
        calls_before = self.client.calls
        overlap = dt.timedelta(seconds=self.opts.overlap_seconds)
        lookback = now - dt.timedelta(days=self.opts.posts_lookback_days)
        since = parse_time(cursor["since"]) if cursor.get("since") else lookback
        seen = parse_seen(cursor.get("seen"))
        window_start = since - overlap

        items = self._recent_feed(lookback)
        posts = [parse_post(item) for item in items]
        # A post whose updated_time is older than the previous poll has no comment we have
        # not read. Graph times have whole seconds: compare with the poll's second.
        polled_at = now.replace(microsecond=0)
        posts_from = (parse_time(cursor["polled_at"]) - overlap if cursor.get("polled_at")
                      else lookback)
        updated = {
            str(item["id"]) for item in items
            if parse_time(item.get("updated_time") or item.get("created_time")) >= posts_from
        }
        watched = [p for p in posts if p.platform_id in updated]

        query = {
            "filter": "stream",
            "order": "chronological",
            "since": int(window_start.timestamp()),
            "limit": self.opts.comments_page_size,
            "fields": COMMENT_FIELDS,
        }
        pending = [
            (p.platform_id, self.client.relative(f"{p.platform_id}/comments", query), 1)
            for p in watched
        ]
        found: dict[str, RemoteComment] = {}
        while pending:
            requests_ = [{"method": "GET", "relative_url": url} for _post, url, _n in pending]
            follow_ups: list[tuple[str, str, int]] = []
            for (post_id, _url, pages), (status, body) in zip(
                pending, self.client.batches(requests_), strict=True
            ):
                if status == 0:
                    raise map_error(None, status=503)
                if status != 200:
                    if is_missing_object(status, body):
                        continue  # the post was deleted between the two calls
                    raise map_error(body, status=status)
                comments, next_url = parse_comments_page(
                    body, page_id=self.platform_id, post_id=post_id)
                for comment in comments:
                    found.setdefault(comment.platform_id, comment)
                if next_url and pages < self.opts.max_pages_per_post:
                    follow_ups.append((post_id, self._relative_from(next_url), pages + 1))
            pending = follow_ups

        fresh = [c for c in found.values()
                 if c.created_time >= window_start and c.platform_id not in seen]
        fresh.sort(key=lambda c: (c.created_time, c.platform_id))
        newest = max([since, *(c.created_time for c in found.values())])
        seen_next = render_seen(seen, found.values(), newest - overlap)
        return FetchResult(
            comments=fresh,
            cursor={"since": newest.isoformat(), "seen": seen_next,
                    "polled_at": polled_at.isoformat()},
            posts=watched,
            calls=self.client.calls - calls_before,
            usage=self.client.usage,
        )

    def _recent_feed(self, lookback: dt.datetime) -> list[Mapping[str, Any]]:
        """Return the Page's posts created since ``lookback``, following the feed's pages
        (at most ``max_feed_pages``), so no post with new comments is left unread."""
        path = f"{self.platform_id}/feed"
        args: dict[str, Any] = {"fields": POST_FIELDS, "since": int(lookback.timestamp()),
                                "limit": self.opts.max_posts}
        items: list[Mapping[str, Any]] = []
        for _page in range(self.opts.max_feed_pages):
            feed = self.client.request(path, args)
            if not isinstance(feed, Mapping) or not isinstance(feed.get("data"), list):
                raise BadPayload(_("The platform sent a feed that cannot be read."))
            items.extend(item for item in feed["data"] if isinstance(item, Mapping))
            paging = feed.get("paging") if isinstance(feed.get("paging"), Mapping) else {}
            next_url = paging.get("next")
            if not feed["data"] or not isinstance(next_url, str):
                break
            parts = urlsplit(next_url)
            path = parts.path
            args = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)
                    if k not in ("access_token", "appsecret_proof")}
        return items

    def _relative_from(self, next_url: str) -> str:
        """Turn an absolute ``paging.next`` URL into a batch item's relative URL."""
        parts = urlsplit(next_url)
        args = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if k not in ("access_token", "appsecret_proof")]
        return f"{parts.path.lstrip('/')}?{urlencode(args)}"

    def state(self, comment_id: str) -> RemoteState:
        try:
            node = self.client.request(comment_id, {"fields": "id,is_hidden"})
        except Refused as error:
            if is_gone(error):
                return "deleted"
            raise
        if not isinstance(node, Mapping) or "id" not in node:
            raise BadPayload(_("The platform answered something that cannot be read."))
        return "hidden" if node.get("is_hidden") else "visible"

    def check(self) -> CheckResult:
        return self.client.check_token(REQUIRED_PERMISSIONS, self.platform_id, "me", "id,name")

    def last_usage(self) -> Usage | None:
        return self.client.usage

    # --- acting ------------------------------------------------------------------------

    def hide(self, comment_id: str) -> None:
        ensure_success(self.client.request(comment_id, post_args={"is_hidden": "true"}))

    def unhide(self, comment_id: str) -> None:
        ensure_success(self.client.request(comment_id, post_args={"is_hidden": "false"}))

    def delete(self, comment_id: str) -> None:
        ensure_success(self.client.request(comment_id, method="DELETE"))

    def close(self) -> None:
        self.client.close()
