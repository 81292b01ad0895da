"""Platform-shaped ids for sandbox content (the shapes the real platforms use)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

X_EPOCH_MS = 1_288_834_974_657  # X ids are snowflakes: (ms since this epoch) << 22 | sequence


def snowflake(when: dt.datetime | None, number: int) -> str:
    """Return an X-shaped id that carries its creation time, as real X ids do."""
    if when is None:
        return str(1_700_000_000_000_000_000 + number * 1000)
    millis = int(when.timestamp() * 1000) - X_EPOCH_MS
    return str((millis << 22) | (number & 0x3FFFFF))


def _digits(seed: str, length: int) -> str:
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()
    return str(int(digest, 16))[:length]


def post_id(platform: str, space_id: str, number: int, when: dt.datetime | None = None) -> str:
    if platform == "facebook":
        return f"{space_id}_{100000000000 + number}"  # {page-id}_{post-id}
    if platform == "instagram":
        return str(17_900_000_000_000_000 + number)
    if platform == "x":
        return snowflake(when, number)
    # YouTube video ids: 11 characters of base64url
    return base64.urlsafe_b64encode(hashlib.sha256(f"v{number}".encode()).digest())[:11].decode()


def comment_id(platform: str, post_id: str, number: int, when: dt.datetime | None = None) -> str:
    if platform == "facebook":
        return f"{post_id.split('_')[-1]}_{200000000000 + number}"  # {post-id}_{comment-id}
    if platform == "instagram":
        return str(17_800_000_000_000_000 + number)
    if platform == "x":
        return snowflake(when, number)
    # YouTube comment ids: "Ugx" + base64url
    raw = hashlib.sha256(f"c{number}".encode()).digest()
    return "Ugx" + base64.urlsafe_b64encode(raw)[:23].decode()


def user_id(platform: str, name: str) -> str:
    if platform == "youtube":
        return "UC" + base64.urlsafe_b64encode(hashlib.sha256(name.encode()).digest())[:22].decode()
    return _digits(f"{platform}:{name}", 16)


def username(name: str) -> str:
    cleaned = "".join(ch for ch in name.lower() if ch.isalnum())
    return cleaned[:15] or "user"
