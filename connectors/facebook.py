"""Facebook Pages through the Graph API (facebook-sdk), with a Page access token.

A poll reads the Page's feed (posts younger than ``posts_lookback_days``, ``max_posts`` a page)
and, inside the same call, each post's new comments by field expansion:
``comments.filter(stream).order(chronological).since(T).limit(feed_comments_limit){...}``
(``stream`` gives comments and replies in one chronological list; Graph leaves the edge out of
a post with none). A post with more new comments than that goes on with its edge's
``paging.next`` (``comments_page_size`` a page), in batch requests of up to 50.

When the window holds more posts than one page, the poll leaves in its cursor the created_time
of every ``slice_posts``-th post (``feed_marks``), and the next poll asks for all those slices of
the feed at once (``since``/``until``), in one batch request, instead of page after page. A
slice that grew past a page (many new posts) goes on with its ``paging.next``, together with
the overflowing comment pages. A poll therefore costs one HTTP call when no post has more than
``feed_comments_limit`` new comments and no slice more than a page, whatever the number of
posts with new comments (up to 50 slices; ``max_feed_pages`` caps the feed requests of a poll,
20 by default: 1,800 posts in slices of 90); the first poll reads the feed page after page.
Graph counts one call per slice plus one per overflowing page.

An answer Graph finds too large (error 1, "Please reduce the amount of data...") is asked for
again with every page size halved (:func:`connectors.graph.with_smaller_pages`).

The cursor is ``since`` (the newest comment time seen), ``seen`` (the ids of the comments of the
last ``overlap_seconds``, so that the overlap never yields a comment twice), ``polled_at``
(when this poll started: posts updated since then, less the overlap, are reported as watched),
``feed_marks``, and, after an answer too large, ``page_sizes`` and ``page_sizes_until``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
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

POST_FIELDS = "id,message,created_time,updated_time,permalink_url"
COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},is_hidden,permalink_url"
REQUIRED_PERMISSIONS = ("pages_read_engagement", "pages_read_user_content",
                        "pages_manage_engagement")

log = logging.getLogger(__name__)


class FacebookOptions(ConnectorOptions):
    """``options`` of a Facebook space."""

    graph_version: str = Field(default=DEFAULT_GRAPH_VERSION, pattern=GRAPH_VERSION_PATTERN)
    posts_lookback_days: int = Field(default=30, ge=1, le=365)  # posts watched for comments
    max_posts: int = Field(default=100, ge=1, le=100)  # posts per page of the feed
    # Pages of the feed read at most per poll (recent posts within posts_lookback_days).
    max_feed_pages: int = Field(default=20, ge=1, le=1000)
    # New comments read inside the feed call for each post (field expansion); a post with
    # more is read on, comments_page_size a page, in batch requests.
    feed_comments_limit: int = Field(default=25, ge=1, le=100)
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
        return with_smaller_pages(
            lambda sizes: self._fetch(cursor, now, *sizes),
            (self.opts.max_posts, self.opts.feed_comments_limit, self.opts.comments_page_size),
            cursor, client=self.client, what=f"Facebook Page {self.platform_id}", now=now)

    def _fetch(self, cursor: Mapping[str, str], now: dt.datetime, max_posts: int,
               comments_limit: int, page_size: int) -> FetchResult:
        """One poll with these page sizes: ``max_posts`` posts a page of the feed,
        ``comments_limit`` new comments inside it for each post, ``page_size`` comments a
        page after that."""
        overlap = dt.timedelta(seconds=self.opts.overlap_seconds)
        lookback = now - dt.timedelta(days=self.opts.posts_lookback_days)
        since = parse_time(cursor["since"]) if cursor.get("since") else lookback
        seen = parse_seen(cursor.get("seen"))
        window_start = since - overlap
        # A post whose updated_time is older than the previous poll is not reported as
        # watched (its comments still come, nested, if any). Graph times have whole seconds.
        polled_at = now.replace(microsecond=0)
        posts_from = (parse_time(cursor["polled_at"]) - overlap if cursor.get("polled_at")
                      else lookback)

        nested = (f"comments.filter(stream).order(chronological)"
                  f".since({int(window_start.timestamp())})"
                  f".limit({comments_limit}){{{COMMENT_FIELDS}}}")
        posts: dict[str, RemotePost] = {}
        watched: set[str] = set()
        found: dict[str, RemoteComment] = {}
        # Reads still to make: (post id, relative url, page number); a post id of "" is a
        # page of the feed, and the number then the lower bound (UNIX seconds) it was asked for.
        pending: deque[tuple[str, str, int]] = deque()
        feed_requests = 0  # pages of the feed asked for, at most max_feed_pages

        def take_comments(body: Any, post_id: str, page: int) -> None:
            """Record one page of a post's comments; queue its next page if there is one."""
            comments, next_url = parse_comments_page(body, page_id=self.platform_id,
                                                     post_id=post_id)
            for comment in comments:
                found.setdefault(comment.platform_id, comment)
            if comments:
                watched.add(post_id)
            if next_url and page < self.opts.max_pages_per_post:
                pending.append((post_id, self._follow_up(next_url, page_size), page + 1))

        def take_feed(body: Any, lower: int) -> None:
            """Record one page of the feed, with each post's new comments (field expansion),
            then queue the overflowing comment pages and the feed's next page, unless this page
            already reached below ``lower`` (the ``since`` it was asked with)."""
            nonlocal feed_requests
            if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
                raise BadPayload(_("The platform sent a feed that cannot be read."))
            next_page: tuple[str, str, int] | None = None
            paging = body.get("paging") if isinstance(body.get("paging"), Mapping) else {}
            next_url = paging.get("next")
            reached = any(isinstance(item, Mapping) and item.get("created_time")
                          and parse_time(item["created_time"]).timestamp() < lower
                          for item in body["data"])
            if body["data"] and isinstance(next_url, str) and not reached:
                if feed_requests < self.opts.max_feed_pages:
                    feed_requests += 1
                    next_page = ("", self._relative_from(next_url), lower)
                else:
                    log.warning(
                        "Facebook Page %s: its posts younger than %d days fill more than "
                        "max_feed_pages = %d pages of %d; the older ones are not watched",
                        self.platform_id, self.opts.posts_lookback_days,
                        self.opts.max_feed_pages, max_posts)
            for item in body["data"]:
                post = parse_post(item)
                if post.platform_id in posts:
                    continue  # on two slices' common second
                if post.created_time is not None and post.created_time < lookback:
                    continue  # past the window (a next page that forgot ``since``)
                posts[post.platform_id] = post
                if parse_time(item.get("updated_time") or item.get("created_time")
                              ) >= posts_from:
                    watched.add(post.platform_id)
                edge = item.get("comments")
                if edge is not None:  # Graph leaves out an empty edge
                    take_comments(edge, post.platform_id, 1)
            if next_page is not None:
                # The feed's next page goes first in the next batch: it can add posts to read.
                pending.appendleft(next_page)

        feed_args: dict[str, Any] = {"fields": f"{POST_FIELDS},{nested}", "limit": max_posts}
        marks = [m for m in parse_marks(cursor.get("feed_marks"))
                 if m > lookback.timestamp()][:self.opts.max_feed_pages - 1]
        if not marks:
            feed_requests = 1
            take_feed(self.client.request(f"{self.platform_id}/feed", {
                **feed_args, "since": int(lookback.timestamp())}), int(lookback.timestamp()))
        else:
            # The previous poll's feed, cut in slices of slice_posts() posts by their
            # created_time: all the slices ride in one batch request instead of one call per
            # page after page. Each slice's upper bound is one second past the next slice's
            # lower bound, so a post on a bound is read whether Graph's bounds are inclusive
            # or not (read twice, it is kept once); a slice that grew past one page (new or
            # back-dated posts) goes on with its paging.next.
            upper: int | None = None
            for lower in [*marks, int(lookback.timestamp())]:
                args = {**feed_args, "since": lower}
                if upper is not None:
                    args["until"] = upper + 1
                feed_requests += 1
                pending.append(("", self.client.relative(f"{self.platform_id}/feed", args),
                                lower))
                upper = lower
        while pending:
            jobs = [pending.popleft() for _n in range(min(MAX_BATCH, len(pending)))]
            items = [{"method": "GET", "relative_url": url} for _p, url, _n in jobs]
            for (post_id, _url, page), (status, body) in zip(
                jobs, self.client.batch(items), strict=True
            ):
                if status == 0:
                    raise map_error(None, status=503)
                if not post_id:  # a page of the feed
                    if status != 200:
                        raise map_error(body, status=status)
                    take_feed(body, page)
                    continue
                if status != 200:
                    if is_missing_object(status, body):
                        continue  # the post was deleted between the two calls
                    raise map_error(body, status=status)
                take_comments(body, post_id, page)

        fresh = [c for c in found.values()
                 if c.created_time >= window_start and c.platform_id not in seen]
        fresh.sort(key=lambda c: (c.created_time, c.platform_id))
        newest = max([since, *(c.created_time for c in found.values())])
        seen_next = render_seen(seen, found.values(), newest - overlap)
        next_cursor = {"since": newest.isoformat(), "seen": seen_next,
                       "polled_at": polled_at.isoformat()}
        if len(posts) > max_posts:
            next_cursor["feed_marks"] = render_marks(posts.values(), max_posts)
        return FetchResult(
            comments=fresh,
            cursor=next_cursor,
            posts=[p for pid, p in posts.items() if pid in watched],
            usage=self.client.usage,
        )

    def _follow_up(self, next_url: str, page_size: int) -> str:
        """Turn a comments page's ``paging.next`` into a batch item's relative URL that asks
        for the comment fields and ``page_size`` comments a page."""
        parts = urlsplit(next_url)
        args = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if k not in ("access_token", "appsecret_proof")}
        args["fields"] = COMMENT_FIELDS
        args["limit"] = str(page_size)
        return f"{parts.path.lstrip('/')}?{urlencode(args)}"

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

    def act_many(self, kind: str, comment_ids: Sequence[str]) -> list[ConnectorError | None]:
        """Hide, unhide or delete several comments, 50 to a batch request."""
        return act_in_batches(self.client, kind, comment_ids, "is_hidden")

    def close(self) -> None:
        self.client.close()


