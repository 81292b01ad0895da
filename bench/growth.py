"""(5) Growth: how the cost of the hot paths grows with the store (10k, 100k, 1M comments).

The store is filled in bulk, directly (SQLAlchemy Core inserts), with a year of history over
S spaces: comments with their verdicts (about 90 % allow, 6 % hide, 4 % review), hide actions,
chained audit events for every non-allow decision, and poll runs. At each size, measured:

- a poll cycle (``pipeline.poll_space``) of a space with a year of history, 10 new comments
  on the sandbox;
- the weekly report rendering (``reports.service.render_weekly``), when reports have landed;
- the console's review queue page (``GET /queue`` as a logged-in moderator, as it opens and
  filtered by space, category, status, and for a moderator of one direction), when the
  console has landed;
- the query plan (``EXPLAIN QUERY PLAN`` / ``EXPLAIN``) of every statement those three ran,
  captured from the engine: a full scan of a big table is reported.

Run on SQLite and, when reachable, on PostgreSQL (a scratch database).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from bench.common import (
    TOKEN,
    TOKEN_ENV,
    Row,
    ScratchPostgres,
    Settings,
    config_text,
    median,
    postgres_available,
    scenario_texts,
    space_block,
    store_size_bytes,
)
from connectors.sandbox.server import SandboxServer

PAGE_BASE = 104865390000000
POSTS_PER_SPACE = 50
BIG_TABLES = ("comments", "verdicts", "actions", "audit_events", "poll_runs", "posts",
              "review_labels")
BIG_ROWS = 1_000  # a table of BIG_TABLES holding fewer rows is read whole at no cost
REPEAT = 5
CHUNK = 20_000
PASSWORD = "Banc-d-essai-2026!long"  # noqa: S105 - a throw-away console account


class Filler:
    """Appends a year of realistic rows to a store, continuing the ids."""

    def __init__(self, store: Any, space_ids: list[str], pages: list[str], now: dt.datetime):
        from watcher.audit import _digest

        self.store, self.space_ids, self.pages, self.now = store, space_ids, pages, now
        self.digest = _digest
        self.rng = random.Random(5)  # noqa: S311 - reproducible data, not security
        texts = scenario_texts()
        self.texts = {"allow": texts["allow"], "hide": texts["hide"],
                      "review": texts["review"] or texts["allow"]}
        self.count = 0
        self.ids = {"verdicts": 0, "actions": 0, "audit_events": 0, "poll_runs": 0}
        self.prev_hash = ""

    def posts(self) -> None:
        from watcher.store.models import Post

        rows = [{"space_id": sid, "platform_id": f"{page}_{300000000000 + k}",
                 "text": f"Publication {k}", "created_time": self.now - dt.timedelta(days=k * 7),
                 "permalink": None}
                for sid, page in zip(self.space_ids, self.pages, strict=True)
                for k in range(POSTS_PER_SPACE)]
        with self.store.engine.begin() as connection:
            connection.execute(Post.__table__.insert(), rows)

    def fill_to(self, target: int) -> None:
        """Add comments (and the rest) until the store holds ``target`` comments."""
        self._resume()
        while self.count < target:
            self._chunk(min(CHUNK, target - self.count))
        self._after_bulk()

    def _resume(self) -> None:
        """Continue after what the store holds (poll cycles add rows between fills)."""
        with self.store.engine.connect() as connection:
            def scalar(sql: str) -> Any:
                return connection.execute(sa.text(sql)).scalar()

            self.count = scalar("select count(*) from comments") or 0
            self.next_comment = (scalar("select max(id) from comments") or 0)
            for table in self.ids:
                self.ids[table] = scalar(f"select max(id) from {table}") or 0  # noqa: S608
            self.prev_hash = scalar(
                "select hash from audit_events order by id desc limit 1") or ""

    def _chunk(self, n: int) -> None:
        from watcher.categories import CATEGORY_IDS
        from watcher.store.models import Action, AuditEvent, Comment, PollRun, Verdict

        rng = self.rng
        comments, verdicts, actions, events, runs = [], [], [], [], []
        for _ in range(n):
            self.count += 1
            self.next_comment += 1
            cid = self.next_comment
            sidx = rng.randrange(len(self.space_ids))
            space_id, page = self.space_ids[sidx], self.pages[sidx]
            created = self.now - dt.timedelta(seconds=rng.uniform(3600, 365 * 86400))
            roll = rng.random()
            action = "allow" if roll < 0.90 else ("hide" if roll < 0.96 else "review")
            category = [] if action == "allow" else [rng.choice(CATEGORY_IDS)]
            review = "none"
            if action == "hide":
                review = "pending" if rng.random() < 0.3 else "confirmed"
            elif action == "review":
                review = "pending" if rng.random() < 0.5 else "false_alarm"
            comments.append({
                "id": cid, "space_id": space_id, "platform": "facebook",
                "platform_id": f"g{cid}",
                "post_platform_id": f"{page}_{300000000000 + rng.randrange(POSTS_PER_SPACE)}",
                "parent_platform_id": None,
                "text": rng.choice(self.texts[action]),
                "author_id": str(7000000000000000 + rng.randrange(20_000)),
                "author_name": f"Parent {rng.randrange(20_000)}",
                "author_meta": {"name_given": True}, "by_owner": False,
                "created_time": created, "permalink": None,
                "fetched_at": created + dt.timedelta(minutes=3), "classified": True,
                "platform_state": "hidden" if action == "hide" else "visible",
                "review_status": review, "purged_at": None, "decision": action,
            })
            decided = created + dt.timedelta(minutes=3)
            self.ids["verdicts"] += 1
            verdicts.append({
                "id": self.ids["verdicts"], "comment_id": cid, "action": action,
                "decision": action, "mode": "enforce", "categories": category,
                "scores": {c: (0.95 if c in category else round(rng.random() * 0.2, 4))
                           for c in CATEGORY_IDS},
                "evidence": [] if action == "allow" else [
                    {"category": category[0], "rule_id": "bench.rule", "message_fr": "Motif",
                     "message_en": "Reason", "span": [0, 5], "excerpt": "extrait"}],
                "rule_ids": [] if action == "allow" else ["bench.rule"],
                "alert": False, "alert_sent_at": None, "classifier_version": "bench",
                "created_at": decided,
            })
            if action == "hide":
                self.ids["actions"] += 1
                actions.append({
                    "id": self.ids["actions"], "comment_id": cid, "kind": "hide",
                    "state": "done", "requested_by": "system", "reason": category[0],
                    "attempts": 1, "next_attempt_at": None, "last_error": None,
                    "created_at": decided, "updated_at": decided, "done_at": decided,
                })
            if action != "allow":
                kinds = [f"verdict.{action}"] + (["action.hide.done"] if action == "hide" else [])
                for kind in kinds:
                    self.ids["audit_events"] += 1
                    event = AuditEvent(id=self.ids["audit_events"], at=decided.replace(
                        microsecond=0), actor="system", kind=kind, space_id=space_id,
                        comment_id=cid, details={"categories": category},
                        prev_hash=self.prev_hash)
                    event.hash = self.digest(event)
                    self.prev_hash = event.hash
                    events.append({k: getattr(event, k) for k in (
                        "id", "at", "actor", "kind", "space_id", "comment_id", "details",
                        "prev_hash", "hash")})
            if cid % 10 == 0:  # one poll run kept for every 10 comments
                self.ids["poll_runs"] += 1
                runs.append({"id": self.ids["poll_runs"], "space_id": space_id,
                             "started_at": decided, "finished_at": decided,
                             "ok": True, "new_comments": 10, "calls": 2, "error_kind": None,
                             "error": None})
        sqlite = self.store.engine.dialect.name == "sqlite"
        with self.store.engine.begin() as connection:
            if sqlite:  # a bulk load's page cache (256 MiB), for the fill only
                connection.exec_driver_sql("PRAGMA cache_size=-262144")
            for table, rows in ((Comment, comments), (Verdict, verdicts), (Action, actions),
                                (AuditEvent, events), (PollRun, runs)):
                if rows:
                    connection.execute(table.__table__.insert(), rows)
            if sqlite:  # back to SQLite's default before anything is measured
                connection.exec_driver_sql("PRAGMA cache_size=-2000")

    def _after_bulk(self) -> None:
        """Move PostgreSQL's id sequences past the explicit ids; refresh its statistics."""
        engine = self.store.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                for table in ("comments", *self.ids):
                    connection.execute(sa.text(
                        f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"coalesce((select max(id) from {table}), 1))"))
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE")
        # SQLite: no ANALYZE, as in production (Vigie never runs it; PostgreSQL's autovacuum
        # does analyze), so the planner sees what it sees in service.


