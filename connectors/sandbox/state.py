"""The sandbox platform's state: spaces, posts, comments, the calls received, injected faults.

One :class:`SandboxState` is shared by every platform's routes (Graph API for Facebook and
Instagram, X API v2, YouTube Data API v3) and by the control API under ``/_sandbox/``. All
access goes through its lock: the server is threaded.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from connectors.base import utcnow

PLATFORMS = ("facebook", "instagram", "x", "youtube")
FAULT_KINDS = ("http500", "timeout", "error", "slow")



@dataclass
class SbSpace:
    platform: str
    id: str  # the platform's id of the account, page or channel
    name: str
    username: str = ""
    token: str | None = None  # when set, only this token is accepted


@dataclass
class SbPost:
    platform: str
    id: str
    space: str
    text: str
    created_time: dt.datetime
    updated_time: dt.datetime


@dataclass
class SbComment:
    platform: str
    id: str
    space: str
    post: str
    text: str
    author_id: str
    author_name: str
    created_time: dt.datetime
    parent: str | None = None
    hidden: bool = False
    deleted: bool = False
    by_owner: bool = False
    # YouTube's moderation status: published | heldForReview | likelySpam | rejected
    moderation_status: str = "published"
    author_username: str = ""

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_time"] = self.created_time.isoformat()
        return data


@dataclass
class Fault:
    id: int
    platform: str
    space: str | None  # None: every space of the platform
    kind: str  # http500 | timeout | error | slow (answers normally after ``delay``)
    code: int | str | None = None  # platform error code for kind "error" (190, 4, 17, 429, ...)
    remaining: int | None = None  # number of calls it affects (None: until ``until``)
    until: dt.datetime | None = None
    delay: float = 5.0  # seconds a "timeout" fault holds the request

    def active(self, now: dt.datetime) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        return not (self.until is not None and now >= self.until)


@dataclass
class Call:
    seq: int
    at: str
    platform: str
    method: str
    path: str
    query: dict[str, Any]
    status: int
    space: str | None = None
    over_limit: bool = False  # a call past a documented limit (counted, see docs/sandbox.md)


@dataclass
class SandboxState:
    spaces: dict[tuple[str, str], SbSpace] = field(default_factory=dict)
    posts: dict[str, SbPost] = field(default_factory=dict)
    comments: dict[str, SbComment] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # Per-platform counters kept by the platform modules (quotas, rate-limit windows).
    counters: dict[str, Any] = field(default_factory=dict)
    clock_offset: dt.timedelta = field(default_factory=dt.timedelta)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._fault_ids = itertools.count(1)
        # Indexes over ``posts`` and ``comments`` (post ids by space, comment ids by post), so
        # that a request reads its own posts and comments, not every item of the sandbox. They
        # are rebuilt whenever the dicts were changed behind add_post/add_comment's back.
        self._posts_by_space: dict[tuple[str, str], list[str]] = {}
        self._comments_by_post: dict[str, list[str]] = {}
        self._indexed = (0, 0)  # (posts, comments) covered by the indexes

    def _index(self) -> None:
        """Bring the indexes up to date (call with the lock held)."""
        if self._indexed == (len(self.posts), len(self.comments)):
            return
        self._posts_by_space = {}
        for post in self.posts.values():
            self._posts_by_space.setdefault((post.platform, post.space), []).append(post.id)
        self._comments_by_post = {}
        for comment in self.comments.values():
            self._comments_by_post.setdefault(comment.post, []).append(comment.id)
        self._indexed = (len(self.posts), len(self.comments))

    @contextmanager
    def locked(self) -> Iterator[SandboxState]:
        with self.lock:
            yield self

    # --- time and ids ------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return utcnow() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward (rate-limit windows, quotas, timestamps)."""
        with self.lock:
            self.clock_offset += dt.timedelta(seconds=seconds)

    def next_number(self) -> int:
        with self.lock:
            return next(self._ids)

    # --- content -----------------------------------------------------------------------

    def ensure_space(self, platform: str, space_id: str, name: str | None = None) -> SbSpace:
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        with self.lock:
            key = (platform, space_id)
            if key not in self.spaces:
                self.spaces[key] = SbSpace(platform, space_id, name or space_id, username=space_id)
            return self.spaces[key]

    def space_posts(self, platform: str, space_id: str) -> list[SbPost]:
        with self.lock:
            self._index()
            found = (self.posts.get(pid) for pid in self._posts_by_space.get((platform, space_id), ()))
            return sorted(
                (p for p in found if p is not None and p.platform == platform
                 and p.space == space_id),
                key=lambda p: (p.created_time, p.id),
                reverse=True,
            )

    def add_post(
        self,
        platform: str,
        space_id: str,
        text: str = "",
        created_time: dt.datetime | None = None,
        post_id: str | None = None,
    ) -> SbPost:
        from connectors.sandbox import ids

        with self.lock:
            self.ensure_space(platform, space_id)
            when = created_time or self.now()
            pid = post_id or ids.post_id(platform, space_id, self.next_number(), when)
            post = SbPost(platform, pid, space_id, text, when, when)
            self._index()
            if pid not in self.posts:
                self._posts_by_space.setdefault((platform, space_id), []).append(pid)
                self._indexed = (self._indexed[0] + 1, self._indexed[1])
            self.posts[pid] = post
            return post

    def add_comment(
        self,
        platform: str,
        space_id: str,
        text: str,
        *,
        post_id: str | None = None,
        author_name: str = "Anonyme",
        author_id: str | None = None,
        parent: str | None = None,
        created_time: dt.datetime | None = None,
        by_owner: bool = False,
        author_username: str = "",
    ) -> SbComment:
        """Add a comment (the newest post of the space when no post is named)."""
        from connectors.sandbox import ids

        with self.lock:
            self.ensure_space(platform, space_id)
            if parent is not None:
                parent_comment = self.comments.get(parent)
                if parent_comment is None:
                    raise KeyError(f"no comment {parent!r}")
                post_id = parent_comment.post
            if post_id is None:
                posts = self.space_posts(platform, space_id)
                post = posts[0] if posts else self.add_post(platform, space_id, "Publication")
                post_id = post.id
            if post_id not in self.posts:
                raise KeyError(f"no post {post_id!r}")
            when = created_time or self.now()
            number = self.next_number()
            comment = SbComment(
                platform=platform,
                id=ids.comment_id(platform, post_id, number, when),
                space=space_id,
                post=post_id,
                text=text,
                author_id=author_id or ids.user_id(platform, author_name),
                author_name=author_name,
                created_time=when,
                parent=parent,
                by_owner=by_owner,
                author_username=author_username or ids.username(author_name),
            )
            self._index()
            if comment.id not in self.comments:
                self._comments_by_post.setdefault(post_id, []).append(comment.id)
                self._indexed = (self._indexed[0], self._indexed[1] + 1)
            self.comments[comment.id] = comment
            post = self.posts[post_id]
            post.updated_time = max(post.updated_time, when)
            return comment

    def comment(self, comment_id: str) -> SbComment | None:
        with self.lock:
            return self.comments.get(comment_id)

    def post_comments(self, post_id: str, *, include_deleted: bool = False) -> list[SbComment]:
        with self.lock:
            self._index()
            found = (self.comments.get(cid) for cid in self._comments_by_post.get(post_id, ()))
            return sorted(
                (
                    c
                    for c in found
                    if c is not None and c.post == post_id and (include_deleted or not c.deleted)
                ),
                key=lambda c: (c.created_time, c.id),
            )

    # --- calls and faults --------------------------------------------------------------

    def record_call(
        self,
        platform: str,
        method: str,
        path: str,
        query: dict[str, Any],
        status: int,
        space: str | None = None,
        over_limit: bool = False,
    ) -> Call:
        with self.lock:
            call = Call(
                seq=next(self._seq),
                at=self.now().isoformat(),
                platform=platform,
                method=method,
                path=path,
                query=query,
                status=status,
                space=space,
                over_limit=over_limit,
            )
            self.calls.append(call)
            return call

    def add_fault(
        self,
        platform: str,
        kind: str,
        *,
        space: str | None = None,
        code: int | str | None = None,
        count: int | None = None,
        seconds: float | None = None,
        delay: float = 5.0,
    ) -> Fault:
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (expected one of {FAULT_KINDS})")
        if count is None and seconds is None:
            count = 1
        with self.lock:
            fault = Fault(
                id=next(self._fault_ids),
                platform=platform,
                space=space,
                kind=kind,
                code=code,
                remaining=count,
                until=self.now() + dt.timedelta(seconds=seconds) if seconds else None,
                delay=delay,
            )
            self.faults.append(fault)
            return fault

    def take_fault(self, platform: str, space: str | None) -> Fault | None:
        """Return the fault that applies to this call, if any, and count it as used."""
        with self.lock:
            now = self.now()
            for fault in self.faults:
                if fault.platform != platform or not fault.active(now):
                    continue
                if fault.space is not None and fault.space != space:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
            return None

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def reset(self) -> None:
        with self.lock:
            self.spaces.clear()
            self.posts.clear()
            self.comments.clear()
            self.calls.clear()
            self.faults.clear()
            self.counters.clear()
            self.clock_offset = dt.timedelta()
            self._indexed = (-1, -1)  # rebuilt on next use
