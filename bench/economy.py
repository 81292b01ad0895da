"""(3) API economy: platform calls per poll cycle as the posts with new comments grow.

For each platform whose connector is installed, one space per size P: a first poll (the
cursor), then one new comment on each of P recent posts, then one measured poll
(``pipeline.poll_space``, in this process, over real HTTP to the sandbox). Counted from the
sandbox's call log: HTTP requests, and requests counted against the platform's limits (a Graph
batch of 50 is one HTTP request but 50 calls against the Page's quota).

From the measured calls per cycle and each platform's documented limits: how many spaces one
instance can watch at a 5-minute interval.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
from pathlib import Path
from typing import Any

import requests

from bench.common import TOKEN, TOKEN_ENV, Row, Settings, config_text, space_block
from connectors import registry
from connectors.sandbox.server import SandboxServer

CYCLES_PER_DAY_AT_5_MIN = 24 * 60 // 5  # 288

# Documented limits (read 2026-11 from the platforms' pages; see docs/performance.md):
DOCUMENTED = {
    "facebook": {
        "limit": "Pages API with a Page token: Business Use Case limit, 4800 calls × engaged "
                 "users per Page per 24 h (each call inside a batch counts)",
        "per_space_per_day": 4800,  # with 1 engaged user, the smallest Page
        "shared_per_day": None,  # the quota is the Page's own: spaces do not share it
    },
    "instagram": {
        "limit": "Instagram Graph API: Business Use Case limit, 4800 calls × impressions per "
                 "account per 24 h (each call inside a batch counts)",
        "per_space_per_day": 4800,  # with 1 impression, the smallest account
        "shared_per_day": None,
    },
    "x": {
        "limit": "X API v2, per user (each space is its own account) and 15-minute window: "
                 "300 recent searches, 900 user-timeline reads (docs.x.com 'Rate limits'; "
                 "the monthly read cap of the paid plan is not modelled)",
        "per_space_per_day": 300 * 4 * 24,  # the recent-search window binds first
        "shared_per_day": None,
    },
    "youtube": {
        "limit": "YouTube Data API v3: 10,000 quota units per project per day, shared by every "
                 "channel; a list call costs 1 unit, setModerationStatus 50",
        "per_space_per_day": None,
        "shared_per_day": 10_000,
    },
}


def _platforms() -> list[str]:
    """The platforms whose connector module is installed (X and YouTube land later)."""
    return [kind for kind, module in registry.MODULES.items()
            if importlib.util.find_spec(module) is not None]


def _space_id(platform: str, size: int) -> str:
    base = {"facebook": 104865371000000, "instagram": 17841400000000000,
            "youtube": 0, "x": 1500000000000000000}[platform]
    if platform == "youtube":
        return f"UCbenchChannel{size:010d}"
    return str(base + size)


def _counted(server: SandboxServer, platform: str, space: str) -> int | None:
    """What the sandbox counted against the platform's limit so far: Graph calls of the space
    (each request of a batch), YouTube quota units of the project; None for the others."""
    with server.state.locked() as st:
        if platform == "youtube":
            book = st.counters.get("youtube") or {}
            return sum((book.get("used") or {}).values())
        calls = st.counters.get(f"graph_space_calls:{platform}:{space}")
        return len(calls) if calls is not None else None


def measure(platform: str, sizes: tuple[int, ...], workdir: Path) -> list[dict[str, Any]]:
    """Poll once per size after P posts got a comment; return one dict per size."""
    from watcher.config import parse_config
    from watcher.pipeline import poll_space
    from watcher.runtime import Runtime
    from watcher.store.db import open_store

    out = []
    with SandboxServer() as server:
        requests.post(f"{server.url}/_sandbox/graph/limits",
                      json={"app_per_hour": 10_000_000, "space_per_day": 10_000_000},
                      timeout=10).raise_for_status()
        if platform == "youtube":
            requests.post(f"{server.url}/_sandbox/youtube/quota", json={"limit": 10_000_000},
                          timeout=10).raise_for_status()
        blocks = []
        environ = {TOKEN_ENV: TOKEN}
        now = server.state.now()
        for size in sizes:
            space = _space_id(platform, size)
            server.state.ensure_space(platform, space, f"Banc {platform} {size}")
            for n in range(size):
                server.state.add_post(platform, space, f"Publication {n}",
                                      created_time=now - dt.timedelta(minutes=size - n + 5))
            secrets = None
            if platform == "youtube":  # the sandbox knows a channel by its token ya29.<id>
                environ[f"VIGIE_BENCH_YT_{size}"] = f"ya29.{space}"
                secrets = f'{{ access_token = "env:VIGIE_BENCH_YT_{size}" }}'
            blocks.append(space_block(f"{platform}-{size}", space, server.url,
                                      platform=platform, secrets=secrets))
        state_dir = workdir / f"economy-{platform}"
        state_dir.mkdir(exist_ok=True)
        db = state_dir / "vigie.db"
        config = parse_config(config_text(state_dir, blocks,
                                          database_url=f"sqlite:///{db}"))
        runtime = Runtime.open(config, store=open_store(config.database_url), environ=environ)
        try:
            for size in sizes:
                space_id = f"{platform}-{size}"
                space = _space_id(platform, size)
                first = poll_space(runtime, space_id, force=True)  # sets the cursor
                if not first.ok:
                    raise RuntimeError(f"{platform}: first poll failed: {first.error}")
                posts = server.state.space_posts(platform, space)
                for n, post in enumerate(posts):
                    server.state.add_comment(platform, space, f"Merci pour l'info {n} !",
                                             post_id=post.id, author_name=f"Parent {n}")
                with server.state.locked() as st:
                    seq = st.calls[-1].seq if st.calls else 0
                counted_before = _counted(server, platform, space)
                outcome = poll_space(runtime, space_id, force=True)
                with server.state.locked() as st:
                    calls = [c for c in st.calls if c.seq > seq and c.space == space]
                counted_after = _counted(server, platform, space)
                out.append({
                    "platform": platform,
                    "posts": size,
                    "http_requests": len(calls),
                    "counted": (counted_after - (counted_before or 0)
                                if counted_after is not None else len(calls)),
                    "unit": "units" if platform == "youtube" else "counted",
                    "found": outcome.new_comments,
                    "posted": size,
                    "ok": outcome.ok,
                    "error": outcome.error,
                })
        finally:
            runtime.close()
    return out


def run(settings: Settings, workdir: Path) -> list[Row]:
    rows: list[Row] = []
    section = "3 API economy"
    for platform in _platforms():
        try:
            results = measure(platform, settings.economy_sizes, workdir)
        except Exception as error:  # one platform's failure must not hide the others
            rows.append(Row(section, f"{platform}: measurement failed", str(error)[:200],
                            status="miss"))
            continue
        for result in results:
            p = result["posts"]
            target = graph_target(platform, p)
            graph = platform in ("facebook", "instagram")
            complete = result["found"] == result["posted"]
            status = "info"
            if graph:
                status = "ok" if result["http_requests"] <= target and complete else "miss"
            rows.append(Row(
                section, f"{platform}: calls per cycle, P={p}",
                f"{result['http_requests']} HTTP / {result['counted']} {result['unit']}",
                "calls", f"≤ {target} HTTP" if graph else "",
                status,
                f"new comments found {result['found']}/{result['posted']}"
                + ("" if result["ok"] else f"; poll failed: {result['error']}"),
            ))
        rows.extend(capacity_rows(platform, results))
    return rows


def graph_target(platform: str, posts: int) -> int:
    """The HTTP calls a Graph poll may make when ``posts`` recent posts got a comment each:
    1 + ceil(P/50) (issue #8, section 3), for Facebook and Instagram alike."""
    return 1 + math.ceil(posts / 50)


def capacity_rows(platform: str, results: list[dict[str, Any]]) -> list[Row]:
    """Spaces one instance can watch at 5 min within the documented limits."""
    section = "3 API economy"
    doc = DOCUMENTED.get(platform)
    if doc is None or not results:
        return []
    quiet = min(results, key=lambda r: r["posts"])  # one post with new comments a cycle
    per_cycle = max(quiet["counted"], 1)
    per_day = per_cycle * CYCLES_PER_DAY_AT_5_MIN
    rows = []
    if doc["shared_per_day"]:
        spaces = doc["shared_per_day"] // per_day
        rows.append(Row(section, f"{platform}: max spaces at 5 min", spaces, "spaces",
                        note=f"{per_cycle} call(s)/cycle × 288 = {per_day}/day per space; "
                        f"{doc['limit']}"))
    else:
        budget = doc["per_space_per_day"] // CYCLES_PER_DAY_AT_5_MIN
        busiest_ok = max((r["posts"] for r in results if r["counted"] <= budget), default=0)
        rows.append(Row(
            section, f"{platform}: max spaces at 5 min", "not capped by the platform",
            note=f"quota is per space: {per_cycle} call(s)/cycle × 288 = {per_day}/day vs "
                 f"{doc['per_space_per_day']}/day ({doc['limit']}); a space stays within it "
                 f"up to ≤ {budget} counted calls a cycle (measured: P ≤ {busiest_ok} posts "
                 "with new comments every cycle); the instance's cap is the machine's (see 4)"))
    return rows
