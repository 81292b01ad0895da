"""What every benchmark shares: result rows, the machine, a CPU reference, the sandbox, configs.

Timings on this machine are noisy (2 cores shared with other work), so each timing is also
given as a ratio against :func:`reference_seconds`, a fixed pure-Python workload measured in
the same run: a ratio stays comparable from one machine or one load to another where seconds
do not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from connectors.sandbox.spaces import space_toml as sandbox_space_toml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SCENARIO = REPO / "config" / "demo" / "scenario.json"
TOKEN = "bench-page-token"  # noqa: S105 - a sandbox token
TOKEN_ENV = "VIGIE_BENCH_TOKEN"  # noqa: S105 - the name of a variable
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Row:
    """One line of the results table."""

    section: str
    name: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""
    status: str = "info"  # ok | miss | info | n/a
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Settings:
    """What the runner was asked for (the defaults depend on ``--quick`` / ``--smoke``)."""

    mode: str = "full"  # full | quick | smoke
    interval: int = 300  # polling interval of the time-to-hide run (seconds)
    hide_comments: int = 500
    hide_spaces: int = 20
    webhook_comments: int = 500
    economy_sizes: tuple[int, ...] = (1, 10, 100, 1000)
    scale_spaces: int = 500
    scale_duration: float = 600.0
    scale_interval: int = 300
    scale_rate_per_space_per_min: float = 0.5
    growth_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    growth_spaces: int = 50
    growth_pg_max: int = 100_000  # PostgreSQL's bulk fill is slow here: larger sizes SQLite only
    postgres_url: str | None = DEFAULT_PG
    workdir: Path = field(default_factory=lambda: Path("/tmp"))
    extra: dict[str, Any] = field(default_factory=dict)


# --- numbers ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p50, p99) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else math.nan


def reference_seconds(repeat: int = 5) -> float:
    """Best wall time of a fixed single-threaded workload (hashing, JSON, arithmetic).

    The best of several runs is the least disturbed by other processes.
    """
    payload = [{"id": i, "text": f"commentaire numéro {i}", "score": i / 7} for i in range(2000)]
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        digest = hashlib.sha256()
        for _round in range(4):
            blob = json.dumps(payload).encode()
            digest.update(blob)
            json.loads(blob)
        total = 0
        for i in range(40_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - start)
    return best


def machine() -> dict[str, Any]:
    """The machine and the moment: core count, CPU model, memory, load, Python, date."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "loadavg_at_start": os.getloadavg(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "commit": _git_commit(),
    }


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True,
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --- texts -----------------------------------------------------------------------------------


