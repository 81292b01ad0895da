"""The one small interface every platform connector implements.

A connector lists the new comments of one approved space since a cursor, and hides, unhides or
deletes one comment (or several: ``act_many``, which Graph connectors send in batch requests). It is registered under a ``kind`` (the ``platform`` of a space in the
configuration) by :func:`connectors.registry.register`. Connectors know nothing of the store,
the policy or the scheduler: they turn platform payloads into :class:`RemoteComment` values and
platform errors into :mod:`connectors.errors`.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from connectors.errors import AuthError, ConnectorError, RateLimited


def utcnow() -> dt.datetime:
    """Return the current time, aware, in UTC (the connectors' and the sandbox's clock)."""
    return dt.datetime.now(dt.UTC)


def parse_iso_time(value: Any) -> dt.datetime | None:
    """Given an ISO 8601 time such as ``2022-10-07T22:42:12.000Z``, return it aware (UTC when
    it has no zone), or None when it is missing or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class RemoteComment:
    """A comment (or reply) as a platform gives it."""

    platform_id: str
    text: str
    created_time: dt.datetime  # aware, UTC
    author_id: str | None = None
    author_name: str | None = None
    post_id: str | None = None
    parent_id: str | None = None  # the comment this one replies to
    permalink: str | None = None
    hidden: bool = False
    by_owner: bool = False  # written by the space itself (cannot be hidden)
    # Anonymity signals the platform gives: {"username": ..., "has_real_name": bool, ...}
    author_meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RemotePost:
    """A post (publication, media, video, tweet) of the space."""

    platform_id: str
    text: str = ""
    created_time: dt.datetime | None = None
    permalink: str | None = None


@dataclass(frozen=True)
class Usage:
    """What the platform said of our consumption after the last call.

    ``ratio`` is the highest fraction of any limit used (0.0 to 1.0, None if unknown);
    ``reset_at`` when that limit resets.
    """

    ratio: float | None = None
    reset_at: dt.datetime | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchResult:
    """What one poll found. ``cursor`` is stored only after the comments are committed."""

    comments: list[RemoteComment]
    cursor: dict[str, str]
    posts: list[RemotePost] = field(default_factory=list)
    calls: int = 0
    usage: Usage | None = None


RemoteState = Literal["visible", "hidden", "deleted", "unknown"]
ACTIONS = ("hide", "unhide", "delete")  # what Connector.act_many carries out


@dataclass(frozen=True)
class CheckResult:
    """The answer of :meth:`Connector.check`: can this space be watched and moderated?"""

    ok: bool
    message: str
    token_expires_at: dt.datetime | None = None
    missing_permissions: tuple[str, ...] = ()


class ConnectorOptions(BaseModel):
    """Platform-specific options of a space (``options`` table); unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Connector(ABC):
    """One approved space on one platform.

    Subclasses set ``kind``, ``display_name``, ``required_secrets`` and ``Options``, and
    implement the abstract methods. Every method raises only :mod:`connectors.errors`.
    """

    kind: ClassVar[str]
    display_name: ClassVar[str]
    required_secrets: ClassVar[tuple[str, ...]]
    optional_secrets: ClassVar[tuple[str, ...]] = ()
    # Alternative complete sets of secrets, when a platform accepts several kinds of credential
    # (X: OAuth 1.0a keys or an OAuth 2.0 user token). Empty: ``required_secrets`` is the one set.
    secret_sets: ClassVar[tuple[tuple[str, ...], ...]] = ()
    Options: ClassVar[type[ConnectorOptions]] = ConnectorOptions
    default_api_base_url: ClassVar[str]
    can_delete: ClassVar[bool] = True

    def __init__(
        self,
        *,
        platform_id: str,
        secrets: Mapping[str, str],
        options: ConnectorOptions | None = None,
        api_base_url: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.platform_id = platform_id
        self.secrets = dict(secrets)
        self.options = options or self.Options()
        self.api_base_url = (api_base_url or self.default_api_base_url).rstrip("/")
        self.timeout = timeout

    @abstractmethod
    def fetch(self, cursor: Mapping[str, str]) -> FetchResult:
        """Given the stored cursor (empty at first), return the comments new since then."""

    @abstractmethod
    def hide(self, comment_id: str) -> None:
        """Hide a comment reversibly."""

    @abstractmethod
    def unhide(self, comment_id: str) -> None:
        """Make a hidden comment visible again."""

    @abstractmethod
    def delete(self, comment_id: str) -> None:
        """Delete a comment for good (only where a space's configuration allows it)."""

    def act_many(self, kind: str, comment_ids: Sequence[str]) -> list[ConnectorError | None]:
        """Carry out one action (``"hide"``, ``"unhide"`` or ``"delete"``) on several comments.

        Return one entry a comment, in order: None when done, else its error. After a
        RateLimited or an AuthError (both concern every later call) nothing more is tried: the
        comments after it get no entry, so the list may be shorter than ``comment_ids``. This
        one acts one comment at a time; a connector that can send several actions in one
        request (Graph batch requests) overrides it.
        """
        if kind not in ACTIONS:
            raise ValueError(f"unknown action {kind!r}")
        results: list[ConnectorError | None] = []
        for comment_id in comment_ids:
            try:
                getattr(self, kind)(comment_id)
            except ConnectorError as error:
                results.append(error)
                if isinstance(error, RateLimited | AuthError):
                    break
                continue
            results.append(None)
        return results

    @abstractmethod
    def state(self, comment_id: str) -> RemoteState:
        """Return what the platform shows of one comment now (used to reconcile after a crash)."""

    @abstractmethod
    def check(self) -> CheckResult:
        """Check the credentials and permissions (``vigie check --online``)."""

    def last_usage(self) -> Usage | None:
        """Return the usage the platform reported on the last call, if it reports any."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release network resources."""


def parse_seen(value: str | None) -> dict[str, int]:
    """Given a cursor's ``seen`` (``id@epoch,...``), return {comment id: epoch seconds}."""
    seen: dict[str, int] = {}
    for entry in (value or "").split(","):
        cid, _sep, epoch = entry.rpartition("@")
        if cid and epoch.isdigit():
            seen[cid] = int(epoch)
    return seen
