"""X (formerly Twitter) through tweepy's ``Client`` (API v2): replies to the account's posts.

What one poll reads, and why (reads are billed per post returned):

1. ``GET /2/users/:id/tweets`` (``exclude=replies,retweets``, ``since_id``): the account's new
   posts. Each one starts a conversation whose ``conversation_id`` is its own id.
2. ``GET /2/tweets/search/recent`` with ``(conversation_id:A OR conversation_id:B ...) is:reply``
   (at most 512 characters a query), ``since_id`` the newest reply already seen: the new replies
   in the account's own conversations of the last ``conversation_days`` days (recent search
   covers seven). Conversations met for the first time are searched without ``since_id``.

Nothing is read twice: both cursors move forward only, and a page is asked for only when the
previous one said ``next_token``. Conversations are remembered in the cursor, and their age is
read from their id (X ids are snowflakes carrying their creation time).

Hiding is ``PUT /2/tweets/:id/hidden``. X allows it only for replies in conversations the account
started, and only 50 times per 15 minutes per user: both are checked here *before* calling, so a
refused or throttled call is never sent. Deleting another person's post is impossible on X.

Authentication: OAuth 1.0a user context (``consumer_key``, ``consumer_secret``, ``access_token``,
``access_token_secret``; app permission "Read and write") or an OAuth 2.0 user access token
(``user_token``) with the scopes ``tweet.read users.read tweet.moderate.write``.

tweepy always calls ``https://api.twitter.com``; a transport adapter mounted on the client's own
session sends those requests to ``api_base_url`` instead (the sandbox in tests), with a timeout.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import requests
import tweepy
from pydantic import Field
from requests.adapters import HTTPAdapter

from connectors.base import (
    CheckResult,
    Connector,
    ConnectorOptions,
    FetchResult,
    RemoteComment,
    RemotePost,
    RemoteState,
    Usage,
    parse_iso_time,
    utcnow,
)
from connectors.errors import (
    AuthError,
    BadPayload,
    ConnectorError,
    RateLimited,
    Refused,
    Unreachable,
)
from connectors.registry import register
from watcher.i18n import translator

_ = translator("vigie_xyt", Path(__file__).parent / "locale")
log = logging.getLogger(__name__)

TWEEPY_HOSTS = ("https://api.twitter.com/", "https://api.x.com/")
OAUTH1_SECRETS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
OAUTH2_SECRETS = ("user_token",)

TWITTER_EPOCH_MS = 1_288_834_974_657  # snowflake ids: milliseconds since this instant, << 22
SEARCH_QUERY_MAX = 512  # recent search query length (docs: "512 query length")
RECENT_SEARCH_DAYS = 7
HIDE_LIMIT = 50  # PUT /2/tweets/:id/hidden: 50 requests / 15 minutes / user
HIDE_WINDOW = dt.timedelta(minutes=15)

TWEET_FIELDS = ["author_id", "created_at", "conversation_id", "in_reply_to_user_id",
                "referenced_tweets"]
USER_FIELDS = ["name", "username", "created_at", "description", "verified",
               "profile_image_url", "public_metrics"]

# Paths (after /2) → endpoint names used for rate-limit bookkeeping.
_ENDPOINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("search", re.compile(r"^/2/tweets/search/recent$")),
    ("timeline", re.compile(r"^/2/users/[^/]+/tweets$")),
    ("mentions", re.compile(r"^/2/users/[^/]+/mentions$")),
    ("me", re.compile(r"^/2/users/me$")),
    ("hidden", re.compile(r"^/2/tweets/[^/]+/hidden$")),
    ("tweet", re.compile(r"^/2/tweets/[^/]+$")),
)



def tweet_id_of(value: Any) -> str:
    """Given an id X sent, return it as text. Raise BadPayload unless it is a number."""
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        raise BadPayload(_("X answered a post whose id is not a number."))
    return text


def snowflake_time(tweet_id: str | int) -> dt.datetime:
    """Given an X id, return when it was created (ids carry their creation time)."""
    millis = (int(tweet_id) >> 22) + TWITTER_EPOCH_MS
    return dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)


parse_time = parse_iso_time  # X and YouTube give ISO 8601 times


def endpoint_of(url: str) -> str | None:
    """Given a request URL, return the name of the X endpoint it calls."""
    path = "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
    for name, pattern in _ENDPOINTS:
        if pattern.match(path):
            return name
    return None


class BaseURLAdapter(HTTPAdapter):
    """Send requests addressed to X's hosts to ``base_url`` instead, with a default timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        for host in TWEEPY_HOSTS:
            if url.startswith(host):
                request.url = self.base_url + url[len(host):]
                break
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class XOptions(ConnectorOptions):
    """Options of an X space."""

    # Replies are looked for in the account's posts of the last N days (recent search: 7).
    conversation_days: int = Field(default=RECENT_SEARCH_DAYS, ge=1, le=RECENT_SEARCH_DAYS)
    # Posts per page (search: 10-100; billed per post returned, not per page).
    max_results: int = Field(default=100, ge=10, le=100)
    # At most this many pages per query and poll (a bound on what one poll may cost).
    max_pages: int = Field(default=10, ge=1, le=100)  # then the rest is read next poll
    # Hide/unhide calls allowed per 15 minutes (X allows 50 per user).
    hide_limit: int = Field(default=HIDE_LIMIT, ge=1, le=HIDE_LIMIT)


