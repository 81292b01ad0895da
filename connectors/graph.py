"""What the Facebook and Instagram connectors share: the Graph API through facebook-sdk.

:class:`GraphClient` wraps ``facebook.GraphAPI``: it sets the Graph version explicitly (the SDK's
constructor only accepts versions up to 3.1), points the SDK's session at ``api_base_url`` with a
transport adapter (no module global is patched), reads the usage headers of every response
through a response hook, sends batch requests, follows cursor paging, and maps every Graph error
onto :mod:`connectors.errors`:

    190, 102, 104, 463, 467, 10, 200-299  -> AuthError    (token expired, revoked, no permission)
    4, 17, 32, 613, 80001-80008, HTTP 429 -> RateLimited  (retry_at from the usage headers)
    1, 2, HTTP 5xx, timeouts, connection   -> Unreachable
    1 "Please reduce the amount of data"   -> TooMuchData (an Unreachable: see with_smaller_pages)
    100 and other refusals of one call     -> Refused      (e.g. hiding the Page's own comment)
    anything unparsable                    -> BadPayload
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import facebook
import requests

from connectors.base import ACTIONS, CheckResult, FetchResult, Usage, utcnow
from connectors.errors import (
    AuthError,
    BadPayload,
    ConnectorError,
    RateLimited,
    Refused,
    TooMuchData,
    Unreachable,
)
from connectors.http import session_for
from watcher.i18n import translator

log = logging.getLogger(__name__)
_ = translator("graph", Path(__file__).parent / "locale")

GRAPH_URL = facebook.FACEBOOK_GRAPH_URL  # https://graph.facebook.com/
DEFAULT_GRAPH_VERSION = "v25.0"
GRAPH_VERSION_PATTERN = r"^v\d{1,2}\.\d{1,2}$"
MAX_BATCH = 50
AUTH_CODES = {190, 102, 104, 10}
AUTH_SUBCODES = {463, 467, 460, 458, 459, 464}
RATE_LIMIT_CODES = {4, 17, 32, 613} | set(range(80001, 80009))
TRANSIENT_CODES = {1, 2}



def parse_time(value: Any) -> dt.datetime:
    """Given a Graph time (``2021-08-10T18:45:03+0000``), return an aware UTC datetime.

    Raise BadPayload if it cannot be parsed.
    """
    if not isinstance(value, str):
        raise BadPayload(_("The platform sent a time that is not text."))
    text = value.strip()
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload(_("The platform sent a time that cannot be read: {value}.").format(
            value=repr(value[:40]))) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def usage_from_headers(headers: Mapping[str, str], now: dt.datetime) -> Usage | None:
    """Given response headers, return the Usage they report (None when there is none).

    ``ratio`` is the highest of the ``call_count``, ``total_cputime`` and ``total_time``
    percentages in ``X-App-Usage`` and every ``X-Business-Use-Case-Usage`` entry; ``reset_at``
    is now plus the largest ``estimated_time_to_regain_access`` (minutes) when one is given.
    """
    detail: dict[str, Any] = {}
    ratios: list[float] = []
    regain_minutes = 0
    app = _json_header(headers, "x-app-usage")
    if isinstance(app, dict):
        detail["app"] = app
        ratios.extend(_percentages(app))
    buc = _json_header(headers, "x-business-use-case-usage")
    if isinstance(buc, dict):
        detail["business_use_case"] = buc
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    ratios.extend(_percentages(entry))
                    regain = entry.get("estimated_time_to_regain_access")
                    if isinstance(regain, int | float) and regain > regain_minutes:
                        regain_minutes = int(regain)
    if not detail:
        return None
    reset_at = now + dt.timedelta(minutes=regain_minutes) if regain_minutes else None
    return Usage(ratio=max(ratios) / 100 if ratios else None, reset_at=reset_at, detail=detail)


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    for key, value in headers.items():
        if key.lower() == name:
            try:
                return json.loads(value)
            except ValueError:
                log.debug("unparsable %s header: %r", name, value[:200])
                return None
    return None


def _percentages(entry: Mapping[str, Any]) -> list[float]:
    return [
        float(entry[k]) for k in ("call_count", "total_cputime", "total_time")
        if isinstance(entry.get(k), int | float)
    ]


def map_error(
    body: Any,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> ConnectorError:
    """Given a Graph error body (``{"error": {...}}``) and its HTTP status, return the error."""
    now = now or utcnow()
    headers = headers or {}
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        if status == 429:
            return RateLimited(_("The platform asks us to slow down."),
                               retry_at=_retry_after(headers, now), code=429)
        if status is not None and status >= 500:
            return Unreachable(_("The platform answered with a server error (HTTP {status}).")
                               .format(status=status), code=status)
        return BadPayload(_("The platform answered something that cannot be read."),
                          code=status)
    code = error.get("code")
    subcode = error.get("error_subcode")
    message = str(error.get("message", ""))[:300]
    if status == 429 or code in RATE_LIMIT_CODES:
        usage = usage_from_headers(headers, now)
        retry_at = usage.reset_at if usage and usage.reset_at else _retry_after(headers, now)
        return RateLimited(
            _("The platform's rate limit is reached (Graph error {code}): {message}").format(
                code=code, message=message), retry_at=retry_at, code=code)
    if code in AUTH_CODES or subcode in AUTH_SUBCODES or (
        isinstance(code, int) and 200 <= code <= 299
    ):
        return AuthError(
            _("The access token is expired, revoked or lacks a permission (Graph error "
              "{code}): {message}").format(code=code, message=message), code=code)
    if code == 1 and "reduce the amount of data" in message.lower():
        return TooMuchData(_("The platform finds the answer asked for too large (Graph error "
                             "1): {message}").format(message=message), code=code)
    if code in TRANSIENT_CODES or (status is not None and status >= 500):
        return Unreachable(_("The platform has a temporary problem (Graph error {code}): "
                             "{message}").format(code=code, message=message), code=code)
    refused = Refused(_("The platform refuses this request (Graph error {code}): {message}")
                      .format(code=code, message=message), code=code)
    refused.subcode = subcode  # type: ignore[attr-defined]
    return refused


def _retry_after(headers: Mapping[str, str], now: dt.datetime) -> dt.datetime | None:
    for key, value in headers.items():
        if key.lower() == "retry-after" and str(value).strip().isdigit():
            return now + dt.timedelta(seconds=int(value))
    return None


@dataclass
class _LastResponse:
    status: int | None = None
    headers: Mapping[str, str] | None = None


class GraphClient:
    """facebook-sdk's GraphAPI, pointed at ``base_url``, with usage tracking and error mapping."""

    def __init__(
        self,
        token: str,
        *,
        version: str,
        base_url: str,
        timeout: float,
        app_secret: str | None = None,
    ) -> None:
        self.session = session_for(GRAPH_URL, base_url)
        self.session.hooks["response"].append(self._on_response)
        # facebook-sdk 3.1 accepts only versions up to 3.1 in its constructor: build it with
        # its default, then set the version we want explicitly.
        self.api = facebook.GraphAPI(access_token=token, timeout=timeout, session=self.session)
        self.api.version = version
        self.version = version
        self.token = token
        self.proof = (
            hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if app_secret else None
        )
        self.calls = 0
        self.usage: Usage | None = None
        self._local = threading.local()

    # --- plumbing ----------------------------------------------------------------------

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        self._local.last = _LastResponse(response.status_code, dict(response.headers))
        usage = usage_from_headers(response.headers, utcnow())
        if usage is not None:
            self.usage = usage

    def _last(self) -> _LastResponse:
        return getattr(self._local, "last", None) or _LastResponse()

    def request(
        self,
        path: str,
        args: dict[str, Any] | None = None,
        *,
        method: str = "GET",
        post_args: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request to ``/{version}/{path}``; return its JSON. Raise ConnectorError."""
        path = path.lstrip("/")
        full = path if re.match(r"v\d{1,2}\.\d{1,2}/", path) else f"{self.version}/{path}"
        args = dict(args or {})
        if post_args is not None:
            post_args = dict(post_args)
            if self.proof:
                post_args["appsecret_proof"] = self.proof
        elif self.proof:
            args["appsecret_proof"] = self.proof
        self._local.last = _LastResponse()
        try:
            return self.api.request(full, args, post_args=post_args, method=method)
        except facebook.GraphAPIError as error:
            last = self._last()
            raise map_error(error.result, status=last.status, headers=last.headers) from None
        except requests.Timeout:
            raise Unreachable(_("The platform did not answer in time.")) from None
        except requests.ConnectionError:
            raise Unreachable(_("The platform cannot be reached (connection failed).")) from None
        except requests.RequestException as error:
            raise Unreachable(_("The request to the platform failed: {reason}").format(
                reason=error.__class__.__name__)) from None
        except (KeyError, ValueError):
            last = self._last()
            if last.status is not None and last.status >= 500:
                raise Unreachable(_("The platform answered with a server error (HTTP "
                                    "{status}).").format(status=last.status)) from None
            raise BadPayload(_("The platform answered something that cannot be read.")) from None

    def follow(self, next_url: str) -> Any:
        """Fetch a ``paging.next`` URL through the SDK (its access token is our own)."""
        parts = urlsplit(next_url)
        args = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if k not in ("access_token", "appsecret_proof")}
        return self.request(parts.path.lstrip("/"), args)

    def batch(self, requests_: Sequence[Mapping[str, Any]]) -> list[tuple[int, Any]]:
        """Send up to 50 requests in one call; return (status, body) for each, in order.

        Each request is ``{"method": "GET", "relative_url": "..."}`` (and ``"body"`` for POST).
        An item that failed has its error body; a ``null`` item (timed out inside the batch)
        becomes status 0.
        """
        if len(requests_) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} requests in a batch")
        answer = self.request(
            "", post_args={"batch": json.dumps(list(requests_)), "include_headers": "false"}
        )
        if not isinstance(answer, list) or len(answer) != len(requests_):
            raise BadPayload(_("The platform answered a batch request with something that "
                               "cannot be read."))
        results: list[tuple[int, Any]] = []
        for item in answer:
            if item is None:
                results.append((0, None))
                continue
            try:
                body = json.loads(item.get("body") or "null")
                results.append((int(item.get("code", 0)), body))
            except (AttributeError, TypeError, ValueError):
                raise BadPayload(_("The platform answered a batch request with something "
                                   "that cannot be read.")) from None
        return results

    def batches(self, requests_: Sequence[Mapping[str, Any]]) -> Iterator[tuple[int, Any]]:
        """Send any number of requests, 50 a call; yield (status, body) in order."""
        for start in range(0, len(requests_), MAX_BATCH):
            yield from self.batch(requests_[start:start + MAX_BATCH])

    def relative(self, path: str, args: Mapping[str, Any]) -> str:
        """Return the relative URL of a batch item."""
        return f"{self.version}/{path}?{urlencode(dict(args))}"

    def close(self) -> None:
        self.session.close()

    # --- shared operations -------------------------------------------------------------

    def check_token(self, required: Sequence[str], expected_id: str,
                    id_path: str, id_fields: str) -> CheckResult:
        """Check validity, expiry and permissions of the token, and that it reaches the space."""
        try:
            info = self.request("debug_token", {"input_token": self.token}).get("data", {})
        except AuthError as error:
            return CheckResult(ok=False, message=error.message)
        if not isinstance(info, dict):
            raise BadPayload(_("The platform answered something that cannot be read."))
        expires_at = None
        if isinstance(info.get("expires_at"), int) and info["expires_at"] > 0:
            expires_at = dt.datetime.fromtimestamp(info["expires_at"], dt.UTC)
        if not info.get("is_valid", False):
            return CheckResult(ok=False, message=_("The access token is not valid (expired or "
                                                   "revoked)."), token_expires_at=expires_at)
        scopes = set(info.get("scopes") or [])
        missing = tuple(p for p in required if p not in scopes)
        if missing:
            return CheckResult(
                ok=False,
                message=_("The access token lacks these permissions: {names}.").format(
                    names=", ".join(missing)),
                token_expires_at=expires_at,
                missing_permissions=missing,
            )
        try:
            node = self.request(id_path, {"fields": id_fields})
        except AuthError as error:
            return CheckResult(ok=False, message=error.message, token_expires_at=expires_at)
        if str(node.get("id")) != expected_id:
            return CheckResult(
                ok=False,
                message=_("The access token is for {found}, not for {expected}.").format(
                    found=node.get("id"), expected=expected_id),
                token_expires_at=expires_at,
            )
        name = node.get("name") or node.get("username") or expected_id
        if expires_at is None:
            message = _("Token valid, without expiry, for {name}.").format(name=name)
        else:
            message = _("Token valid until {when}, for {name}.").format(
                when=expires_at.strftime("%Y-%m-%d %H:%M UTC"), name=name)
        return CheckResult(ok=True, message=message, token_expires_at=expires_at)


def is_missing_object(status: int, body: Any) -> bool:
    """True when a Graph error says the object does not exist (error 100, subcode 33)."""
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and error.get("code") == 100 and error.get(
        "error_subcode") == 33


def is_gone(error: ConnectorError) -> bool:
    """True when a mapped error says the object does not exist (any more)."""
    return error.code == 100 and getattr(error, "subcode", None) == 33


def ensure_success(answer: Any) -> None:
    """Raise BadPayload unless a write answered ``{"success": true}``."""
    if not (isinstance(answer, dict) and answer.get("success") is True):
        raise BadPayload(_("The platform did not confirm the change."))


def render_seen(old: Mapping[str, int], found: Iterable[Any], keep_from: dt.datetime) -> str:
    """Return the ``seen`` of the next cursor: every id known to be newer than ``keep_from``."""
    limit = int(keep_from.timestamp())
    merged = {cid: epoch for cid, epoch in old.items() if epoch >= limit}
    for comment in found:
        epoch = int(comment.created_time.timestamp())
        if epoch >= limit:
            merged[comment.platform_id] = epoch
    return ",".join(f"{cid}@{epoch}" for cid, epoch in sorted(merged.items()))


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b) if a else 0


# A poll that Graph found too large asks for smaller pages, and keeps asking for them this long
# before it tries the configured sizes again.
SMALLER_PAGES_FOR = dt.timedelta(hours=24)


def with_smaller_pages(
    fetch: Callable[[tuple[int, ...]], FetchResult],
    sizes: tuple[int, ...],
    cursor: Mapping[str, str],
    *,
    client: GraphClient,
    what: str,
    now: dt.datetime,
) -> FetchResult:
    """Run one poll, ``fetch(sizes)``, asking for fewer items a page when Graph finds an answer
    too large (error 1, "Please reduce the amount of data you're asking for").

    ``sizes`` are the configured page sizes (items a page, nested items a parent...). On
    :class:`TooMuchData` every size is halved (never below 1) and the poll starts again; the
    smaller sizes go in the cursor (``page_sizes``, ``page_sizes_until``) so that the next polls
    do not pay the refused call again, until ``SMALLER_PAGES_FOR`` has passed. When every size
    is 1 already, the error goes up like any other server error. The result's ``calls`` count
    the refused calls too.
    """
    calls_before = client.calls
    until = _parse_until(cursor.get("page_sizes_until"))
    current = sizes
    if until is not None and until > now:
        current = _parse_sizes(cursor.get("page_sizes"), sizes) or sizes
    else:
        until = None
    while True:
        try:
            result = fetch(current)
        except TooMuchData:
            smaller = tuple(max(1, size // 2) for size in current)
            if smaller == current:
                raise
            log.warning("%s: Graph finds its answer too large; asking for smaller pages "
                        "(%s instead of %s) for the next %d hours", what,
                        "/".join(map(str, smaller)), "/".join(map(str, current)),
                        SMALLER_PAGES_FOR.total_seconds() // 3600)
            current, until = smaller, now + SMALLER_PAGES_FOR
            continue
        if current != sizes and until is not None:
            result.cursor["page_sizes"] = ",".join(map(str, current))
            result.cursor["page_sizes_until"] = until.isoformat()
        return replace(result, calls=client.calls - calls_before)


def _parse_until(text: str | None) -> dt.datetime | None:
    try:
        return parse_time(text) if text else None
    except (ValueError, BadPayload):
        return None


def _parse_sizes(text: str | None, limits: tuple[int, ...]) -> tuple[int, ...] | None:
    """Given a cursor's ``page_sizes``, return them when they fit the configured ones."""
    try:
        sizes = tuple(int(part) for part in (text or "").split(","))
    except ValueError:
        return None
    if len(sizes) != len(limits) or any(not 1 <= s <= limit for s, limit in zip(sizes, limits, strict=True)):
        return None
    return sizes


def act_in_batches(client: GraphClient, kind: str, comment_ids: Sequence[str],
                   hide_field: str) -> list[ConnectorError | None]:
    """Hide, unhide or delete several comments, 50 to a batch request; return what
    :meth:`connectors.base.Connector.act_many` returns. ``hide_field`` is the platform's
    write field (Facebook ``is_hidden``, Instagram ``hide``).

    A batch that fails as a whole gives its error to each of its comments; after a batch that
    met a RateLimited or an AuthError (as a whole or in one of its requests) no other batch is
    sent.
    """
    if kind not in ACTIONS:
        raise ValueError(f"unknown action {kind!r}")

    def item(comment_id: str) -> dict[str, str]:
        url = f"{client.version}/{comment_id}"
        if kind == "delete":
            return {"method": "DELETE", "relative_url": url}
        return {"method": "POST", "relative_url": url,
                "body": f"{hide_field}={'true' if kind == 'hide' else 'false'}"}

    results: list[ConnectorError | None] = []
    for start in range(0, len(comment_ids), MAX_BATCH):
        chunk = comment_ids[start:start + MAX_BATCH]
        try:
            answers = client.batch([item(comment_id) for comment_id in chunk])
        except ConnectorError as error:
            if isinstance(error, RateLimited | AuthError):
                results.append(error)
                return results
            results.extend([error] * len(chunk))
            continue
        stop = False
        for status, body in answers:
            error: ConnectorError | None = None
            if status == 0:
                error = map_error(None, status=503)
            elif status != 200:
                error = map_error(body, status=status)
            else:
                try:
                    ensure_success(body)
                except ConnectorError as failed:
                    error = failed
            results.append(error)
            stop = stop or isinstance(error, RateLimited | AuthError)
        if stop:
            return results
    return results