class Recorder:
    """Collects the statements run on an engine while it is on."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.on = False
        self.seen: dict[str, Any] = {}
        sa.event.listen(engine, "before_cursor_execute", self._note)

    def _note(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        if self.on and not executemany and re.match(r"\s*(SELECT|WITH|UPDATE|DELETE)", statement,
                                                    re.I):
            self.seen.setdefault(statement, parameters)

    def plans(self) -> list[dict[str, Any]]:
        """Each statement's plan and the big tables it reads whole.

        A big table is one of ``BIG_TABLES`` holding at least ``BIG_ROWS`` rows at the time.

        SQLite: a ``SCAN`` of a big table, through an index or not (``SCAN t USING INDEX i``
        walks the whole index), is a full scan. PostgreSQL: a ``Seq Scan`` of a big table, or
        an index scan with no index condition (the whole index walked), that stays in the plan
        when sequential scans, hash and merge joins and parallel workers are disabled: no index
        can answer. Where
        PostgreSQL's planner reads a table whole by choice (a small table, or a large share of
        it wanted) although an index could answer, the table is listed apart
        (``planner_seq_scans``), not as a missing index. Either way the newest row by primary
        key (``ORDER BY id DESC LIMIT n`` without ``WHERE``), a scan that stops at once, is
        not a full scan.
        """
        out = []
        self.on = False
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.connect() as connection:
            big = {table for table in BIG_TABLES if connection.exec_driver_sql(
                f"SELECT count(*) FROM {table}").scalar_one() >= BIG_ROWS}  # noqa: S608
        for statement, parameters in self.seen.items():
            flat = " ".join(statement.split())
            newest_by_pk = bool(re.search(r"FROM (\w+) ORDER BY \1\.id DESC LIMIT", flat)
                                and " WHERE " not in flat)
            chosen: list[str] = []
            if sqlite:
                lines = self._explain("EXPLAIN QUERY PLAN ", statement, parameters)
                scans = [m.group(1) for line in lines
                         for m in [re.search(r"\bSCAN (\w+)", line)] if m]
            else:
                lines = self._explain("EXPLAIN ", statement, parameters)
                chosen = self._pg_full_scans(statement, parameters, seqscan=True)
                scans = self._pg_full_scans(statement, parameters, seqscan=False)
            scans = [] if newest_by_pk else [t for t in scans if t in big]
            chosen = [] if newest_by_pk else [t for t in chosen if t in big]
            entry = {"statement": flat[:600], "plan": lines, "full_scans": sorted(set(scans)),
                     "planner_seq_scans": sorted(set(chosen) - set(scans))}
            if scans and not sqlite:
                entry["plan_with_indexes_forced"] = self.last_forced_plan
            out.append(entry)
        return out

    def _explain(self, prefix: str, statement: str, parameters: Any) -> list[str]:
        with self.engine.connect() as connection:
            try:
                return [" ".join(str(c) for c in row) for row in
                        connection.exec_driver_sql(prefix + statement, parameters)]
            except sa.exc.DBAPIError as error:
                return [f"(could not explain: {error.orig})"]

    def _pg_full_scans(self, statement: str, parameters: Any, *, seqscan: bool) -> list[str]:
        """Tables a PostgreSQL plan reads whole (with sequential scans allowed or not)."""
        self.last_forced_plan: Any = None
        with self.engine.begin() as connection:
            if not seqscan:  # indexes and nested loops wherever the planner can use them
                for setting in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin"):
                    connection.exec_driver_sql(f"SET LOCAL {setting} = off")
                # one process: a parallel walk of a whole primary key looks cheap otherwise
                connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            try:
                plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement,
                                                  parameters).scalar()
            except sa.exc.DBAPIError:
                return []
        if not seqscan:
            self.last_forced_plan = plan
        found: list[str] = []

        def walk(node: dict[str, Any]) -> None:
            kind, table = node.get("Node Type", ""), node.get("Relation Name")
            if table and (kind == "Seq Scan" or (
                    kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node)):
                found.append(table)
            for child in node.get("Plans", []):
                walk(child)

        for entry in plan if isinstance(plan, list) else []:
            walk(entry["Plan"])
        return found


def _short(statement: str) -> str:
    """A statement without its column list: ``SELECT … FROM actions JOIN … WHERE …``."""
    return re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", statement, flags=re.S)[:220]


def _time(fn: Callable[[], Any], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def _login(app: Any, username: str) -> Any:
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": username, "password": PASSWORD,
                                "csrf_token": token.group(1) if token else ""})
    return client


def _console(config: Any, store: Any) -> dict[str, Callable[[], Any]]:
    """Functions that fetch the review queue, by filter; none without the console.

    A moderator who sees every space: the queue as it opens (to review), one space, one
    category, every status; and a moderator of one direction (a fifth of the spaces).
    """
    try:
        from watcher.categories import CATEGORY_IDS
        from watcher.console import accounts, create_app
    except ImportError:
        return {}
    direction = config.spaces[0].owner
    with store.session() as db:
        if accounts.get_user(db, "banc") is None:
            accounts.add_user(db, config, "banc", PASSWORD, role="moderation", scope="*")
            accounts.add_user(db, config, "banc-direction", PASSWORD, role="moderation",
                              scope=direction)
    app = create_app(config, store, testing=True)
    everyone, one_direction = _login(app, "banc"), _login(app, "banc-direction")
    category = "diffamation_irrespect" if "diffamation_irrespect" in CATEGORY_IDS \
        else CATEGORY_IDS[0]
    pages = {
        "/queue": (everyone, "/queue"),
        f"/queue?space={config.spaces[1].id}": (everyone, f"/queue?space={config.spaces[1].id}"),
        f"/queue?category={category}": (everyone, f"/queue?category={category}"),
        "/queue?status=all": (everyone, "/queue?status=all"),
        "/queue, a direction's moderator": (one_direction, "/queue"),
    }

    def fetcher(client: Any, path: str) -> Callable[[], Any]:
        def fetch() -> Any:
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
            return response
        return fetch

    out = {label: fetcher(client, path) for label, (client, path) in pages.items()}
    for fetch in out.values():
        fetch()
    return out


def _report(config: Any, store: Any) -> Callable[[], Any] | None:
    try:
        from reports.service import render_weekly
    except ImportError:
        return None
    return lambda: render_weekly(config, store, "last")


def measure_store(settings: Settings, database_url: str, label: str, workdir: Path
                  ) -> tuple[list[Row], list[dict[str, Any]]]:
    from watcher.config import parse_config
    from watcher.pipeline import poll_space, run_actions, spaces_with_actions
    from watcher.runtime import Runtime
    from watcher.store.db import open_store

    section = f"5 growth ({label})"
    reference = settings.extra.get("reference_seconds") or 1.0
    rows: list[Row] = []
    plans: list[dict[str, Any]] = []
    rng = random.Random(6)  # noqa: S311
    texts = scenario_texts()
    with SandboxServer() as server:
        requests.post(f"{server.url}/_sandbox/graph/limits",
                      json={"app_per_hour": 10_000_000, "space_per_day": 10_000_000},
                      timeout=10).raise_for_status()
        pages = [str(PAGE_BASE + n) for n in range(settings.growth_spaces)]
        space_ids = [f"g-{n}" for n in range(settings.growth_spaces)]
        for page in pages[:1]:
            server.state.ensure_space("facebook", page, "École témoin")
            server.state.add_post("facebook", page, "Publication suivie")
        config = parse_config(config_text(  # five directions of ten spaces each
            workdir, [space_block(sid, page, server.url, owner=f"Direction {n % 5 + 1}")
                      for n, (sid, page) in enumerate(zip(space_ids, pages, strict=True))],
            database_url=database_url))
        store = open_store(database_url)
        empty_bytes = store_size_bytes(store)
        runtime = Runtime.open(config, store=store, environ={TOKEN_ENV: TOKEN})
        try:
            now = dt.datetime.now(dt.UTC)
            filler = Filler(store, space_ids, pages, now)
            filler.posts()
            poll_space(runtime, space_ids[0], force=True)  # the cursor
            recorder = Recorder(store.engine)
            console: dict[str, Callable[[], Any]] | None = None
            for size in settings.growth_sizes:
                started = time.perf_counter()
                filler.fill_to(size)
                fill_s = time.perf_counter() - started
                if console is None:
                    console = _console(config, store)
                report = _report(config, store)

                def cycle() -> None:
                    for n in range(10):
                        bad = n < 2
                        server.state.add_comment(
                            "facebook", pages[0],
                            rng.choice(texts["hide"] if bad else texts["allow"]),
                            author_name=f"Parent {rng.randrange(10**6)}")
                    outcome = poll_space(runtime, space_ids[0], force=True)
                    if not outcome.ok or outcome.new_comments != 10:
                        raise RuntimeError(f"poll failed: {outcome}")

                def sweep() -> None:  # the daemon's actions job, every action_interval
                    due = spaces_with_actions(runtime)
                    for space_id in space_ids:
                        if space_id in due:
                            run_actions(runtime, space_id)

                recorder.on = True
                poll_s = _time(cycle)
                sweep_s = _time(sweep)
                report_s = _time(report, 3) if report else None
                queue_s = {label: _time(fetch) for label, fetch in (console or {}).items()}
                size_plans = recorder.plans()
                recorder.seen.clear()
                total = filler.count
                rows.append(Row(section, f"{total:,} comments: poll cycle (10 new)",
                                round(poll_s * 1000, 1), "ms",
                                note=f"{poll_s / reference:.2f} x ref; bulk fill "
                                     f"{fill_s:.0f} s"))
                per_space = sweep_s / len(space_ids)
                from watcher.config import SchedulerConfig

                interval = SchedulerConfig().action_interval
                rows.append(Row(section, f"{total:,} comments: actions job (all spaces)",
                                round(sweep_s * 1000, 1), "ms",
                                note=f"{per_space * 1000:.2f} ms per space: with 500 spaces, "
                                     f"{500 * per_space / interval:.0%} of a core at the "
                                     f"default action_interval of {interval} s"))
                rows.append(Row(section, f"{total:,} comments: weekly report",
                                round(report_s * 1000, 1) if report_s is not None else "n/a",
                                "ms" if report_s is not None else "",
                                status="info" if report_s is not None else "n/a",
                                note=f"{report_s / reference:.2f} x ref" if report_s
                                else "reports not on this branch yet"))
                if not queue_s:
                    rows.append(Row(section, f"{total:,} comments: console /queue", "n/a",
                                    status="n/a", note="console not on this branch yet"))
                for page, seconds in queue_s.items():
                    rows.append(Row(section, f"{total:,} comments: console {page}",
                                    round(seconds * 1000, 1), "ms",
                                    note=f"{seconds / reference:.2f} x ref"))
                scanned = [p for p in size_plans if p["full_scans"]]
                chosen = [p for p in size_plans if p["planner_seq_scans"]]
                note = "; ".join(f"{', '.join(p['full_scans'])}: {_short(p['statement'])}"
                                 for p in scanned)[:1500]
                if chosen:
                    note = (f"{note}; " if note else "") + (
                        f"{len(chosen)} more read a table whole by the planner's choice, "
                        f"where an index could answer: "
                        + ", ".join(sorted({t for p in chosen for t in p["planner_seq_scans"]})))
                rows.append(Row(
                    section, f"{total:,} comments: statements without a full scan of a big "
                    "table", f"{len(size_plans) - len(scanned)}/{len(size_plans)}",
                    status="ok" if not scanned else "miss", note=note))
                plans.append({"store": label, "comments": total, "plans": size_plans})
            size_bytes = store_size_bytes(store) - empty_bytes
            rows.append(Row(section, "store size per million comments",
                            round(size_bytes / filler.count * 1e6 / 2**30, 2), "GiB",
                            note=f"{size_bytes / 2**20:.0f} MiB measured at "
                                 f"{filler.count:,} comments (bulk rows), extrapolated"))
        finally:
            runtime.close()
    return rows, plans


def run(settings: Settings, workdir: Path) -> list[Row]:
    rows, plans = measure_store(settings, f"sqlite:///{workdir / 'growth.db'}", "SQLite",
                                workdir)
    if postgres_available(settings.postgres_url):
        assert settings.postgres_url
        with ScratchPostgres(settings.postgres_url, "growth") as scratch:
            pg_settings = dataclasses.replace(settings, growth_sizes=tuple(
                n for n in settings.growth_sizes if n <= settings.growth_pg_max) or
                settings.growth_sizes[:1])
            pg_rows, pg_plans = measure_store(pg_settings, scratch.url, "PostgreSQL", workdir)
        rows += pg_rows
        plans += pg_plans
    else:
        rows.append(Row("5 growth (PostgreSQL)", "PostgreSQL", "n/a", status="n/a",
                        note="no PostgreSQL reachable (--postgres)"))
    settings.extra["query_plans"] = plans
    return rows