def scenario_texts() -> dict[str, list[str]]:
    """The demo scenario's comment texts, by expected verdict (allow | review | hide).

    Texts whose verdict depends on history (repetition categories) are left out: a benchmark
    posts them out of their context.
    """
    data = json.loads(SCENARIO.read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {"allow": [], "review": [], "hide": []}
    for comment in data["comments"]:
        if comment.get("category") in ("disgracieux_repetitif", "anonyme_repetitif"):
            continue
        out.setdefault(comment.get("expected", "allow"), []).append(comment["text"])
    return out


def texts_the_classifier_hides() -> tuple[list[str], list[str]]:
    """(litigious, harmless): scenario texts the current classifier hides, resp. allows.

    The benchmark measures the pipeline, not the classifier's accuracy, so it asks the
    classifier in use which texts it hides rather than trusting the scenario's labels.
    """
    from watcher.config import parse_config
    from watcher.policy import CommentInput, Context, classify
    from watcher.runtime import thresholds_from

    config = parse_config("")
    from watcher.policy import load_policy

    policy = load_policy(tuple(config.policy.extra_dirs), config.policy.model)
    thresholds = thresholds_from(config)
    now = dt.datetime.now(dt.UTC)
    texts = scenario_texts()
    hide: list[str] = []
    allow: list[str] = []
    for text in texts["hide"] + texts["allow"]:
        verdict = classify(
            CommentInput(text=text, id="x", author_id="bench-author", author_name="Auteur Banc",
                         created_time=now, platform="facebook", author_meta={}),
            Context(now=now, policy=policy, thresholds=thresholds, history=[]),
        )
        if verdict.action == "hide":
            hide.append(text)
        elif verdict.action == "allow":
            allow.append(text)
    if not hide:
        raise RuntimeError("the classifier in use hides none of the scenario's litigious texts")
    return hide, allow


# --- configs ---------------------------------------------------------------------------------

SECRETS = {
    "facebook": f'{{ page_token = "env:{TOKEN_ENV}" }}',
    "instagram": f'{{ access_token = "env:{TOKEN_ENV}" }}',
    "youtube": f'{{ access_token = "env:{TOKEN_ENV}" }}',
    "x": f'{{ user_token = "env:{TOKEN_ENV}" }}',
}


def space_block(space_id: str, platform_id: str, url: str, *, platform: str = "facebook",
                interval: int = 300, extra: str = "", secrets: str | None = None,
                owner: str = "Service des communications") -> str:
    return sandbox_space_toml(space_id, url, platform=platform, platform_id=platform_id,
                              secrets=secrets or SECRETS[platform], interval=interval,
                              approval_prefix="SGC-BENCH", extra=extra, owner=owner)


def page_credentials(sandbox_url: str, pages: Iterable[str], directory: Path) -> dict[str, str]:
    """Give each Facebook Page of the sandbox its own Page token, as Graph does.

    Each token is bound to its Page in the sandbox (so ``/me`` answers that Page and the daemon's
    daily token check passes) and written as a systemd-style credential file in ``directory``.
    Return the environment that points the daemon there; spaces name the credential with
    :func:`page_secrets`. With one token shared by every space, the token check found each one
    bound to another Page, marked the space unhealthy and wrote a health notice for it.
    """
    import requests

    directory.mkdir(parents=True, exist_ok=True)
    with requests.Session() as session:
        for page in pages:
            token = f"bench-page-token-{page}"
            (directory / f"page-{page}").write_text(token, encoding="utf-8")
            session.post(f"{sandbox_url}/_sandbox/graph/tokens",
                         json={"token": token, "space": page, "bind": True},
                         timeout=10).raise_for_status()
    return {"CREDENTIALS_DIRECTORY": str(directory)}


def page_secrets(page: str) -> str:
    """The ``secrets`` of a Facebook space whose token :func:`page_credentials` wrote."""
    return f'{{ page_token = "credential:page-{page}" }}'


def config_text(state_dir: Path, spaces: Iterable[str], *, database_url: str | None = None,
                interval: int = 300, jitter: int = 0, action_interval: int = 5,
                extra: str = "") -> str:
    store = f'[store]\nurl = "{database_url}"\n' if database_url else ""
    return (
        f'[vigie]\nstate_dir = "{state_dir}"\nlog_level = "WARNING"\n{store}'
        f"[scheduler]\npoll_interval = {interval}\njitter = {jitter}\n"
        f"action_interval = {action_interval}\n"
        + extra
        + "".join(spaces)
    )


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env[TOKEN_ENV] = TOKEN
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def vigie_command(config_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "watcher.cli", "--config", str(config_path), *args]


def parse_at(value: str) -> float:
    """A sandbox call's ``at`` (ISO time) as a UNIX timestamp."""
    return dt.datetime.fromisoformat(value).timestamp()


# --- PostgreSQL scratch databases ------------------------------------------------------------


def postgres_available(url: str | None) -> bool:
    if not url:
        return False
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


class ScratchPostgres:
    """A throw-away database on the server of ``url``, dropped on exit."""

    def __init__(self, url: str, name: str) -> None:
        import sqlalchemy as sa

        self.admin_url = url
        self.name = f"vigie_bench_{name}_{os.getpid()}"
        base = sa.engine.make_url(url)
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> ScratchPostgres:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc: object) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _execute(self, sql: str) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(sql))
        engine.dispose()


def store_size_bytes(store: Any) -> int:
    """Bytes used by the store: the SQLite file (and its WAL), or PostgreSQL's tables."""
    import sqlalchemy as sa

    if store.is_sqlite:  # the database's pages, as a reader sees them (WAL included)
        import sqlite3

        connection = sqlite3.connect(str(store.engine.url.database))
        try:
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            size = connection.execute("PRAGMA page_size").fetchone()[0]
        finally:
            connection.close()
        return int(pages) * int(size)
    with store.engine.connect() as connection:
        return int(connection.execute(sa.text(
            "select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'public' and c.relkind = 'r'")).scalar() or 0)


def hide_times(server: Any, ids: set[str] | None = None) -> dict[str, float]:
    """Comment id → UNIX time of its hide request, from a sandbox server's call log (only the
    comments of ``ids`` when given): sent alone or inside a batch request (a cycle's hides go
    together), whose call time is then the hide's."""
    from connectors.sandbox.graph import hidden_ids

    out: dict[str, float] = {}
    with server.state.locked() as st:
        calls = list(st.calls)
    for call in calls:
        if call.status != 200:
            continue
        for target in hidden_ids(call.method, call.path, call.query):
            if ids is None or target in ids:
                out.setdefault(target, parse_at(call.at))
    return out
