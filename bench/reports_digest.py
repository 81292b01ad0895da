"""How long the weekly digest takes to render, and how big it is, for a busy store.

    python bench/reports_digest.py [--comments-per-week 20000] [--hidden-share 0.05] [--url URL]

Writes five weeks of comments (three spaces) into a fresh SQLite store (or the database at
--url), then renders the communications digest and one direction digest of the last week.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import reportdata as rd  # noqa: E402

from reports.service import render_weekly  # noqa: E402
from watcher.store.db import open_store  # noqa: E402
from watcher.store.models import Action, Comment, Verdict  # noqa: E402


def populate(store, per_week: int, hidden_share: float) -> int:
    rng = random.Random(7)
    spaces = ["kenogami-fb", "kenogami-ig", "csdlj-yt"]
    platforms = {"kenogami-fb": "facebook", "kenogami-ig": "instagram", "csdlj-yt": "youtube"}
    count = 0
    with store.session() as session:
        rd.add_spaces(session)
    for week in range(5):
        start = rd.MONDAY - dt.timedelta(weeks=4 - week)
        with store.session() as session:
            comments = []
            for n in range(per_week):
                space = spaces[n % 3]
                created = start + dt.timedelta(seconds=rng.randrange(7 * 86400 - 7200))
                comments.append(Comment(
                    space_id=space, platform=platforms[space], platform_id=f"w{week}-{n}",
                    text="Commentaire " + "bla " * rng.randrange(5, 60), author_id=f"a{n % 977}",
                    author_name=f"Auteur {n % 977}", created_time=created, classified=True))
            session.add_all(comments)
            session.flush()
            for comment in comments:
                roll = rng.random()
                if roll < hidden_share:
                    comment.decision = "hide"  # as the pipeline writes it with the verdict
                    session.add(comment)
                    session.add(Verdict(comment_id=comment.id, action="hide", decision="hide",
                                        mode="enforce", categories=["diffamation_irrespect"],
                                        classifier_version="bench", created_at=comment.created_time))
                    done = comment.created_time + dt.timedelta(minutes=rng.randrange(1, 90))
                    session.add(Action(comment_id=comment.id, kind="hide", state="done",
                                       created_at=done, updated_at=done, done_at=done))
                elif roll < hidden_share * 1.5:
                    comment.review_status = "pending"
                    comment.decision = "review"
                    session.add(comment)
                    session.add(Verdict(comment_id=comment.id, action="review", decision="review",
                                        mode="enforce", categories=["commercial_pourriel"],
                                        classifier_version="bench", created_at=comment.created_time))
            count += len(comments)
    return count


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments-per-week", type=int, default=20_000)
    parser.add_argument("--hidden-share", type=float, default=0.05)
    parser.add_argument("--url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{folder}/bench.db"
        store = open_store(url)
        started = time.perf_counter()
        total = populate(store, args.comments_per_week, args.hidden_share)
        print(f"store: {total} comments over 5 weeks written in {time.perf_counter() - started:.1f} s")
        config = rd.make_config(Path(folder))
        started = time.perf_counter()
        render_weekly(config, store, rd.WEEK, now=rd.DUE)  # compiles templates, loads locales
        print(f"first render (templates compiled, locale data loaded): "
              f"{time.perf_counter() - started:.2f} s")
        for label, owner in (("communications digest", None), ("direction digest", "École Kénogami")):
            started = time.perf_counter()
            subject, html, text = render_weekly(config, store, rd.WEEK, owner=owner, now=rd.DUE)
            elapsed = time.perf_counter() - started
            print(f"{label}: {elapsed:.2f} s, HTML {len(html.encode()) / 1000:.1f} kB, "
                  f"text {len(text.encode()) / 1000:.1f} kB — {subject}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory of the process: {peak:.0f} MB")
        store.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
