"""How long the review console takes to show its queue and an item, with many comments stored.

    python -m bench.console_queue                 # 10 000 and 50 000 comments, SQLite
    python -m bench.console_queue --sizes 100000 --database-url postgresql+psycopg://...

Each size gets a fresh store with that many comments over two spaces (one in five hidden, one in
ten waiting for review, the rest left up), then the pages are requested through the Flask test
client (no network) and the median and worst of several requests are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from watcher.config import Config
from watcher.console import accounts, create_app
from watcher.store.db import open_store
from watcher.store.models import Comment, Post, Space, Verdict

PASSWORD = "benchmark password"
REPEAT = 7


def _config(state_dir: Path) -> Config:
    spaces = [
        {"id": sid, "platform": "facebook", "platform_id": f"9{n}", "name": f"Espace {sid}",
         "owner": f"Direction {n}", "contacts": ["d@example.org"], "approval_ref": "B",
         "approval_date": dt.date(2026, 1, 1), "administrators": ["x"], "mode": "enforce"}
        for n, sid in enumerate(("bench-a", "bench-b"))
    ]
    return Config.model_validate(
        {"vigie": {"state_dir": state_dir}, "console": {"proxy_hops": 0}, "spaces": spaces}
    )


def _seed(store, config: Config, size: int) -> None:  # type: ignore[no-untyped-def]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with store.session() as db:
        for space in config.spaces:
            db.add(Space(id=space.id, platform="facebook", platform_id=space.platform_id,
                         name=space.name, owner=space.owner, mode="enforce"))
            db.flush()
            for p in range(50):
                db.add(Post(space_id=space.id, platform_id=f"{space.id}-p{p}", text="Publication"))
        accounts.add_user(db, config, "bench", PASSWORD, role="moderation")
    comments = Comment.__table__  # type: ignore[attr-defined]
    verdicts = Verdict.__table__  # type: ignore[attr-defined]
    batch = 5000
    with store.engine.begin() as connection:
        for first in range(0, size, batch):
            rows = []
            for n in range(first, min(size, first + batch)):
                space = "bench-a" if n % 2 else "bench-b"
                hidden = n % 5 == 0
                rows.append({
                    "space_id": space, "platform": "facebook", "platform_id": f"c{n}",
                    "post_platform_id": f"{space}-p{n % 50}", "text": f"Commentaire numéro {n}",
                    "author_id": f"u{n % 997}", "author_name": f"Auteur {n % 997}",
                    "author_meta": {}, "by_owner": False,
                    "created_time": start + dt.timedelta(minutes=n),
                    "fetched_at": start + dt.timedelta(minutes=n), "classified": True,
                    "platform_state": "hidden" if hidden else "visible",
                    "review_status": "pending" if hidden else "none", "purged_at": None,
                    "permalink": None, "parent_platform_id": None,
                    "decision": _decision(n, hidden),
                })
            connection.execute(comments.insert(), rows)
        ids = connection.execute(
            sa.select(comments.c.id, comments.c.platform_state).order_by(comments.c.id)
        ).all()
        for first in range(0, len(ids), batch):
            rows = []
            for index, (comment_id, state) in enumerate(ids[first : first + batch], first):
                decision = _decision(index, state == "hidden")
                category = "diffamation_irrespect" if decision != "allow" else None
                rows.append({
                    "comment_id": comment_id, "action": decision, "decision": decision,
                    "mode": "enforce", "categories": [category] if category else [],
                    "scores": {category: 0.9} if category else {}, "evidence": [],
                    "rule_ids": [], "alert": False, "alert_sent_at": None,
                    "classifier_version": "bench", "created_at": start,
                })
            connection.execute(verdicts.insert(), rows)


def _decision(n: int, hidden: bool) -> str:
    """The n-th comment's verdict: hidden ones hid, one in ten of the rest queued for review."""
    return "hide" if hidden else ("review" if n % 10 == 1 else "allow")


def _time(client, path: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    durations = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        response = client.get(path)
        durations.append(time.perf_counter() - began)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(durations) * 1000, max(durations) * 1000


def _database(base: str | None, folder: Path) -> tuple[str, sa.Engine | None, str | None]:
    if not base:
        return f"sqlite:///{folder / 'bench.db'}", None, None
    admin = sa.create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    name = f"vigie_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return make_url(base).set(database=name).render_as_string(hide_password=False), admin, name


def run(size: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url, admin, name = _database(database_url, Path(folder))
        store = open_store(url)
        try:
            config = _config(Path(folder) / "state")
            began = time.perf_counter()
            _seed(store, config, size)
            seeded = time.perf_counter() - began
            app = create_app(config, store)
            client = app.test_client()
            page = client.get("/login").get_data(as_text=True)
            token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            client.post("/login", data={"username": "bench", "password": PASSWORD,
                                        "csrf_token": token})
            with store.session() as db:
                item_id = db.exec(sa.select(sa.func.max(Comment.id))).one()[0]
            backend = make_url(url).get_backend_name()
            print(f"\n{size} comments on {backend} (seeded in {seeded:.1f} s)")
            for label, path in (
                ("queue, first page", "/queue"),
                ("queue, last page", "/queue?page=100000"),
                ("queue, one space and category", "/queue?space=bench-a&category=diffamation_irrespect"),
                ("queue, all statuses", "/queue?status=all"),
                ("item page", f"/items/{item_id}"),
            ):
                median, worst = _time(client, path)
                print(f"  {label:32s} median {median:7.1f} ms   worst {worst:7.1f} ms")
        finally:
            store.dispose()
            if admin is not None:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()
    for size in args.sizes:
        run(size, args.database_url)


if __name__ == "__main__":
    main()