def slice_posts(max_posts: int) -> int:
    """Posts of the previous poll per slice of the feed: a tenth of a page is left for the
    posts published before the next poll."""
    return max(1, max_posts - max(1, max_posts // 10))


def render_marks(posts: Iterable[RemotePost], max_posts: int) -> str:
    """Given the posts of a poll's feed, return the lower bounds (UNIX seconds, newest first)
    of the slices the next poll reads in one batch: every ``slice_posts``-th post's
    created_time."""
    times = sorted((int(p.created_time.timestamp()) for p in posts
                    if p.created_time is not None), reverse=True)
    step = slice_posts(max_posts)
    marks: list[int] = []
    for index in range(step - 1, len(times) - 1, step):
        # a second shared by many posts makes one bound, and never the oldest post's second
        # (the slice below would hold them all again)
        if (not marks or times[index] < marks[-1]) and times[index] > times[-1]:
            marks.append(times[index])
    return ",".join(str(m) for m in marks)


def parse_marks(text: str | None) -> list[int]:
    """Given a cursor's ``feed_marks``, return them newest first; [] when unreadable (the feed
    is then read page after page, as on a first poll)."""
    try:
        marks = [int(part) for part in (text or "").split(",") if part]
    except ValueError:
        return []
    return sorted(set(marks), reverse=True)
