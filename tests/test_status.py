"""`vigie status` counts, from the store, per space (both databases)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.support import make_config, space_toml
from watcher.status import collect, render_text
from watcher.store.models import Action, Comment, Space


def test_counts_and_attention(store, tmp_path: Path) -> None:
    config = make_config(tmp_path, [space_toml("a", "http://127.0.0.1:9", platform_id="1"),
                                    space_toml("b", "http://127.0.0.1:9", platform_id="2")])
    now = dt.datetime.now(dt.UTC)
    with store.session() as session:
        for sid in ("a", "b"):
            session.add(Space(id=sid, platform="facebook", platform_id=sid, name=sid, owner="o",
                              mode="enforce", last_good_poll_at=now))
        session.flush()
        rows = [
            Comment(space_id="a", platform="facebook", platform_id=f"c{i}", text="t",
                    created_time=now, platform_state=state, review_status=review)
            for i, (state, review) in enumerate([("hidden", "pending"), ("visible", "pending"),
                                                 ("visible", "none"), ("hidden", "confirmed")])
        ]
        session.add_all(rows)
        session.flush()
        session.add_all([
            Action(comment_id=rows[0].id, kind="hide", state="done"),
            Action(comment_id=rows[1].id, kind="hide", state="requested"),
            Action(comment_id=rows[3].id, kind="unhide", state="failed"),
        ])
    report = collect(config, store, now)
    a, b = report["spaces"]
    assert (a["comments"], a["hidden"], a["queued"]) == (4, 2, 2)
    assert (a["pending_actions"], a["failed_actions"]) == (1, 1)
    assert (b["comments"], b["hidden"], b["queued"], b["failed_actions"]) == (0, 0, 0, 0)
    assert report["attention"] is True and a["problems"] and not b["problems"]
    assert "1 action(s) en échec" in render_text(report)