class _Limit:
    """What X said of one endpoint's 15-minute window."""

    __slots__ = ("limit", "remaining", "reset")

    def __init__(self, limit: int, remaining: int, reset: dt.datetime) -> None:
        self.limit = limit
        self.remaining = remaining
        self.reset = reset


@register
class XConnector(Connector):
    """Replies to the posts of one X account."""

    kind: ClassVar[str] = "x"
    display_name: ClassVar[str] = "X"
    required_secrets: ClassVar[tuple[str, ...]] = ()
    optional_secrets: ClassVar[tuple[str, ...]] = OAUTH1_SECRETS + OAUTH2_SECRETS
    secret_sets: ClassVar[tuple[tuple[str, ...], ...]] = (OAUTH1_SECRETS, OAUTH2_SECRETS)
    Options: ClassVar[type[ConnectorOptions]] = XOptions
    default_api_base_url: ClassVar[str] = "https://api.x.com"
    can_delete: ClassVar[bool] = False  # X lets an account hide others' replies, never delete

    options: XOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        secrets = self.secrets
        if secrets.get("user_token"):
            self.user_auth = False
            self.auth_kind: Literal["oauth1", "oauth2"] = "oauth2"
            self.client = tweepy.Client(
                bearer_token=secrets["user_token"], return_type=requests.Response
            )
        elif all(secrets.get(name) for name in OAUTH1_SECRETS):
            self.user_auth = True
            self.auth_kind = "oauth1"
            self.client = tweepy.Client(
                consumer_key=secrets["consumer_key"],
                consumer_secret=secrets["consumer_secret"],
                access_token=secrets["access_token"],
                access_token_secret=secrets["access_token_secret"],
                return_type=requests.Response,
            )
        else:
            raise AuthError(
                _("X needs consumer_key, consumer_secret, access_token and access_token_secret "
                  "(OAuth 1.0a), or user_token (OAuth 2.0).")
            )
        adapter = BaseURLAdapter(self.api_base_url, self.timeout)
        for host in TWEEPY_HOSTS:
            self.client.session.mount(host, adapter)
        self.client.session.hooks["response"].append(self._on_response)
        # The clock used for the local hide window (tests point it at the sandbox's clock).
        self.now: Callable[[], dt.datetime] = utcnow
        self._lock = threading.Lock()
        self._limits: dict[str, _Limit] = {}
        self._last: tuple[str, _Limit] | None = None
        self._access_level: str | None = None
        self._hides: deque[dt.datetime] = deque()
        self._conversation_of: dict[str, str] = {}  # reply id → conversation id
        self._author_of: dict[str, str | None] = {}  # tweet id → author id
        self._own_conversations: set[str] = set()
        self._foreign_conversations: set[str] = set()

    # --- transport ------------------------------------------------------------------------

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Remember the ``x-rate-limit-*`` headers of every response, by endpoint."""
        endpoint = endpoint_of(response.url or "")
        headers = response.headers
        if "x-access-level" in headers:
            self._access_level = headers["x-access-level"]
        if endpoint is None or "x-rate-limit-limit" not in headers:
            return
        try:
            limit = _Limit(
                int(headers["x-rate-limit-limit"]),
                int(headers.get("x-rate-limit-remaining", "0")),
                dt.datetime.fromtimestamp(int(headers.get("x-rate-limit-reset", "0")), tz=dt.UTC),
            )
        except ValueError:
            return
        with self._lock:
            self._limits[endpoint] = limit
            self._last = (endpoint, limit)

    def _before(self, endpoint: str) -> None:
        """Raise RateLimited if X said this endpoint's window is used up and not yet reset."""
        limit = self._limits.get(endpoint)
        if limit is not None and limit.remaining <= 0 and limit.reset > self.now():
            raise RateLimited(
                _("X's limit for this request is reached until {time} UTC.").format(
                    time=limit.reset.strftime("%H:%M:%S")
                ),
                retry_at=limit.reset,
                code=429,
            )

    def _call(self, endpoint: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call one tweepy method; return the decoded JSON body. Raise connectors.errors."""
        self._before(endpoint)
        try:
            response = method(*args, **kwargs)
        except tweepy.TooManyRequests as error:
            reset = error.response.headers.get("x-rate-limit-reset")
            retry_at = (
                dt.datetime.fromtimestamp(int(reset), tz=dt.UTC)
                if reset and reset.isdigit()
                else self.now() + dt.timedelta(minutes=15)
            )
            raise RateLimited(
                _("X asks us to wait until {time} UTC.").format(time=retry_at.strftime("%H:%M:%S")),
                retry_at=retry_at,
                code=429,
            ) from None
        except tweepy.Unauthorized:
            raise AuthError(
                _("X refused the token (expired, revoked or wrong): renew the space's X secrets."),
                code=401,
            ) from None
        except tweepy.Forbidden as error:
            raise self._forbidden(endpoint, error) from None
        except tweepy.NotFound:
            raise Refused(_("X no longer has this post."), code=404) from None
        except tweepy.TwitterServerError as error:
            raise Unreachable(
                _("X answered with a server error ({status}).").format(
                    status=error.response.status_code
                ),
                code=error.response.status_code,
            ) from None
        except tweepy.BadRequest as error:
            detail = "; ".join(error.api_messages) or str(error.response.status_code)
            raise BadPayload(
                _("X refused the request as malformed: {detail}").format(detail=detail[:200]),
                code=400,
            ) from None
        except tweepy.HTTPException as error:
            raise Unreachable(
                _("X answered with an unexpected status ({status}).").format(
                    status=error.response.status_code
                ),
                code=error.response.status_code,
            ) from None
        except requests.Timeout:
            raise Unreachable(_("X did not answer in time.")) from None
        except requests.RequestException as error:
            raise Unreachable(
                _("X cannot be reached: {reason}").format(reason=type(error).__name__)
            ) from None
        try:
            body = response.json()
        except ValueError:
            raise BadPayload(_("X answered something that is not JSON.")) from None
        if not isinstance(body, dict):
            raise BadPayload(_("X answered something that is not a JSON object."))
        return body

    def _forbidden(self, endpoint: str, error: tweepy.Forbidden) -> ConnectorError:
        """403: a token problem (app not allowed, read-only token) or a refusal of this action."""
        problem = ""
        try:
            body = error.response.json()
            problem = str(body.get("type", "")) + " " + str(body.get("reason", ""))
        except ValueError:
            body = {}
        token_problem = any(
            word in problem
            for word in ("client-forbidden", "unsupported-authentication", "oauth1-permissions",
                         "client-not-enrolled")
        )
        if endpoint == "hidden" and not token_problem:
            detail = "; ".join(error.api_messages)
            return Refused(
                _("X refused to change this reply: {detail}").format(detail=detail[:200] or "403"),
                code=403,
            )
        return AuthError(
            _("X refused access with this token (missing permission or app not allowed)."),
            code=403,
        )

    # --- parsing ----------------------------------------------------------------------------

    def parse_replies(self, body: Mapping[str, Any]) -> list[RemoteComment]:
        """Given a v2 tweets payload (``data``, ``includes.users``), return its comments.

        Raise BadPayload if a tweet lacks an id or text.
        """
        data = body.get("data") or []
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise BadPayload(_("X answered an unexpected list of posts."))
        includes = body.get("includes") if isinstance(body.get("includes"), dict) else {}
        listed = includes.get("users") if isinstance(includes.get("users"), list) else []
        users = {str(user.get("id")): user for user in listed if isinstance(user, dict)}
        comments = []
        for tweet in data:
            if not isinstance(tweet, dict) or not tweet.get("id") or "text" not in tweet:
                raise BadPayload(_("X answered a post without id or text."))
            comments.append(self._comment(tweet, users))
        return comments

    def _comment(self, tweet: Mapping[str, Any], users: Mapping[str, Any]) -> RemoteComment:
        tweet_id = tweet_id_of(tweet["id"])
        author_id = str(tweet["author_id"]) if tweet.get("author_id") else None
        user = users.get(author_id or "", {})
        conversation = str(tweet["conversation_id"]) if tweet.get("conversation_id") else None
        parent = None
        references = tweet.get("referenced_tweets")
        for reference in references if isinstance(references, list) else []:
            if isinstance(reference, dict) and reference.get("type") == "replied_to":
                parent = str(reference.get("id"))
        if parent == conversation:
            parent = None  # a reply to the post itself, not to another reply
        username = user.get("username")
        created = parse_time(tweet.get("created_at")) or snowflake_time(tweet_id)
        if conversation:
            self._conversation_of[tweet_id] = conversation
        self._author_of[tweet_id] = author_id
        return RemoteComment(
            platform_id=tweet_id,
            text=str(tweet["text"]),
            created_time=created,
            author_id=author_id,
            author_name=user.get("name") or username,
            post_id=conversation,
            parent_id=parent,
            permalink=(
                f"https://x.com/{username}/status/{tweet_id}"
                if username
                else f"https://x.com/i/web/status/{tweet_id}"
            ),
            by_owner=author_id == self.platform_id,
            author_meta=author_meta(user, created),
        )

    # --- fetch --------------------------------------------------------------------------------

    def fetch(self, cursor: Mapping[str, str]) -> FetchResult:
        now = self.now()
        window_start = now - dt.timedelta(days=self.options.conversation_days)
        calls = 0

        # 1. The account's new posts (each one is a conversation of its own).
        posts_since = cursor.get("posts_since_id") or None
        params: dict[str, Any] = {
            "exclude": ["replies", "retweets"],
            "max_results": self.options.max_results,
            "tweet_fields": ["created_at", "conversation_id"],
            "user_auth": self.user_auth,
        }
        if posts_since and snowflake_time(posts_since) > window_start:
            params["since_id"] = posts_since
        else:
            params["start_time"] = window_start + dt.timedelta(minutes=1)
        posts: list[RemotePost] = []
        newest_post = int(posts_since) if posts_since and posts_since.isdigit() else 0
        timeline_cut: list[str] = []
        for body in self._pages("timeline", self.client.get_users_tweets, self.platform_id,
                                truncated=timeline_cut, **params):
            calls += 1
            timeline = body.get("data") or []
            if not isinstance(timeline, list):
                raise BadPayload(_("X answered an unexpected list of posts."))
            for tweet in timeline:
                if not isinstance(tweet, dict) or not tweet.get("id"):
                    raise BadPayload(_("X answered a post without id."))
                tweet_id = tweet_id_of(tweet["id"])
                created = parse_time(tweet.get("created_at")) or snowflake_time(tweet_id)
                posts.append(RemotePost(
                    platform_id=tweet_id,
                    text=str(tweet.get("text", "")),
                    created_time=created,
                    permalink=f"https://x.com/i/web/status/{tweet_id}",
                ))
                newest_post = max(newest_post, int(tweet_id))

        # 2. New replies in the account's conversations still within reach of recent search.
        known = [c for c in (cursor.get("conversations") or "").split(",") if c.isdigit()]
        known = [c for c in known if snowflake_time(c) > window_start]
        fresh = [p.platform_id for p in posts if p.platform_id not in known]
        self._own_conversations.update(known + fresh)
        # Replies cursor: every reply up to replies_since_id is read. While a backlog remains (a
        # poll stopped at max_pages: pages come newest first), the replies between
        # replies_since_id and replies_until_id are still to read, and replies_newest_id is the
        # newest already read.
        replies_since = _digits(cursor.get("replies_since_id"))
        until = _digits(cursor.get("replies_until_id"))
        newest_seen = _digits(cursor.get("replies_newest_id"))
        if replies_since and snowflake_time(replies_since) <= now - dt.timedelta(
            days=RECENT_SEARCH_DAYS, minutes=-1
        ):
            replies_since = until = newest_seen = None  # too old for recent search: whole window
        comments: dict[str, RemoteComment] = {}
        read: dict[str, list[int]] = {"known": [], "fresh": []}
        cut: dict[str, bool] = {"known": False, "fresh": False}
        groups = [("known", known, replies_since, until), ("fresh", fresh, None, None)]
        for group, conversations, since_id, until_id in groups:
            for query in conversation_queries(conversations):
                search: dict[str, Any] = {
                    "max_results": self.options.max_results,
                    "tweet_fields": TWEET_FIELDS,
                    "expansions": ["author_id"],
                    "user_fields": USER_FIELDS,
                    "user_auth": self.user_auth,
                }
                if since_id:
                    search["since_id"] = since_id
                else:
                    search["start_time"] = window_start + dt.timedelta(minutes=1)
                if until_id:
                    search["until_id"] = until_id
                truncated: list[str] = []
                for body in self._pages("search", self.client.search_recent_tweets, query,
                                        truncated=truncated, **search):
                    calls += 1
                    for comment in self.parse_replies(body):
                        comments[comment.platform_id] = comment
                        read[group].append(int(comment.platform_id))
                cut[group] = cut[group] or bool(truncated)

        new_cursor = {
            "conversations": ",".join(sorted(set(known + fresh), key=int, reverse=True)),
        }
        if "timeline" in timeline_cut:
            newest_post = int(posts_since) if posts_since and posts_since.isdigit() else 0
        if newest_post:
            new_cursor["posts_since_id"] = str(newest_post)
        everything = read["known"] + read["fresh"]
        top = max([int(x) for x in (newest_seen, until) if x] + everything, default=0)
        if cut["known"]:
            # Keep the floor; the next poll reads below the oldest reply read now.
            if replies_since:
                new_cursor["replies_since_id"] = replies_since
            new_cursor["replies_until_id"] = str(min(read["known"], default=int(until or top)))
            new_cursor["replies_newest_id"] = str(top)
        elif top or replies_since:
            new_cursor["replies_since_id"] = str(max(top, int(replies_since or 0)))
        ordered = sorted(comments.values(), key=lambda c: int(c.platform_id))
        return FetchResult(
            comments=ordered, cursor=new_cursor, posts=posts, calls=calls, usage=self.last_usage()
        )

    def _pages(
        self, endpoint: str, method: Callable[..., Any], *args: Any,
        truncated: list[str] | None = None, **params: Any,
    ) -> Iterable[Mapping[str, Any]]:
        """Yield the pages of a paginated read, following ``meta.next_token``.

        At most ``max_pages``: if more remain, ``endpoint`` is appended to ``truncated``.
        """
        token_name = "next_token" if endpoint == "search" else "pagination_token"
        for _page in range(self.options.max_pages):
            body = self._call(endpoint, method, *args, **params)
            yield body
            meta = body.get("meta") or {}
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not next_token:
                return
            params[token_name] = next_token
        if truncated is not None:
            truncated.append(endpoint)
        log.warning("X space %s: stopped after %d pages of %s; the rest is read next poll",
                    self.platform_id, self.options.max_pages, endpoint)

    # --- moderation ---------------------------------------------------------------------------

    def hide(self, comment_id: str) -> None:
        self._set_hidden(comment_id, True)

    def unhide(self, comment_id: str) -> None:
        self._set_hidden(comment_id, False)

    def delete(self, comment_id: str) -> None:
        raise Refused(_("X does not let an account delete other people's replies; hide it."))

    def _set_hidden(self, comment_id: str, hidden: bool) -> None:
        if not comment_id.isdigit():
            raise Refused(_("“{id}” is not an X post id.").format(id=comment_id))
        self._check_hideable(comment_id)
        self._take_hide_slot()
        method = self.client.hide_reply if hidden else self.client.unhide_reply
        body = self._call("hidden", method, comment_id, user_auth=self.user_auth)
        data = body.get("data")
        if not isinstance(data, dict) or data.get("hidden") is not hidden:
            raise BadPayload(_("X did not confirm the change of the reply."))

    def _check_hideable(self, comment_id: str) -> None:
        """Raise Refused unless the post is someone else's reply in one of our conversations."""
        if comment_id not in self._conversation_of:
            body = self._lookup(comment_id, ["conversation_id", "author_id"])
            data = body.get("data")
            if not isinstance(data, dict):
                raise Refused(_("X no longer has this post."), code=404)
            self._conversation_of[comment_id] = str(data.get("conversation_id") or "")
            self._author_of[comment_id] = str(data.get("author_id") or "") or None
        conversation = self._conversation_of[comment_id]
        if conversation == comment_id:
            raise Refused(_("This is a post, not a reply: X only hides replies."))
        if self._author_of.get(comment_id) == self.platform_id:
            raise Refused(_("The account's own reply cannot be hidden."))
        if conversation in self._foreign_conversations or not conversation:
            raise Refused(_("Only replies in the account's own conversations can be hidden."))
        if conversation not in self._own_conversations:
            body = self._lookup(conversation, ["author_id"])
            data = body.get("data")
            owner = str(data.get("author_id")) if isinstance(data, dict) else None
            if owner != self.platform_id:
                self._foreign_conversations.add(conversation)
                raise Refused(_("Only replies in the account's own conversations can be hidden."))
            self._own_conversations.add(conversation)

    def _lookup(self, tweet_id: str, fields: list[str]) -> Mapping[str, Any]:
        return self._call(
            "tweet", self.client.get_tweet, tweet_id, tweet_fields=fields, user_auth=self.user_auth
        )

    def _take_hide_slot(self) -> None:
        """Count one hide/unhide call, or raise RateLimited if the 15-minute budget is spent."""
        now = self.now()
        with self._lock:
            while self._hides and self._hides[0] <= now - HIDE_WINDOW:
                self._hides.popleft()
            if len(self._hides) >= self.options.hide_limit:
                retry_at = self._hides[0] + HIDE_WINDOW
                raise RateLimited(
                    _("X allows {limit} hidings per 15 minutes: next one at {time} UTC.").format(
                        limit=self.options.hide_limit, time=retry_at.strftime("%H:%M:%S")
                    ),
                    retry_at=retry_at,
                )
            self._before("hidden")
            self._hides.append(now)

    # --- state and check ------------------------------------------------------------------------

    def state(self, comment_id: str) -> RemoteState:
        """Return "deleted" when X no longer has the post; otherwise "unknown".

        X's v2 post object does not say whether a reply is hidden, so a hide left in flight is
        simply sent again (hiding twice is harmless).
        """
        try:
            body = self._lookup(comment_id, ["conversation_id"])
        except Refused:
            return "deleted"
        if isinstance(body.get("data"), dict):
            return "unknown"
        for error in body.get("errors") or []:
            if isinstance(error, dict) and "resource-not-found" in str(error.get("type", "")):
                return "deleted"
        return "unknown"

    def check(self) -> CheckResult:
        try:
            body = self._call("me", self.client.get_me, user_fields=["username", "name"],
                              user_auth=self.user_auth)
        except AuthError as error:
            return CheckResult(ok=False, message=error.message)
        data = body.get("data")
        if not isinstance(data, dict) or not data.get("id"):
            raise BadPayload(_("X did not say which account the token belongs to."))
        if str(data["id"]) != self.platform_id:
            return CheckResult(
                ok=False,
                message=_("The token belongs to @{username} ({id}), not to this space's account "
                          "({expected}).").format(
                    username=data.get("username", "?"), id=data["id"], expected=self.platform_id
                ),
            )
        missing: tuple[str, ...] = ()
        if self.auth_kind == "oauth1" and self._access_level and "write" not in self._access_level:
            missing = ("read-write",)
        if missing:
            return CheckResult(
                ok=False,
                message=_("The X app is read-only: give it “Read and write” permission, then "
                          "generate the access token again."),
                missing_permissions=missing,
            )
        return CheckResult(
            ok=True,
            message=_("X account @{username} reachable; replies can be hidden.").format(
                username=data.get("username", "?")
            ),
        )

    def last_usage(self) -> Usage | None:
        """Return the most used of X's windows seen so far (ratio of the 15-minute limit)."""
        with self._lock:
            now = self.now()
            live = {k: v for k, v in self._limits.items() if v.reset > now and v.limit > 0}
            if not live:
                return None
            name, worst = max(live.items(), key=lambda kv: 1 - kv[1].remaining / kv[1].limit)
            return Usage(
                ratio=max(0.0, min(1.0, 1 - worst.remaining / worst.limit)),
                reset_at=worst.reset,
                detail={
                    k: {"limit": v.limit, "remaining": v.remaining, "reset": v.reset.isoformat()}
                    for k, v in live.items()
                }
                | {"worst": name},
            )

    def close(self) -> None:
        self.client.session.close()


def _digits(value: str | None) -> str | None:
    return value if value and value.isdigit() else None


def conversation_queries(conversations: list[str], limit: int = SEARCH_QUERY_MAX) -> list[str]:
    """Given conversation ids, return recent-search queries of at most ``limit`` characters."""
    queries: list[str] = []
    group: list[str] = []
    suffix = " is:reply"

    def render(ids: list[str]) -> str:
        terms = " OR ".join(f"conversation_id:{c}" for c in ids)
        return (f"({terms})" if len(ids) > 1 else terms) + suffix

    for conversation in conversations:
        if group and len(render([*group, conversation])) > limit:
            queries.append(render(group))
            group = []
        group.append(conversation)
    if group:
        queries.append(render(group))
    return queries


def author_meta(user: Mapping[str, Any], seen_at: dt.datetime) -> dict[str, Any]:
    """Given an X user object, return the anonymity signals the policy may use."""
    if not user:
        return {}
    name = str(user.get("name") or "")
    username = str(user.get("username") or "")
    words = [w for w in re.split(r"\s+", name.strip()) if w]
    meta: dict[str, Any] = {
        "username": username,
        "display_name": name,
        # Two or more words of letters, not the handle again: looks like a person's name.
        "has_real_name": len(words) >= 2
        and all(w.replace("-", "").replace("'", "").isalpha() for w in words)
        and name.replace(" ", "").lower() != username.lower(),
        "has_description": bool(str(user.get("description") or "").strip()),
        "default_profile_image": "default_profile_images" in str(
            user.get("profile_image_url") or ""
        ),
    }
    if "verified" in user:
        meta["verified"] = bool(user["verified"])
    created = parse_time(user.get("created_at"))
    if created is not None:
        meta["account_created_at"] = created.isoformat()
        meta["account_age_days"] = max(0, (seen_at - created).days)
    metrics = user.get("public_metrics")
    if isinstance(metrics, dict) and "followers_count" in metrics:
        meta["followers_count"] = metrics["followers_count"]
    return meta
