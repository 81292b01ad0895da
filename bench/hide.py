"""(2) Time to hide: from a comment posted on the sandbox to its hidden state.

- **Polling**: the real daemon (``vigie run``, a child process) polls S Facebook spaces on the
  sandbox at ``--interval``; litigious comments are posted at random moments over a few
  intervals. From the sandbox's call log: the moment of the hide call, and the start of the
  cycle that hid the comment (that space's last ``/feed`` call before the hide). A comment waits
  at most one interval (plus jitter) for its cycle to start, so the figure is
  ``interval + overhead``, where the overhead (cycle start → hidden) is measured per comment.
  The target (issue #8: p99 of post → hidden ≤ interval + 2 s) is judged on the measured
  times; the bound ``interval + lateness p99 + overhead p99`` is shown beside it.
- **Webhook**: ``vigie webhook`` (a child process) receives, for each comment posted on the
  sandbox, the signed ``feed`` delivery Meta would send; measured from the post to the hide.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import socket
import time
from pathlib import Path
from typing import Any

import requests

from bench.common import (
    Row,
    Settings,
    config_text,
    hide_times,
    page_credentials,
    page_secrets,
    parse_at,
    percentile,
    space_block,
    texts_the_classifier_hides,
)
from bench.procs import VigieProcess, wait_for
from connectors.sandbox.server import SandboxServer

PAGE_BASE = 104865370000000
NO_LIMITS = {"app_per_hour": 10_000_000, "space_per_day": 10_000_000}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _calls(server: SandboxServer) -> list[Any]:
    with server.state.locked() as st:
        return list(st.calls)


def _feed_calls(server: SandboxServer) -> dict[str, list[float]]:
    """Space (page id) → sorted times of its ``/feed`` calls: the start of each poll cycle."""
    out: dict[str, list[float]] = {}
    for call in _calls(server):
        if call.method == "GET" and call.path.endswith("/feed") and call.space:
            out.setdefault(call.space, []).append(parse_at(call.at))
    for times in out.values():
        times.sort()
    return out


def _setup_spaces(server: SandboxServer, count: int) -> list[str]:
    requests.post(f"{server.url}/_sandbox/graph/limits", json=NO_LIMITS,
                  timeout=10).raise_for_status()
    pages = []
    for n in range(count):
        page = str(PAGE_BASE + n)
        server.state.ensure_space("facebook", page, f"École {n}")
        server.state.add_post("facebook", page, f"Publication de l'école {n}")
        pages.append(page)
    return pages


def run_polling(settings: Settings, workdir: Path) -> list[Row]:
    """Time to hide with polling by the daemon; rows for the table."""
    litigious, _harmless = texts_the_classifier_hides()
    interval = settings.interval
    rng = random.Random(8)  # noqa: S311 - reproducible spread, not security
    with SandboxServer() as server:
        pages = _setup_spaces(server, settings.hide_spaces)
        config_path = workdir / "hide-poll.toml"
        state_dir = workdir / "hide-poll-state"
        state_dir.mkdir(exist_ok=True)
        credentials = page_credentials(server.url, pages, workdir / "hide-poll-credentials")
        config_path.write_text(config_text(
            state_dir,
            [space_block(f"ecole-{n}", page, server.url, interval=interval,
                         secrets=page_secrets(page))
             for n, page in enumerate(pages)],
            interval=interval, jitter=0))
        with VigieProcess(config_path, "run", env=credentials) as daemon:
            # The first cycle of every space has run: a feed call per page.
            wait_for(lambda: daemon.check_alive() or len(_feed_calls(server)) >= len(pages),
                     timeout=120, what="the daemon's first cycles")
            span = max(2 * interval, settings.hide_comments * 0.02)
            moments = sorted(rng.uniform(0, span) for _ in range(settings.hide_comments))
            start = time.monotonic()
            start_wall = time.time()
            posted: dict[str, tuple[str, float]] = {}
            for moment in moments:
                delay = start + moment - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                page = rng.choice(pages)
                comment = server.state.add_comment(
                    "facebook", page, rng.choice(litigious),
                    author_name=f"Auteur {rng.randrange(10**6)}")
                posted[comment.id] = (page, time.time())
            ids = set(posted)
            try:
                wait_for(lambda: len(hide_times(server, ids)) >= len(ids),
                         timeout=interval + 120, step=0.5, what="every comment hidden")
            except TimeoutError:
                pass  # reported as comments not hidden
            daemon.check_alive()
        hidden = hide_times(server, ids)
        feeds = _feed_calls(server)
    to_hide: list[float] = []
    overhead: list[float] = []
    for comment_id, hide_at in hidden.items():
        page, posted_at = posted[comment_id]
        to_hide.append(hide_at - posted_at)
        starts = [t for t in feeds.get(page, []) if t <= hide_at]
        if starts:
            overhead.append(hide_at - starts[-1])
    cycles = sum(max(1, len([t for t in times if t >= start_wall])) for times in feeds.values())
    per_cycle = len(posted) / max(1, cycles)
    gaps = [b - a for times in feeds.values() for a, b in zip(times, times[1:], strict=False)]
    late = [g - interval for g in gaps]
    section = "2 time to hide (polling)"
    rows = [
        Row(section, "comments hidden / posted", f"{len(hidden)}/{len(posted)}",
            status="ok" if len(hidden) == len(posted) else "miss",
            note=f"{settings.hide_spaces} spaces, interval {interval} s, jitter 0"),
        Row(section, "overhead p50 (cycle start → hidden)", round(percentile(overhead, 50), 3),
            "s"),
        Row(section, "overhead p99 (cycle start → hidden)", round(percentile(overhead, 99), 3),
            "s", note=f"{per_cycle:.1f} litigious comments per space per cycle, hidden "
            "together in batch requests"),
        Row(section, "cycle start lateness p99 (gap − interval)",
            round(percentile(late, 99), 3) if late else "n/a", "s",
            note="scheduler delay beyond the interval"),
        Row(section, "bound = interval + lateness p99 + overhead p99",
            round(interval + max(0.0, percentile(late, 99) if late else 0.0)
                  + percentile(overhead, 99), 3), "s",
            note="pessimistic: the two p99s seldom fall on the same comment"),
        # The measure: from the post to the hidden state, p99 over every comment.
        Row(section, "time to hide p50 / p99 / max (post → hidden)",
            f"{percentile(to_hide, 50):.2f} / {percentile(to_hide, 99):.2f} / "
            f"{max(to_hide):.2f}" if to_hide else "n/a", "s", f"p99 ≤ {interval} + 2 s",
            "ok" if to_hide and len(hidden) == len(posted)
            and percentile(to_hide, 99) <= interval + 2 else "miss",
            note="posted at random moments: the wait for the next cycle is included"),
    ]
    return rows


# --- webhook ---------------------------------------------------------------------------------


def delivery(page: str, comment: Any) -> dict[str, Any]:
    """The Page ``feed`` delivery Meta sends for a new comment."""
    return {
        "object": "page",
        "entry": [{
            "id": page,
            "time": int(time.time()),
            "changes": [{
                "field": "feed",
                "value": {
                    "item": "comment",
                    "verb": "add",
                    "comment_id": comment.id,
                    "post_id": comment.post,
                    "parent_id": comment.post,
                    "message": comment.text,
                    "created_time": int(comment.created_time.timestamp()),
                    "from": {"id": comment.author_id, "name": comment.author_name},
                },
            }],
        }],
    }


def run_webhook(settings: Settings, workdir: Path) -> list[Row]:
    """Time to hide with signed webhook deliveries to ``vigie webhook``; rows for the table."""
    litigious, _harmless = texts_the_classifier_hides()
    rng = random.Random(9)  # noqa: S311
    secret = "bench-app-secret"  # noqa: S105 - a sandbox secret
    port = _free_port()
    with SandboxServer() as server:
        pages = _setup_spaces(server, settings.hide_spaces)
        config_path = workdir / "hide-webhook.toml"
        state_dir = workdir / "hide-webhook-state"
        state_dir.mkdir(exist_ok=True)
        config_path.write_text(config_text(
            state_dir,
            [space_block(f"ecole-{n}", page, server.url) for n, page in enumerate(pages)],
            extra=(f'[webhook]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
                   'app_secret = "env:VIGIE_BENCH_APP_SECRET"\n'
                   'verify_token = "env:VIGIE_BENCH_VERIFY"\n')))
        url = f"http://127.0.0.1:{port}/webhook"
        env = {"VIGIE_BENCH_APP_SECRET": secret, "VIGIE_BENCH_VERIFY": "bench-verify"}
        session = requests.Session()

        def listening() -> bool:
            hook.check_alive()
            try:
                return session.get(url, params={"hub.mode": "subscribe",
                                                "hub.verify_token": "bench-verify",
                                                "hub.challenge": "42"}, timeout=2).text == "42"
            except requests.ConnectionError:
                return False

        with VigieProcess(config_path, "webhook", env=env) as hook:
            wait_for(listening, timeout=60, what="vigie webhook to listen")
            posted: dict[str, float] = {}
            answers: list[float] = []
            for _n in range(settings.webhook_comments):
                page = rng.choice(pages)
                comment = server.state.add_comment(
                    "facebook", page, rng.choice(litigious),
                    author_name=f"Auteur {rng.randrange(10**6)}")
                posted[comment.id] = time.time()
                body = json.dumps(delivery(page, comment)).encode()
                signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                sent = time.perf_counter()
                response = session.post(url, data=body, timeout=30, headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": f"sha256={signature}"})
                answers.append(time.perf_counter() - sent)
                response.raise_for_status()
            ids = set(posted)
            try:
                wait_for(lambda: len(hide_times(server, ids)) >= len(ids), timeout=60,
                         step=0.2, what="every comment hidden")
            except TimeoutError:
                pass
        hidden = hide_times(server, ids)
    to_hide = [hidden[c] - posted[c] for c in hidden]
    section = "2 time to hide (webhook)"
    p99 = percentile(to_hide, 99) if to_hide else float("inf")
    return [
        Row(section, "comments hidden / delivered", f"{len(hidden)}/{len(posted)}",
            status="ok" if len(hidden) == len(posted) else "miss",
            note="one signed delivery per comment, sent one after the other"),
        Row(section, "time to hide p50", round(percentile(to_hide, 50), 3) if to_hide else "n/a",
            "s"),
        Row(section, "time to hide p99", round(p99, 3) if to_hide else "n/a", "s", "< 3 s",
            "ok" if p99 < 3 else "miss"),
        Row(section, "delivery answered p99", round(percentile(answers, 99), 3), "s",
            note="Meta wants an answer within 20 s"),
    ]
