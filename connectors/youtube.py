"""YouTube through the Data API v3 (plain ``requests``): the comments of one channel.

One poll reads ``commentThreads.list`` with ``allThreadsRelatedToChannelId`` (every video of the
channel), ``order=time``, ``part=snippet,replies``, newest first, page after page until it meets
a thread no newer than the cursor (on the first poll: older than ``lookback_days``). A thread
that has more replies than the listing includes (and whose count changed since the last poll)
has its replies read with ``comments.list?parentId=``.

At most ``max_pages`` pages a poll (one quota unit each). A poll that stops there (or whose
quota runs out after its first page) keeps the cursor where it was and remembers where it
stopped (the page token, and the oldest thread read): the next polls read on from there before
anything newer, so no comment is skipped and none is given twice. A resumed page is read again
first, to check that the list did not move under the token (threads held for review or deleted
meanwhile leave the list); if it did, reading starts over from the newest thread, skipping the
threads already read.

Hiding is ``comments.setModerationStatus`` with ``heldForReview`` (the comment leaves the public
page and waits in YouTube Studio's "Held for review"); restoring is ``published``. The status
``rejected`` is never sent: a rejected comment can never be published again, so an automatic
mistake could not be undone. :func:`moderation_status_param` refuses it, and it is the only way
a status reaches the wire. ``comments.delete`` only works for the channel's own comments
(YouTube lets only a comment's author delete it), so deleting others' comments is refused.

Quota: every call costs units of the Google Cloud project's daily quota (10,000 by default,
reset at midnight Pacific time): a list 1, setModerationStatus 50, delete 50. The connector
counts what it spends, keeps to the space's ``daily_budget`` (and keeps ``moderation_reserve``
units of it for hiding and restoring), and raises RateLimited until the next reset rather than
going over. The count is carried in the cursor, so a restart does not forget the day's spending.

Credentials: an access token renewed outside Vigie (``access_token``), or ``client_id``,
``client_secret`` and ``refresh_token``, from which the connector obtains access tokens itself
(Google's token endpoint; Google access tokens last an hour).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

import requests
from pydantic import Field, model_validator

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
    parse_seen,
    utcnow,
)
from connectors.errors import AuthError, BadPayload, RateLimited, Refused, Unreachable
from connectors.registry import register
from watcher.i18n import translator

_ = translator("vigie_xyt", Path(__file__).parent / "locale")
log = logging.getLogger(__name__)

PACIFIC = ZoneInfo("America/Los_Angeles")
DEFAULT_DAILY_QUOTA = 10_000
COSTS = {"list": 1, "setModerationStatus": 50, "delete": 50}
# The only moderation statuses Vigie ever sends. Never "rejected" (irreversible).
SAFE_STATUSES: frozenset[str] = frozenset({"heldForReview", "published"})
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - an address
REFRESH_SECRETS = ("client_id", "client_secret", "refresh_token")
GENERATED_HANDLE = re.compile(r"^@user-[a-z0-9]{6,}$", re.IGNORECASE)



def next_quota_reset(now: dt.datetime) -> dt.datetime:
    """Given an aware instant, return the next midnight Pacific time (YouTube's quota reset), UTC."""
    local = now.astimezone(PACIFIC)
    tomorrow = (local + dt.timedelta(days=1)).date()
    return dt.datetime.combine(tomorrow, dt.time(0), tzinfo=PACIFIC).astimezone(dt.UTC)


def quota_day(now: dt.datetime) -> str:
    """Return the Pacific date whose quota ``now`` spends, as YYYY-MM-DD."""
    return now.astimezone(PACIFIC).date().isoformat()


def moderation_status_param(status: str) -> str:
    """Given a moderation status, return it if Vigie may send it. Raise Refused otherwise.

    ``rejected`` is refused: YouTube never lets a rejected comment be published again.
    """
    if status not in SAFE_STATUSES:
        raise Refused(
            _("Vigie never sets the YouTube status “{status}”: only heldForReview (hide) and "
              "published (restore), which can be undone.").format(status=status)
        )
    return status


parse_time = parse_iso_time  # X and YouTube give ISO 8601 times


class YouTubeOptions(ConnectorOptions):
    """Options of a YouTube channel."""

    # Units of the project's daily quota this channel may spend (several channels sharing one
    # Google Cloud project must share its 10,000 units).
    daily_budget: int = Field(default=DEFAULT_DAILY_QUOTA, ge=100, le=10_000_000)
    # Units of the budget that reads may not touch, kept for hiding and restoring (50 each);
    # by default a tenth of the budget (1,000 units: 20 hides or restores).
    moderation_reserve: int | None = Field(default=None, ge=0)
    page_size: int = Field(default=100, ge=1, le=100)
    # Thread pages read at most per poll (a unit each); a poll that stops there is resumed by
    # the next ones (at least 2: a resumed poll reads its last page again, then goes on).
    max_pages: int = Field(default=20, ge=2, le=1000)
    lookback_days: int = Field(default=30, ge=1, le=365)  # first poll: comments this recent

    @model_validator(mode="after")
    def _reserve_within_budget(self) -> YouTubeOptions:
        if self.moderation_reserve is not None and self.moderation_reserve >= self.daily_budget:
            raise ValueError("moderation_reserve must be smaller than daily_budget")
        return self

    @property
    def reserve(self) -> int:
        """The units kept for moderation."""
        if self.moderation_reserve is not None:
            return self.moderation_reserve
        return self.daily_budget // 10


class QuotaLedger:
    """The units spent on one Pacific day."""

    def __init__(self) -> None:
        self.day = ""
        self.used = 0
        self.lock = threading.Lock()

    def roll(self, now: dt.datetime) -> None:
        today = quota_day(now)
        if today != self.day:
            self.day, self.used = today, 0

    def restore(self, day: str | None, used: str | None, now: dt.datetime) -> None:
        """Take the day's spending remembered in a cursor, if it is today's and larger."""
        with self.lock:
            self.roll(now)
            if day == self.day and used and used.isdigit():
                self.used = max(self.used, int(used))


@register
class YouTubeConnector(Connector):
    """Comments on the videos of one YouTube channel."""

    kind: ClassVar[str] = "youtube"
    display_name: ClassVar[str] = "YouTube"
    required_secrets: ClassVar[tuple[str, ...]] = ()
    optional_secrets: ClassVar[tuple[str, ...]] = ("access_token", *REFRESH_SECRETS, "api_key")
    # An access token renewed outside Vigie, or what Vigie needs to renew it itself.
    secret_sets: ClassVar[tuple[tuple[str, ...], ...]] = (("access_token",), REFRESH_SECRETS)
    Options: ClassVar[type[ConnectorOptions]] = YouTubeOptions
    default_api_base_url: ClassVar[str] = "https://www.googleapis.com"
    can_delete: ClassVar[bool] = False  # comments.delete: only a comment's own author may

    options: YouTubeOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.can_refresh = all(self.secrets.get(name) for name in REFRESH_SECRETS)
        token = self.secrets.get("access_token")
        if not token and not self.can_refresh:
            raise AuthError(
                _("YouTube needs an OAuth access token (secret access_token), or client_id, "
                  "client_secret and refresh_token to obtain one.")
            )
        # Google's token endpoint; beside the API when the space points elsewhere (the sandbox).
        self.token_url = (
            GOOGLE_TOKEN_URL
            if self.api_base_url == self.default_api_base_url
            else f"{self.api_base_url}/token"
        )
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        self.token_expires_at: dt.datetime | None = None
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.api_key = self.secrets.get("api_key")
        self.now: Callable[[], dt.datetime] = utcnow
        self.quota = QuotaLedger()
        self._owner_comments: set[str] = set()

    def _refresh(self) -> None:
        """Obtain a new access token from the refresh token. Raise AuthError if refused."""
        data = {
            "grant_type": "refresh_token",
            "client_id": self.secrets["client_id"],
            "client_secret": self.secrets["client_secret"],
            "refresh_token": self.secrets["refresh_token"],
        }
        try:
            response = self.session.post(self.token_url, data=data, timeout=self.timeout)
        except requests.Timeout:
            raise Unreachable(_("Google's token service did not answer in time.")) from None
        except requests.RequestException as error:
            raise Unreachable(
                _("Google's token service cannot be reached: {reason}").format(
                    reason=type(error).__name__
                )
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500:
            raise Unreachable(
                _("Google's token service answered with a server error ({status}).").format(
                    status=response.status_code
                )
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not response.ok or not isinstance(token, str) or not token:
            reason = body.get("error", response.status_code) if isinstance(body, dict) else ""
            raise AuthError(
                _("Google refused to renew the YouTube token ({reason}): authorize Vigie again "
                  "for this channel.").format(reason=reason),
                code=str(reason),
            )
        try:
            lifetime = int(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.token_expires_at = self.now() + dt.timedelta(seconds=lifetime)

    def _ensure_token(self) -> None:
        """Renew the access token when it is missing or expires within a minute."""
        if not self.can_refresh:
            return
        expires = self.token_expires_at
        if (
            "Authorization" not in self.session.headers
            or (expires is not None and expires - self.now() < dt.timedelta(minutes=1))
        ):
            self._refresh()

    # --- transport and quota ---------------------------------------------------------------

    def _spend(self, units: int, purpose: Literal["read", "moderate"]) -> None:
        """Count ``units`` of today's quota, or raise RateLimited if the budget would be passed."""
        now = self.now()
        budget = self.options.daily_budget
        ceiling = budget if purpose == "moderate" else budget - self.options.reserve
        with self.quota.lock:
            self.quota.roll(now)
            if self.quota.used + units > ceiling:
                reset = next_quota_reset(now)
                raise RateLimited(
                    _("The YouTube quota budget of this channel for today is spent "
                      "({used}/{budget} units); it resets at midnight Pacific time.").format(
                        used=self.quota.used, budget=budget
                    ),
                    retry_at=reset,
                    code="quotaExceeded",
                )
            self.quota.used += units

    def _request(
        self, method: str, path: str, params: dict[str, Any], *, cost: int,
        purpose: Literal["read", "moderate"] = "read",
    ) -> dict[str, Any]:
        """Make one call (after counting its cost); return its JSON body ({} for 204)."""
        self._ensure_token()
        self._spend(cost, purpose)
        if self.api_key:
            params = {**params, "key": self.api_key}
        url = f"{self.api_base_url}/youtube/v3/{path}"
        response = self._send(method, url, params)
        if response.status_code == 401 and self.can_refresh:
            # The token was revoked or expired early: renew it once and try again.
            self._refresh()
            self._spend(cost, purpose)
            response = self._send(method, url, params)
        if response.status_code == 204:
            return {}
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok:
            if not isinstance(body, dict):
                raise BadPayload(_("YouTube answered something that is not a JSON object."))
            return body
        raise self._error(response.status_code, body, purpose)

    def _send(self, method: str, url: str, params: dict[str, Any]) -> requests.Response:
        try:
            return self.session.request(method, url, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise Unreachable(_("YouTube did not answer in time.")) from None
        except requests.RequestException as error:
            raise Unreachable(
                _("YouTube cannot be reached: {reason}").format(reason=type(error).__name__)
            ) from None

    def _error(self, status: int, body: Any, purpose: str) -> Exception:
        """Map a YouTube error (``{"error": {"code", "message", "errors": [{"reason"}]}}``)."""
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        reasons = [
            str(item.get("reason", "")) for item in error.get("errors") or []
            if isinstance(item, dict)
        ]
        reason = reasons[0] if reasons else str(error.get("status", ""))
        message = str(error.get("message", ""))[:200]
        now = self.now()
        if reason in ("quotaExceeded", "dailyLimitExceeded"):
            with self.quota.lock:  # the project's quota is spent (perhaps by another space)
                self.quota.roll(now)
                self.quota.used = max(self.quota.used, self.options.daily_budget)
            return RateLimited(
                _("YouTube's daily quota is exhausted; it resets at midnight Pacific time."),
                retry_at=next_quota_reset(now),
                code=reason,
            )
        if reason in ("rateLimitExceeded", "userRateLimitExceeded") or status == 429:
            return RateLimited(
                _("YouTube asks us to slow down."),
                retry_at=now + dt.timedelta(minutes=1),
                code=reason or status,
            )
        if status == 401 or reason in ("authError", "invalidCredentials", "unauthorized"):
            return AuthError(
                _("YouTube refused the access token (expired or revoked): renew the channel's "
                  "token."),
                code=reason or status,
            )
        if reason in ("insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"):
            return AuthError(
                _("The YouTube token lacks the youtube.force-ssl permission."), code=reason
            )
        if status >= 500:
            return Unreachable(
                _("YouTube answered with a server error ({status}).").format(status=status),
                code=reason or status,
            )
        if purpose == "moderate" or reason in ("commentNotFound", "commentsDisabled"):
            return Refused(
                _("YouTube refused: {reason} {message}").format(reason=reason, message=message),
                code=reason or status,
            )
        if status == 403:
            return AuthError(
                _("YouTube refused access to this channel's comments with this token: "
                  "{reason}").format(reason=reason or status),
                code=reason or status,
            )
        return BadPayload(
            _("YouTube refused the request: {reason} {message}").format(
                reason=reason or status, message=message
            ),
            code=reason or status,
        )

    # --- parsing ---------------------------------------------------------------------------------

    def parse_comment(self, item: Mapping[str, Any], video_id: str | None = None) -> RemoteComment:
        """Given a ``youtube#comment`` resource, return it as a RemoteComment."""
        snippet = item.get("snippet") if isinstance(item, Mapping) else None
        if not isinstance(snippet, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise BadPayload(_("YouTube answered a comment without id or snippet."))
        created = parse_time(snippet.get("publishedAt"))
        if created is None:
            raise BadPayload(_("YouTube answered a comment without a valid date."))
        author = snippet.get("authorChannelId")
        author_id = str(author.get("value")) if isinstance(author, dict) else None
        name = str(snippet.get("authorDisplayName") or "")
        video = str(snippet.get("videoId") or video_id or snippet.get("channelId") or "") or None
        comment_id = item["id"]
        by_owner = author_id == self.platform_id
        if by_owner:
            self._owner_comments.add(comment_id)
        status = snippet.get("moderationStatus")
        return RemoteComment(
            platform_id=comment_id,
            text=str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""),
            created_time=created,
            author_id=author_id,
            author_name=name or None,
            post_id=video,
            parent_id=str(snippet["parentId"]) if snippet.get("parentId") else None,
            permalink=(
                f"https://www.youtube.com/watch?v={video}&lc={comment_id}"
                if video and snippet.get("videoId") else None
            ),
            hidden=status in ("heldForReview", "likelySpam", "rejected"),
            by_owner=by_owner,
            author_meta=author_meta(snippet),
        )

    # --- fetch -----------------------------------------------------------------------------------

    def fetch(self, cursor: Mapping[str, str]) -> FetchResult:
        now = self.now()
        self.quota.restore(cursor.get("quota_day"), cursor.get("quota_used"), now)
        since = parse_time(cursor.get("since"))
        floor = since or now - dt.timedelta(days=self.options.lookback_days)
        floor_epoch = _epoch(floor)
        # Comments already given that are as new as the floor or newer: id -> epoch seconds.
        known = parse_seen(cursor.get("seen"))
        for comment_id in filter(None, (cursor.get("since_ids") or "").split(",")):
            known[comment_id] = floor_epoch
        known_counts = _parse_counts(cursor.get("reply_counts", ""))
        walk = _Walk.from_cursor(cursor)  # where the previous poll stopped, if it did

        def is_new(comment: RemoteComment) -> bool:
            return comment.created_time >= floor and comment.platform_id not in known

        calls = 0
        found: dict[str, RemoteComment] = {}
        videos: dict[str, RemotePost] = {}
        counts: dict[str, int] = {}
        params: dict[str, Any] = {
            "part": "snippet,replies",
            "allThreadsRelatedToChannelId": self.platform_id,
            "order": "time",
            "maxResults": self.options.page_size,
            "textFormat": "plainText",
        }
        if walk is not None and walk.page:
            params["pageToken"] = walk.page
        check_continuity = walk is not None and bool(walk.page)
        until = walk.until if walk else None
        until_ids = set(walk.until_ids) if walk else set()
        pages = 0
        read_token = walk.page if walk else ""  # the token of the last page read
        capped = False
        while True:
            if pages >= self.options.max_pages:
                capped = True
                break
            page_token = str(params.get("pageToken") or "")
            pages += 1
            calls += 1
            try:
                body = self._request("GET", "commentThreads", params, cost=COSTS["list"])
            except BadPayload as error:
                if check_continuity and error.code == "invalidPageToken":
                    log.warning("YouTube channel %s: the page token where the last poll stopped "
                                "is refused; reading again from the newest thread",
                                self.platform_id)
                    check_continuity = False
                    params.pop("pageToken", None)
                    continue
                raise
            except RateLimited:
                if pages == 1:
                    raise
                capped = True  # keep what was read; the next poll waits for the quota
                break
            read_token = page_token
            items = body.get("items")
            if not isinstance(items, list):
                raise BadPayload(_("YouTube answered a comment-thread list without items."))
            threads = [self._thread(thread) for thread in items]
            if check_continuity:
                check_continuity = False
                assert until is not None
                if not _continues([top for top, _r, _t in threads], until, until_ids):
                    log.warning("YouTube channel %s: the thread list moved under the page "
                                "token where the last poll stopped; reading again from the "
                                "newest thread", self.platform_id)
                    params.pop("pageToken", None)
                    continue
            reached_floor = False
            for top, replies, total in threads:
                if top.created_time <= floor:
                    reached_floor = True
                if until is not None and not _below(top, until, until_ids):
                    continue  # read by this walk already (or newer: the next walk's)
                if until is None or top.created_time < until:
                    until, until_ids = top.created_time, set()
                until_ids.add(top.platform_id)
                if top.post_id and top.post_id not in videos:
                    videos[top.post_id] = RemotePost(
                        platform_id=top.post_id,
                        permalink=f"https://www.youtube.com/watch?v={top.post_id}",
                    )
                if total > len(replies):
                    counts[top.platform_id] = total
                    if known_counts.get(top.platform_id) != total:
                        replies, used = self._all_replies(top.platform_id, top.post_id)
                        calls += used
                for comment in [top, *replies]:
                    if is_new(comment):
                        found[comment.platform_id] = comment
            token = body.get("nextPageToken")
            if reached_floor or not token:
                break
            params["pageToken"] = token

        comments = sorted(found.values(), key=lambda c: (c.created_time, c.platform_id))
        # The walk's head: the newest comment of its first poll. Every thread newer than it
        # was posted after the walk began, so the next walk reads it.
        head = walk.head if walk else max((c.created_time for c in comments), default=None)
        new_cursor: dict[str, str] = {}
        if capped and until is None:
            capped = False  # nothing was read to resume after: the next poll starts over
        if capped:
            if walk is None:
                log.warning("YouTube channel %s: more new comment threads than max_pages = %d "
                            "pages of %d; the next polls read on from where this one stopped",
                            self.platform_id, self.options.max_pages, self.options.page_size)
            head = head or floor
            keep = {**known, **{c.platform_id: _epoch(c.created_time) for c in comments
                                if c.created_time >= head}}
            keep = {k: v for k, v in keep.items() if v >= floor_epoch}
            new_cursor["since"] = floor.isoformat()
            new_cursor.update(_render_seen(keep, floor_epoch))
            assert until is not None  # for mypy: checked above
            new_cursor.update(_Walk(read_token, until, sorted(until_ids), head).to_cursor())
        elif head is not None or since is not None:
            mark = max(head or floor, floor)
            mark_epoch = _epoch(mark)
            keep = {**known, **{c.platform_id: _epoch(c.created_time) for c in comments}}
            keep = {k: v for k, v in keep.items() if v >= mark_epoch}
            new_cursor["since"] = mark.isoformat()
            new_cursor.update(_render_seen(keep, mark_epoch))
        merged = {**known_counts, **counts}
        if merged:
            # Keep the counts of the threads on the pages just read (bounded by max_pages).
            kept = {k: v for k, v in merged.items() if k in counts} or merged
            new_cursor["reply_counts"] = ";".join(f"{k}:{v}" for k, v in sorted(kept.items()))
        with self.quota.lock:
            new_cursor["quota_day"] = self.quota.day
            new_cursor["quota_used"] = str(self.quota.used)
        return FetchResult(
            comments=comments, cursor=new_cursor, posts=list(videos.values()), calls=calls,
            usage=self.last_usage(),
        )

    def _thread(self, thread: Any) -> tuple[RemoteComment, list[RemoteComment], int]:
        if not isinstance(thread, dict) or not isinstance(thread.get("snippet"), dict):
            raise BadPayload(_("YouTube answered a comment thread without snippet."))
        snippet = thread["snippet"]
        top_item = snippet.get("topLevelComment")
        if not isinstance(top_item, dict):
            raise BadPayload(_("YouTube answered a comment thread without its comment."))
        video = snippet.get("videoId")
        top = self.parse_comment(top_item, video)
        replies_part = thread.get("replies") if isinstance(thread.get("replies"), dict) else {}
        included = replies_part.get("comments") or []
        if not isinstance(included, list):
            raise BadPayload(_("YouTube answered a comment thread without snippet."))
        replies = [self.parse_comment(item, video) for item in included]
        try:
            total = int(snippet.get("totalReplyCount", len(replies)))
        except (TypeError, ValueError):
            total = len(replies)
        return top, replies, total

    def _all_replies(self, parent_id: str, video: str | None) -> tuple[list[RemoteComment], int]:
        """Return every reply of one thread (comments.list?parentId=), and the calls made."""
        params: dict[str, Any] = {
            "part": "snippet", "parentId": parent_id, "maxResults": 100, "textFormat": "plainText",
        }
        replies: list[RemoteComment] = []
        calls = 0
        for _page in range(self.options.max_pages):
            body = self._request("GET", "comments", params, cost=COSTS["list"])
            calls += 1
            items = body.get("items")
            if not isinstance(items, list):
                raise BadPayload(_("YouTube answered a comment list without items."))
            replies.extend(self.parse_comment(item, video) for item in items)
            token = body.get("nextPageToken")
            if not token:
                break
            params["pageToken"] = token
        return replies, calls

    # --- moderation ------------------------------------------------------------------------------

    def hide(self, comment_id: str) -> None:
        self._set_moderation_status(comment_id, "heldForReview")

    def unhide(self, comment_id: str) -> None:
        self._set_moderation_status(comment_id, "published")

    def _set_moderation_status(self, comment_id: str, status: str) -> None:
        if comment_id in self._owner_comments:
            raise Refused(_("The channel's own comment is not moderated."))
        params = {"id": comment_id, "moderationStatus": moderation_status_param(status)}
        self._request("POST", "comments/setModerationStatus", params,
                      cost=COSTS["setModerationStatus"], purpose="moderate")

    def delete(self, comment_id: str) -> None:
        """Delete one of the channel's own comments (YouTube lets only the author delete)."""
        if comment_id not in self._owner_comments:
            raise Refused(
                _("YouTube lets only a comment's author delete it: hide it instead (held for "
                  "review).")
            )
        self._request("DELETE", "comments", {"id": comment_id}, cost=COSTS["delete"],
                      purpose="moderate")

    def state(self, comment_id: str) -> RemoteState:
        body = self._request(
            "GET", "comments", {"part": "snippet", "id": comment_id, "textFormat": "plainText"},
            cost=COSTS["list"], purpose="moderate",
        )
        items = body.get("items")
        if not isinstance(items, list):
            raise BadPayload(_("YouTube answered a comment list without items."))
        if not items:
            return "deleted"
        status = (items[0].get("snippet") or {}).get("moderationStatus")
        if status is None:
            return "unknown"
        return "visible" if status == "published" else "hidden"

    def check(self) -> CheckResult:
        try:
            body = self._request("GET", "channels", {"part": "id,snippet", "mine": "true"},
                                 cost=COSTS["list"])
        except AuthError as error:
            return CheckResult(ok=False, message=error.message)
        items = body.get("items") or []
        ids = [str(item.get("id")) for item in items if isinstance(item, dict)]
        if self.platform_id not in ids:
            return CheckResult(
                ok=False,
                message=_("The token belongs to channel {found}, not to this space's channel "
                          "({expected}).").format(
                    found=", ".join(ids) or "?", expected=self.platform_id
                ),
            )
        return CheckResult(
            ok=True,
            message=_("YouTube channel reachable; {left} quota units left today.").format(
                left=self.options.daily_budget - self.quota.used
            ),
            token_expires_at=self.token_expires_at,
        )

    def last_usage(self) -> Usage | None:
        """Return the share of today's budget spent; it resets at midnight Pacific time."""
        now = self.now()
        with self.quota.lock:
            self.quota.roll(now)
            used = self.quota.used
        budget = self.options.daily_budget
        return Usage(
            ratio=min(1.0, used / budget),
            reset_at=next_quota_reset(now),
            detail={"quota_used": used, "daily_budget": budget,
                    "moderation_reserve": self.options.reserve},
        )

    def close(self) -> None:
        self.session.close()


@dataclass(frozen=True)
class _Walk:
    """Where a poll stopped at ``max_pages``: the token of the last page it read (``""`` for
    the first page), the oldest thread read (its time, and the ids of the threads read at that
    time) and the head (the newest comment of the walk's first poll)."""

    page: str
    until: dt.datetime
    until_ids: list[str]
    head: dt.datetime

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, str]) -> _Walk | None:
        until = parse_time(cursor.get("walk_until"))
        head = parse_time(cursor.get("walk_head"))
        if until is None or head is None or "walk_page" not in cursor:
            return None
        ids = [i for i in (cursor.get("walk_until_ids") or "").split(",") if i]
        return cls(str(cursor.get("walk_page") or ""), until, ids, head)

    def to_cursor(self) -> dict[str, str]:
        return {"walk_page": self.page, "walk_until": self.until.isoformat(),
                "walk_until_ids": ",".join(self.until_ids), "walk_head": self.head.isoformat()}


def _below(top: RemoteComment, until: dt.datetime, until_ids: set[str]) -> bool:
    """True when a thread comes after the oldest thread read (not read yet)."""
    return top.created_time < until or (
        top.created_time == until and top.platform_id not in until_ids)


def _continues(tops: list[RemoteComment], until: dt.datetime, until_ids: set[str]) -> bool:
    """Given the threads of a page read again under a saved token, return True when no unread
    thread can have slipped above it: a thread already read is on it, or its first thread is
    newer than the oldest thread read (the list only grew at the top)."""
    if any(top.platform_id in until_ids for top in tops):
        return True
    return bool(tops) and not _below(tops[0], until, until_ids)


def _epoch(when: dt.datetime) -> int:
    return int(when.timestamp())


def _render_seen(known: Mapping[str, int], mark_epoch: int) -> dict[str, str]:
    """Return the cursor's ``since_ids`` (ids at the mark's second) and ``seen`` (newer ids)."""
    out = {"since_ids": ",".join(sorted(k for k, v in known.items() if v == mark_epoch))}
    newer = sorted(f"{k}@{v}" for k, v in known.items() if v > mark_epoch)
    if newer:
        out["seen"] = ",".join(newer)
    return out


def _parse_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in text.split(";"):
        key, _sep, value = part.rpartition(":")
        if key and value.isdigit():
            counts[key] = int(value)
    return counts


def author_meta(snippet: Mapping[str, Any]) -> dict[str, Any]:
    """Given a comment snippet, return the author's anonymity signals."""
    author = snippet.get("authorChannelId")
    name = str(snippet.get("authorDisplayName") or "")
    bare = name.lstrip("@")
    words = [w for w in re.split(r"\s+", bare.strip()) if w]
    return {
        "author_channel_id": author.get("value") if isinstance(author, dict) else None,
        "display_name": name,
        "channel_url": snippet.get("authorChannelUrl"),
        # YouTube gives every account a handle; "@user-k3j9x..." is one YouTube generated.
        "generated_handle": bool(GENERATED_HANDLE.match(name)),
        "has_real_name": len(words) >= 2
        and all(w.replace("-", "").replace("'", "").isalpha() for w in words),
    }
