"""Retention purge, access-request export and `vigie audit verify`, on real stores."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import select

from watcher import audit
from watcher.cli import main
from watcher.config import parse_config
from watcher.privacy import export_author
from watcher.retention import purge
from watcher.store.db import Store, open_store
from watcher.store.models import (
    Action,
    AuditEvent,
    Comment,
    Report,
    ReviewLabel,
    Space,
    Verdict,
    WebhookDelivery,
)

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)


def _config(tmp_path: Path, **retention: int):
    lines = "\n".join(f"{k} = {v}" for k, v in retention.items())
    return parse_config(
        f'[vigie]\nstate_dir = "{tmp_path}"\n[retention]\n{lines}\n'
    )


def _space(store: Store, space_id: str = "page-csj") -> None:
    with store.session() as session:
        session.add(Space(id=space_id, platform="facebook", platform_id="1000" + space_id[-1],
                          name="Page", owner="Direction générale", mode="enforce"))


def _comment(
    store: Store,
    pid: str,
    *,
    age_days: float,
    decision: str = "allow",
    state: str = "visible",
    review: str = "none",
    action: str | None = None,
    author: str = "u-1",
    space: str = "page-csj",
    classified: bool = True,
) -> int:
    fetched = NOW - dt.timedelta(days=age_days)
    with store.session() as session:
        comment = Comment(
            space_id=space, platform="facebook", platform_id=pid, text=f"texte de {pid} par Julie",
            author_id=author, author_name="Julie Tremblay", author_meta={"username": "julie"},
            created_time=fetched, fetched_at=fetched, permalink=f"https://fb/{pid}",
            platform_state=state, review_status=review, classified=classified,
        )
        session.add(comment)
        session.flush()
        if classified:
            session.add(Verdict(
                comment_id=comment.id, action="hide" if decision != "allow" else "allow",
                decision=decision, mode="enforce",
                categories=["diffamation_irrespect"] if decision != "allow" else [],
                scores={"diffamation_irrespect": 0.91 if decision != "allow" else 0.02},
                evidence=[{"category": "diffamation_irrespect", "rule_id": "insult.fr",
                           "message_fr": "insulte", "message_en": "insult",
                           "span": [0, 5], "excerpt": "texte"}],
                rule_ids=["insult.fr"], classifier_version="t", created_at=fetched,
            ))
        if action:
            session.add(Action(comment_id=comment.id, kind="hide", state=action,
                               created_at=fetched, updated_at=fetched))
        return comment.id


def test_purge_anonymizes_by_kind_and_keeps_counts(store: Store, tmp_path: Path) -> None:
    config = _config(tmp_path, comments_left_up_days=90, hidden_items_days=730, reports_days=365)
    _space(store)
    old_up = _comment(store, "c1", age_days=91)
    young_up = _comment(store, "c2", age_days=89)
    old_hidden_recent_enough = _comment(store, "c3", age_days=400, decision="hide",
                                        state="hidden", review="confirmed", action="done")
    very_old_hidden = _comment(store, "c4", age_days=731, decision="hide", state="hidden",
                               review="confirmed", action="done")
    restored = _comment(store, "c5", age_days=200, decision="allow", review="restored")
    pending_action = _comment(store, "c6", age_days=800, decision="hide", review="pending",
                              action="requested")
    unclassified = _comment(store, "c7", age_days=100, classified=False)
    with store.session() as session:
        session.add(Report(kind="weekly", period="2025-W40", text="extrait: Julie",
                           created_at=NOW - dt.timedelta(days=366)))
        session.add(Report(kind="weekly", period="2026-W40", created_at=NOW - dt.timedelta(days=10)))
        session.add(WebhookDelivery(key="k-old", received_at=NOW - dt.timedelta(days=8)))
        session.add(WebhookDelivery(key="k-new", received_at=NOW - dt.timedelta(days=1)))

    dry = purge(config, store, NOW, dry_run=True)
    assert (dry.comments_left_up, dry.comments_moderated, dry.reports, dry.webhook_keys) == (
        1, 1, 1, 1)
    assert dry.skipped_pending == 2
    with store.session() as session:
        assert session.get(Comment, old_up).text  # a dry run changes nothing
        assert session.exec(select(AuditEvent)).first() is None

    stats = purge(config, store, NOW)
    assert (stats.comments_left_up, stats.comments_moderated, stats.reports,
            stats.webhook_keys, stats.skipped_pending) == (1, 1, 1, 1, 2)
    with store.session() as session:
        for purged_id in (old_up, very_old_hidden):
            row = session.get(Comment, purged_id)
            assert (row.text, row.author_id, row.author_name, row.author_meta, row.permalink) == (
                "", None, None, {}, None)
            assert row.purged_at == NOW
            assert row.platform_id  # kept: never fetched and judged again
            verdict = session.exec(select(Verdict).where(Verdict.comment_id == purged_id)).one()
            assert verdict.scores and verdict.rule_ids  # counts and categories stay
            assert "excerpt" not in verdict.evidence[0]
            assert verdict.evidence[0]["rule_id"] == "insult.fr"
        hidden_verdict = session.exec(
            select(Verdict).where(Verdict.comment_id == very_old_hidden)).one()
        assert hidden_verdict.categories == ["diffamation_irrespect"]
        for kept in (young_up, old_hidden_recent_enough, restored, pending_action, unclassified):
            row = session.get(Comment, kept)
            assert row.text and row.author_id == "u-1" and row.purged_at is None
        assert len(session.exec(select(Comment)).all()) == 7
        assert [r.period for r in session.exec(select(Report))] == ["2026-W40"]
        assert [w.key for w in session.exec(select(WebhookDelivery))] == ["k-new"]
        event = session.exec(select(AuditEvent).where(AuditEvent.kind == "retention.purge")).one()
        assert event.details["comments_left_up"] == 1
        assert audit.verify(session) == []

    again = purge(config, store, NOW)
    assert again.total == 0


def test_zero_keeps_forever(store: Store, tmp_path: Path) -> None:
    config = _config(tmp_path, comments_left_up_days=0, hidden_items_days=0, reports_days=0)
    _space(store)
    _comment(store, "c1", age_days=5000)
    stats = purge(config, store, NOW)
    assert stats.comments_left_up == 0 and stats.cutoffs["comments_left_up"] == "never"


def test_purge_deletes_old_outbox_files(store: Store, tmp_path: Path) -> None:
    config = _config(tmp_path, reports_days=30)
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    old, new = outbox / "old.eml", outbox / "new.eml"
    old.write_text("Julie")
    new.write_text("x")
    stamp = (NOW - dt.timedelta(days=31)).timestamp()
    import os

    os.utime(old, (stamp, stamp))
    stats = purge(config, store, NOW)
    assert stats.outbox_files == 1
    assert not old.exists() and new.exists()


def test_purge_refuses_naive_time(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        purge(_config(tmp_path), store, dt.datetime(2026, 1, 1))  # noqa: DTZ001


def test_export_has_everything_about_one_author(store: Store) -> None:
    _space(store)
    _space(store, "page-csk")
    first = _comment(store, "c1", age_days=3, decision="hide", state="hidden", action="done")
    _comment(store, "c2", age_days=2, space="page-csk")
    _comment(store, "c3", age_days=1, author="someone-else")
    with store.session() as session:
        session.add(ReviewLabel(comment_id=first, label="diffamation_irrespect",
                                decided_by="admin:marie"))
        audit.record(session, "admin:marie", "review.confirm", space_id="page-csj",
                     comment_id=first)
    data = export_author(store, "u-1", now=NOW)
    assert data["comment_count"] == 2
    assert data["names_seen"] == ["Julie Tremblay"]
    one = data["comments"][0]
    assert one["text"] == "texte de c1 par Julie"
    assert one["verdict"]["categories"] == ["diffamation_irrespect"]
    assert one["actions"][0]["kind"] == "hide"
    assert one["review_labels"][0]["decided_by"] == "admin:marie"
    assert one["audit_events"][0]["kind"] == "review.confirm"
    scoped = export_author(store, "u-1", "page-csk", now=NOW)
    assert [c["platform_id"] for c in scoped["comments"]] == ["c2"]
    json.dumps(data)  # plain JSON
    assert export_author(store, "nobody", now=NOW)["comments"] == []


# --- through the command line (SQLite file) --------------------------------------------------


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    state = tmp_path / "state"
    config_path = tmp_path / "vigie.toml"
    config_path.write_text(f'[vigie]\nstate_dir = "{state}"\n', encoding="utf-8")
    config_path.chmod(0o640)
    monkeypatch.setenv("VIGIE_CONFIG", str(config_path))
    store = open_store(f"sqlite:///{state / 'vigie.db'}")
    yield store, state / "vigie.db"
    store.dispose()


def test_audit_verify_catches_an_edited_row(cli_store, capsys) -> None:
    store, db_file = cli_store
    _space(store)
    for n in range(5):
        with store.session() as session:
            audit.record(session, "system", "verdict.hide", space_id="page-csj",
                         details={"n": n, "categories": ["illegal"]})
    assert main(["audit", "verify"]) == 0
    assert "5" in capsys.readouterr().out

    with sqlite3.connect(db_file) as raw:  # someone edits the log behind Vigie's back
        raw.execute("UPDATE audit_events SET details = ? WHERE id = 3",
                    (json.dumps({"n": 3, "categories": []}),))
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "ALTÉRÉ" in err and "3" in err

    with sqlite3.connect(db_file) as raw:  # or deletes one
        raw.execute("UPDATE audit_events SET details = ? WHERE id = 3",
                    (json.dumps({"n": 2, "categories": ["illegal"]}),))
        raw.execute("DELETE FROM audit_events WHERE id = 2")
    assert main(["--lang", "en", "audit", "verify"]) == 1
    assert "ALTERED" in capsys.readouterr().err


def test_purge_and_export_commands(cli_store, tmp_path: Path, capsys) -> None:
    store, _db = cli_store
    _space(store)
    _comment(store, "c1", age_days=400)
    assert main(["purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "rien n’a changé" in out or "dry run" in out.lower()
    assert main(["export", "--author", "u-1"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["comments"][0]["text"] == "texte de c1 par Julie"
    target = tmp_path / "demande.json"
    assert main(["export", "--author", "u-1", "-o", str(target)]) == 0
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert main(["export", "--author", "u-1", "-o", str(target)]) == 1  # never overwritten
    assert main(["export", "--author", "u-1", "--space", "nope"]) == 1
    capsys.readouterr()
    assert main(["purge", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["comments_left_up"] == 1
    assert main(["export", "--author", "u-1"]) == 0
    assert json.loads(capsys.readouterr().out)["comments"] == []  # nothing left to give


def test_config_writable_by_others_is_refused(cli_store, tmp_path: Path, capsys) -> None:
    config_path = tmp_path / "vigie.toml"
    config_path.chmod(0o646)
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "chmod o-w" in err
    config_path.chmod(0o644)
    assert main(["audit", "verify"]) == 0
