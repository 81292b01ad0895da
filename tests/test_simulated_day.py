"""A simulated day: 40 spaces across the four platforms polled every 5 minutes.

The sandbox's clock and Vigie's move together by 5 minutes a round; 288 rounds make a day.
A quarter of the spaces fail all day in every way the platforms fail. The test checks that
no call goes past a documented limit, that every healthy space is polled on schedule, that
every litigious comment posted to a healthy space is hidden, and that the failing spaces are
recorded as such without holding the others back.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlmodel import col, func, select

from tests.support import calls, fault, make_config, make_runtime, post_comment, remote, space_toml
from watcher import pipeline
from watcher.store.models import PollRun, Space

ROUNDS = int(os.environ.get("VIGIE_SIM_ROUNDS", "288"))  # 24 h at a 5-minute interval
INTERVAL = dt.timedelta(minutes=5)
INSULT = "Mange de la marde, espèce d'idiot."
THANKS = "Merci à toute l'équipe pour la belle soirée de parents!"

ACCOUNT = {
    "facebook": lambda i: f"1000640000011{i:02d}",
    "instagram": lambda i: f"178414000000011{i:02d}",
    "x": lambda i: f"15000000000000011{i:02d}",
    "youtube": lambda i: f"UCsimulatedDayChannel0{i:02d}",
}
# Per platform, the ways the failing spaces fail (all day long).
FAILURES = {
    "facebook": [{"kind": "http500"}, {"kind": "error", "code": 190},
                 {"kind": "error", "code": 32}],
    "instagram": [{"kind": "timeout", "delay": 1.0}, {"kind": "error", "code": 190}],
    "x": [{"kind": "error", "code": 429}, {"kind": "error", "code": 401},
          {"kind": "http500"}],
    "youtube": [{"kind": "error", "code": "quotaExceeded"}, {"kind": "error", "code": "authError"}],
}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_day_of_forty_spaces(sandbox, tmp_path: Path) -> None:
    spaces: list[tuple[str, str, str]] = []  # (space id, platform, account)
    failing: dict[str, dict] = {}
    for platform, make_id in ACCOUNT.items():
        for i in range(10):
            spaces.append((f"{platform}-{i}", platform, make_id(i)))
        for i, spec in enumerate(FAILURES[platform]):
            failing[f"{platform}-{i}"] = spec
    assert len(spaces) == 40 and len(failing) == 10

    config = make_config(
        tmp_path,
        [
            space_toml(sid, sandbox.url, platform=platform, platform_id=account, interval=300,
                       extra=f"request_timeout = {0.5 if sid in failing else 10}")
            for sid, platform, account in spaces
        ],
    )
    runtime = make_runtime(config)
    now = dt.datetime.now(dt.UTC)
    runtime.clock = lambda: now
    by_id = {sid: (platform, account) for sid, platform, account in spaces}
    for _sid, platform, account in spaces:  # the accounts exist on their platforms
        requests.post(f"{sandbox.url}/_sandbox/spaces", json={"platform": platform, "id": account},
                      timeout=10).raise_for_status()
    for sid, spec in failing.items():
        platform, account = by_id[sid]
        fault(sandbox.url, platform=platform, space=account, count=1_000_000, **spec)

    pool = ThreadPoolExecutor(8)
    rng = random.Random(2026)
    healthy = [sid for sid, _p, _a in spaces if sid not in failing]
    posted_insults: list[tuple[str, str]] = []  # (space id, comment id)
    try:
        for _round in range(ROUNDS):
            for sid in rng.sample(healthy, 4):
                platform, account = by_id[sid]
                text = INSULT if rng.random() < 0.3 else THANKS
                comment_id = post_comment(sandbox.url, account, text, platform=platform,
                                          author_name=f"Parent {rng.randint(1, 500)}")
                if text == INSULT:
                    posted_insults.append((sid, comment_id))
            # As the daemon does: each space's job on a pool of worker threads.
            list(pool.map(lambda sid: pipeline.poll_space(runtime, sid), by_id))
            now += INTERVAL
            requests.post(f"{sandbox.url}/_sandbox/clock",
                          json={"advance_seconds": INTERVAL.total_seconds()},
                          timeout=10).raise_for_status()

        every_call = calls(sandbox.url)
        assert [c for c in every_call if c["over_limit"]] == []

        with runtime.store.session() as session:
            ok_polls = dict(
                session.exec(
                    select(PollRun.space_id, func.count())  # type: ignore[arg-type]
                    .where(col(PollRun.ok).is_(True))
                    .group_by(PollRun.space_id)
                ).all()
            )
            rows = {s.id: s for s in session.exec(select(Space))}
            errors = {
                (r.space_id, r.error_kind, (r.error or "")[:160])
                for r in session.exec(select(PollRun).where(col(PollRun.ok).is_(False)))
                if r.space_id in healthy
            }
        assert errors == set()
        for sid in healthy:
            assert ok_polls.get(sid) == ROUNDS, (sid, ok_polls.get(sid))
            assert rows[sid].health == "ok"
        for sid in failing:
            assert ok_polls.get(sid, 0) == 0
            assert rows[sid].last_error, sid
            assert rows[sid].health in ("degraded", "unhealthy"), sid
        assert posted_insults
        visible = [(sid, cid) for sid, cid in posted_insults
                   if not remote(sandbox.url, cid)["hidden"]]
        assert visible == []
    finally:
        pool.shutdown()
        runtime.close()
