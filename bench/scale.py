"""(4) Scale on one machine: N spaces on the sandbox, comments arriving all the time, a burst.

The real daemon (``vigie run``, a child process, SQLite store) watches N Facebook spaces at
``--scale-interval`` (jitter 0, so that lateness is measurable). For ``--duration`` seconds a
load thread posts comments on random posts of random spaces at ``--rate`` comments per space
per minute (90 % harmless, 10 % litigious texts), ten times that rate during the middle fifth
of the run. Every 2 s the daemon's CPU time and RSS (psutil) and the backlog (comments on the
sandbox not yet stored, stored but not judged, actions waiting) are sampled.

Afterwards: every cycle's start (``poll_runs``) against its schedule, the drain time after the
load stops, CPU and memory, and the store's size per million comments on SQLite and, with the
same rows copied into a scratch database, on PostgreSQL — both extrapolated linearly from the
measured count.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from bench.common import (
    Row,
    ScratchPostgres,
    Settings,
    config_text,
    hide_times,
    page_credentials,
    page_secrets,
    percentile,
    postgres_available,
    space_block,
    store_size_bytes,
    texts_the_classifier_hides,
)
from bench.procs import VigieProcess, wait_for
from connectors.sandbox.server import SandboxServer

PAGE_BASE = 104865380000000
POSTS_PER_SPACE = 3
SAMPLE_EVERY = 2.0


class Load(threading.Thread):
    """Posts comments at a Poisson rate (comments per second), with a 10x burst window."""

    def __init__(self, server: SandboxServer, pages: list[str], rate: float, duration: float,
                 litigious: list[str], harmless: list[str]) -> None:
        super().__init__(daemon=True)
        self.server, self.pages, self.rate, self.duration = server, pages, rate, duration
        self.litigious, self.harmless = litigious, harmless
        self.burst = (0.4 * duration, 0.6 * duration)
        self.posted: dict[str, tuple[bool, float]] = {}  # id -> (litigious, posted at)
        self.rng = random.Random(4)  # noqa: S311 - reproducible load, not security
        self.behind = 0.0  # worst lag of the generator behind its own schedule

    def run(self) -> None:
        start = time.monotonic()
        due = 0.0
        while True:
            burst = self.burst[0] <= due < self.burst[1]
            due += self.rng.expovariate(self.rate * (10 if burst else 1))
            if due >= self.duration:
                return
            delay = start + due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                self.behind = max(self.behind, -delay)
            bad = self.rng.random() < 0.1
            page = self.rng.choice(self.pages)
            posts = self.server.state.space_posts("facebook", page)
            comment = self.server.state.add_comment(
                "facebook", page,
                self.rng.choice(self.litigious if bad else self.harmless),
                post_id=self.rng.choice(posts).id,
                author_name=f"Parent {self.rng.randrange(5000)}")
            self.posted[comment.id] = (bad, time.time())


def _store_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            "stored": connection.execute(sa.text("select count(*) from comments")).scalar_one(),
            "unjudged": connection.execute(sa.text(
                "select count(*) from comments where classified = 0")).scalar_one(),
            "actions_waiting": connection.execute(sa.text(
                "select count(*) from actions where state in ('requested', 'in_flight')"))
            .scalar_one(),
        }


def run(settings: Settings, workdir: Path) -> list[Row]:
    import psutil

    litigious, harmless = texts_the_classifier_hides()
    n_spaces = settings.scale_spaces
    interval = settings.scale_interval
    duration = settings.scale_duration
    rate = n_spaces * settings.scale_rate_per_space_per_min / 60  # comments per second
    section = "4 scale"
    with SandboxServer() as server:
        requests.post(f"{server.url}/_sandbox/graph/limits",
                      json={"app_per_hour": 10_000_000, "space_per_day": 10_000_000},
                      timeout=10).raise_for_status()
        pages = []
        for n in range(n_spaces):
            page = str(PAGE_BASE + n)
            server.state.ensure_space("facebook", page, f"École {n}")
            for k in range(POSTS_PER_SPACE):
                server.state.add_post("facebook", page, f"Publication {k} de l'école {n}")
            pages.append(page)
        state_dir = workdir / "state"
        state_dir.mkdir(exist_ok=True)
        db_path = state_dir / "vigie.db"
        config_path = workdir / "scale.toml"
        credentials = page_credentials(server.url, pages, workdir / "credentials")
        config_path.write_text(config_text(
            state_dir,
            [space_block(f"ecole-{n}", page, server.url, interval=interval,
                         secrets=page_secrets(page))
             for n, page in enumerate(pages)],
            database_url=f"sqlite:///{db_path}", interval=interval, jitter=0))
        samples: list[dict[str, Any]] = []
        with VigieProcess(config_path, "run", env=credentials) as daemon:
            proc = psutil.Process(daemon.pid)
            wait_for(lambda: daemon.check_alive() or db_path.exists(), 60, what="the store")
            engine = sa.create_engine(f"sqlite:///{db_path}")
            # Wait for every space's first cycle: the start-up stampede is not the steady state.
            wait_for(lambda: daemon.check_alive() or _polled_spaces(engine) >= n_spaces,
                     timeout=max(120, n_spaces * 0.5), step=0.5, what="first cycles")
            load = Load(server, pages, rate, duration, litigious, harmless)
            cpu0 = sum(proc.cpu_times()[:2])
            t0 = time.monotonic()
            load.start()
            last_cpu, last_t = cpu0, t0
            drained_at = None
            stop_at = t0 + duration + interval + 120
            while time.monotonic() < stop_at:
                time.sleep(SAMPLE_EVERY)
                daemon.check_alive()
                now = time.monotonic()
                cpu = sum(proc.cpu_times()[:2])
                counts = _store_counts(engine)
                posted = len(load.posted)
                samples.append({
                    "t": round(now - t0, 1),
                    "cpu_cores": round((cpu - last_cpu) / (now - last_t), 3),
                    "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                    "posted": posted,
                    "not_stored": posted - counts["stored"],
                    **counts,
                })
                last_cpu, last_t = cpu, now
                if not load.is_alive() and posted == counts["stored"] and \
                        counts["unjudged"] == 0 and counts["actions_waiting"] == 0:
                    drained_at = now
                    break
            cpu_total = sum(proc.cpu_times()[:2]) - cpu0
            wall = time.monotonic() - t0
            engine.dispose()
        runs = _poll_runs(db_path, since_wall=time.time() - wall)
        hidden_at = hide_times(server)
    settings.extra["scale_samples"] = samples
    bad = {cid: at for cid, (lit, at) in load.posted.items() if lit}
    to_hide = [hidden_at[c] - at for c, at in bad.items() if c in hidden_at]
    lateness = [g - interval for gaps in runs["gaps"].values() for g in gaps]
    on_time = sum(1 for x in lateness if x <= 2.0)
    stored_total = samples[-1]["stored"] if samples else 0
    burst_samples = [s for s in samples if load.burst[0] <= s["t"] <= load.burst[1] + interval]
    steady = [s for s in samples if s["t"] < load.burst[0]]
    drain = (drained_at - (t0 + duration)) if drained_at else None
    rows = [
        Row(section, "spaces × interval", f"{n_spaces} × {interval} s", note=(
            f"{duration:.0f} s of load at {settings.scale_rate_per_space_per_min}/space/min "
            f"({rate:.1f}/s), 10x burst from {load.burst[0]:.0f} to {load.burst[1]:.0f} s")),
        Row(section, "comments posted / stored", f"{len(load.posted)}/{stored_total}",
            status="ok" if stored_total >= len(load.posted) else "miss",
            note=f"load generator at most {load.behind:.2f} s behind schedule"),
        Row(section, "cycles run / failed", f"{runs['count']}/{runs['failed']}",
            status="ok" if runs["failed"] == 0 else "miss"),
        Row(section, "cycles on time (start ≤ schedule + 2 s)",
            f"{on_time}/{len(lateness)}" if lateness else "n/a",
            status="ok" if lateness and on_time == len(lateness) else
            ("info" if not lateness else "miss"),
            note="" if lateness else "run shorter than two intervals: no gap to measure"),
        Row(section, "cycle start lateness p50 / p99 / max",
            f"{percentile(lateness, 50):.2f} / {percentile(lateness, 99):.2f} / "
            f"{max(lateness):.2f}" if lateness else "n/a", "s"),
        Row(section, "cycle duration p50 / p99",
            f"{percentile(runs['durations'], 50):.3f} / {percentile(runs['durations'], 99):.3f}"
            if runs["durations"] else "n/a", "s"),
        Row(section, "backlog: max not stored, steady / burst",
            f"{max((s['not_stored'] for s in steady), default=0)} / "
            f"{max((s['not_stored'] for s in burst_samples), default=0)}", "comments",
            note="comments waiting for their space's next cycle (at most one interval's worth)"),
        Row(section, "backlog: max stored but not judged", max(
            (s["unjudged"] for s in samples), default=0), "comments", "0 between cycles"),
        Row(section, "drain after the load stops", round(drain, 1) if drain is not None
            else "not drained", "s", f"≤ {interval} s + overhead",
            "ok" if drain is not None and drain <= interval + 10 else "miss",
            note="no backlog left: every comment stored, judged and acted on"),
        Row(section, "daemon CPU, average", round(cpu_total / wall, 3), "cores",
            note=f"{cpu_total:.1f} CPU s over {wall:.0f} s; "
                 f"{1000 * cpu_total / max(stored_total, 1):.1f} CPU ms per comment"),
        Row(section, "daemon CPU, peak 2-s sample",
            max((s["cpu_cores"] for s in samples), default=0), "cores"),
        Row(section, "daemon RSS, max", max((s["rss_mb"] for s in samples), default=0), "MiB"),
        Row(section, "time to hide under load p50 / p99",
            f"{percentile(to_hide, 50):.1f} / {percentile(to_hide, 99):.1f}" if to_hide
            else "n/a", "s", note=f"{len(to_hide)}/{len(bad)} litigious comments hidden"),
    ]
    rows.extend(_sizes(settings, db_path, stored_total, workdir))
    return rows


def _polled_spaces(engine: sa.Engine) -> int:
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(
                "select count(distinct space_id) from poll_runs where finished_at is not null"
            )).scalar_one()
    except sa.exc.OperationalError:
        return 0


def _poll_runs(db_path: Path, since_wall: float) -> dict[str, Any]:
    """Cycles of the measured period: count, failures, durations, gaps between starts."""
    from watcher.store.db import Store
    from watcher.store.models import PollRun

    store = Store(f"sqlite:///{db_path}")
    gaps: dict[str, list[float]] = {}
    durations: list[float] = []
    count = failed = 0
    with store.session() as session:
        rows = session.execute(sa.select(PollRun).order_by(PollRun.space_id,
                                                           PollRun.started_at)).scalars()
        last: dict[str, float] = {}
        for run in rows:
            started = run.started_at.timestamp()
            if run.space_id in last:
                if started >= since_wall:
                    gaps.setdefault(run.space_id, []).append(started - last[run.space_id])
            last[run.space_id] = started
            if started < since_wall:
                continue
            count += 1
            failed += 0 if run.ok else 1
            if run.finished_at:
                durations.append(run.finished_at.timestamp() - started)
    store.dispose()
    return {"count": count, "failed": failed, "durations": durations, "gaps": gaps}


def _sizes(settings: Settings, db_path: Path, comments: int, workdir: Path) -> list[Row]:
    """Store size per million comments on SQLite and (same rows) on PostgreSQL."""
    from watcher.store.db import Store, open_store

    section = "4 scale"
    if comments == 0:
        return []
    empty = open_store(f"sqlite:///{workdir / 'empty.db'}")
    sqlite_empty = store_size_bytes(empty)
    empty.dispose()
    sqlite_store = Store(f"sqlite:///{db_path}")
    sqlite_bytes = store_size_bytes(sqlite_store) - sqlite_empty
    rows = [Row(section, "store size per million comments, SQLite",
                round(sqlite_bytes / comments * 1e6 / 2**30, 2), "GiB",
                note=f"extrapolated from {sqlite_bytes / 2**20:.1f} MiB for {comments} comments "
                     "(with their verdicts, actions, audit events, poll runs; the empty "
                     "schema's size left out)")]
    if postgres_available(settings.postgres_url):
        assert settings.postgres_url
        with ScratchPostgres(settings.postgres_url, "scale") as scratch:
            pg = open_store(scratch.url)
            pg_empty = store_size_bytes(pg)
            copy_rows(sqlite_store, pg)
            with pg.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE")
            pg_bytes = store_size_bytes(pg) - pg_empty
            pg.dispose()
        rows.append(Row(section, "store size per million comments, PostgreSQL",
                        round(pg_bytes / comments * 1e6 / 2**30, 2), "GiB",
                        note=f"the same rows copied into PostgreSQL: {pg_bytes / 2**20:.1f} MiB "
                             f"for {comments} comments, extrapolated"))
    else:
        rows.append(Row(section, "store size per million comments, PostgreSQL", "n/a",
                        status="n/a", note="no PostgreSQL reachable (--postgres)"))
    sqlite_store.dispose()
    return rows


def copy_rows(source: Any, target: Any, chunk: int = 5000) -> None:
    """Copy every table's rows from one store to another (empty, same schema)."""
    from sqlmodel import SQLModel

    with source.engine.connect() as src, target.engine.begin() as dst:
        for table in SQLModel.metadata.sorted_tables:
            result = src.execution_options(stream_results=True).execute(table.select())
            while batch := result.fetchmany(chunk):
                dst.execute(table.insert(), [dict(row._mapping) for row in batch])
