"""Graph errors and usage headers mapped onto connectors.errors and Usage."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from connectors.errors import AuthError, BadPayload, RateLimited, Refused, Unreachable
from connectors.graph import map_error, parse_time, usage_from_headers

NOW = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)


def body(code: int, subcode: int | None = None) -> dict:
    error = {"message": f"(#{code}) message", "type": "OAuthException", "code": code,
             "fbtrace_id": "x"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@pytest.mark.parametrize(("payload", "status", "expected"), [
    (body(190), 400, AuthError),
    (body(190, 463), 400, AuthError),
    (body(190, 467), 400, AuthError),
    (body(102), 400, AuthError),
    (body(10), 403, AuthError),
    (body(200), 403, AuthError),
    (body(4), 403, RateLimited),
    (body(17), 403, RateLimited),
    (body(32), 403, RateLimited),
    (body(613), 403, RateLimited),
    (body(80001), 403, RateLimited),
    (body(80002), 403, RateLimited),
    (None, 429, RateLimited),
    (body(2), 500, Unreachable),
    ("Maintype was not text, image, or querystring", 502, Unreachable),
    (body(100, 33), 400, Refused),
    (body(100), 400, Refused),
    ("Maintype was not text, image, or querystring", 400, BadPayload),
    ({"unexpected": True}, 200, BadPayload),
])
def test_error_mapping(payload: object, status: int, expected: type) -> None:
    error = map_error(payload, status=status, now=NOW)
    assert type(error) is expected
    assert error.message


def test_retry_time_comes_from_the_business_use_case_header() -> None:
    headers = {"X-Business-Use-Case-Usage": json.dumps({"123": [{
        "type": "pages", "call_count": 100, "total_cputime": 40, "total_time": 30,
        "estimated_time_to_regain_access": 17}]})}
    error = map_error(body(80001), status=403, headers=headers, now=NOW)
    assert isinstance(error, RateLimited)
    assert error.retry_at == NOW + dt.timedelta(minutes=17)
    retry = map_error(None, status=429, headers={"Retry-After": "120"}, now=NOW)
    assert isinstance(retry, RateLimited) and retry.retry_at == NOW + dt.timedelta(minutes=2)


def test_usage_is_the_highest_percentage() -> None:
    usage = usage_from_headers({
        "x-app-usage": '{"call_count": 12, "total_cputime": 55, "total_time": 20}',
        "x-business-use-case-usage": '{"1": [{"type": "pages", "call_count": 70, '
        '"total_cputime": 3, "total_time": 4, "estimated_time_to_regain_access": 0}]}',
    }, NOW)
    assert usage is not None and usage.ratio == pytest.approx(0.70) and usage.reset_at is None
    assert usage_from_headers({"content-type": "application/json"}, NOW) is None
    assert usage_from_headers({"x-app-usage": "not json"}, NOW) is None


def test_graph_times() -> None:
    assert parse_time("2021-08-10T18:45:03+0000") == dt.datetime(2021, 8, 10, 18, 45, 3,
                                                                   tzinfo=dt.UTC)
    assert parse_time("2021-08-10T14:45:03-0400") == dt.datetime(2021, 8, 10, 18, 45, 3,
                                                                   tzinfo=dt.UTC)
    for bad in ("yesterday", 12, None):
        with pytest.raises(BadPayload):
            parse_time(bad)
