"""Platform errors, mapped from each platform's own codes onto one small tree.

    ConnectorError              any failure talking to a platform
    ├── AuthError               token expired or revoked: the space is unhealthy, people are told
    ├── RateLimited             the platform asks us to wait: back off until ``retry_at``
    ├── Unreachable             network error, timeout or 5xx: retry with backoff
    │   └── TooMuchData         the answer asked for is too large: ask again for less
    ├── Refused                 the platform refuses this one action: record it, do not retry
    └── BadPayload              the platform answered something we cannot parse

Messages are one human sentence and never contain a token.
"""

from __future__ import annotations

import datetime as dt


class ConnectorError(Exception):
    """Any failure talking to a platform."""

    retryable = True

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class AuthError(ConnectorError):
    """The token is expired, revoked or lacks a permission."""

    retryable = False


class RateLimited(ConnectorError):
    """The platform asks us to wait until ``retry_at`` (UTC)."""

    def __init__(
        self, message: str, *, retry_at: dt.datetime | None = None, code: str | int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_at = retry_at


class Unreachable(ConnectorError):
    """Network error, timeout or server error: try again later."""


class TooMuchData(Unreachable):
    """The platform refuses to build an answer this large (Graph error 1, "Please reduce the
    amount of data you're asking for"): the same request asking for fewer items a page may
    pass. Anywhere it is not handled, it is a server error like any other."""


class Refused(ConnectorError):
    """The platform refuses this action (for example a comment by the Page itself)."""

    retryable = False


class BadPayload(ConnectorError):
    """The platform answered something that cannot be parsed."""
