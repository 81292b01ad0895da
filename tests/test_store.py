"""The store: migrations on both backends, aware times, uniqueness of comments."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlmodel import select

from watcher.store.db import Store
from watcher.store.models import Comment, Space


def _space(store: Store) -> None:
    with store.session() as session:
        session.add(
            Space(id="s1", platform="facebook", platform_id="1", name="S", owner="O", mode="enforce")
        )


def test_migrations_reach_head(store: Store) -> None:
    assert store.current_revision() == store.head_revision()
    before, after = store.upgrade()  # idempotent
    assert before == after == store.head_revision()


def test_times_round_trip_aware_utc(store: Store) -> None:
    _space(store)
    when = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with store.session() as session:
        session.add(Comment(space_id="s1", platform="facebook", platform_id="c1", text="Bonjour",
                            created_time=when))
    with store.session() as session:
        comment = session.exec(select(Comment)).one()
    assert comment.created_time == when
    assert comment.created_time.tzinfo is not None


def test_naive_time_refused(store: Store) -> None:
    _space(store)
    with pytest.raises(sa.exc.StatementError), store.session() as session:
        session.add(Comment(space_id="s1", platform="facebook", platform_id="c1", text="x",
                            created_time=dt.datetime(2026, 1, 1)))  # noqa: DTZ001


def test_comment_unique_per_platform_id(store: Store) -> None:
    _space(store)
    now = dt.datetime.now(dt.UTC)
    with store.session() as session:
        session.add(Comment(space_id="s1", platform="facebook", platform_id="c1", text="a",
                            created_time=now))
    with pytest.raises(sa.exc.IntegrityError), store.session() as session:
        session.add(Comment(space_id="s1", platform="facebook", platform_id="c1", text="b",
                            created_time=now))


def _migrate(store: Store, database_url: str, revision: str, *, down: bool = False) -> None:
    """Run the store's Alembic migrations up (or down) to ``revision``."""
    from alembic import command

    from watcher.store.db import alembic_config

    config = alembic_config(database_url)
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _store_at(database_url: str, revision: str) -> Store:
    """A store migrated only up to ``revision``, as an older Vigie left it."""
    old = Store(database_url)
    _migrate(old, database_url, revision)
    return old


def test_upgrade_from_the_first_schema_keeps_data(database_url: str) -> None:
    """A store left at revision 0001 by an older Vigie is migrated with its rows intact."""
    from watcher.store.models import Verdict

    old = _store_at(database_url, "0001")
    assert old.current_revision() == "0001"
    with old.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO spaces (id, platform, platform_id, name, owner, mode, health, "
            "consecutive_failures, active, created_at) VALUES ('s1', 'facebook', '1', 'S', 'O', "
            "'observe', 'ok', 0, true, '2026-01-01 00:00:00')"
        )
    before, after = old.upgrade()
    assert before == "0001" and after == old.head_revision()
    now = dt.datetime.now(dt.UTC)
    with old.session() as session:
        assert session.get(Space, "s1").mode == "observe"
        session.add(Comment(space_id="s1", platform="facebook", platform_id="c1", text="x",
                            created_time=now))
        session.flush()
        comment = session.exec(select(Comment)).one()
        session.add(Verdict(comment_id=comment.id, action="review", decision="observe_review",
                            mode="observe", classifier_version="t"))
    with old.session() as session:
        assert session.exec(select(Verdict)).one().decision == "observe_review"
    old.dispose()


def test_models_and_migrations_agree(store: Store) -> None:
    """The tables, columns and indexes the models declare are the ones the migrations make."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def _indexes(store: Store, table: str) -> set[str]:
    return {index["name"] for index in sa.inspect(store.engine).get_indexes(table)}


def _add_hidden_pending_comment(store: Store) -> None:
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO spaces (id, platform, platform_id, name, owner, mode, health, "
            "consecutive_failures, active, created_at) VALUES ('s1', 'facebook', '1', 'S', 'O', "
            "'enforce', 'ok', 0, true, '2026-01-01 00:00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO comments (space_id, platform, platform_id, text, author_meta, by_owner, "
            "created_time, fetched_at, classified, platform_state, review_status) VALUES ('s1', "
            "'facebook', 'c1', 'x', '{}', false, '2026-01-01 00:00:00', '2026-01-01 00:00:00', "
            "true, 'hidden', 'pending')"
        )


@pytest.mark.parametrize(
    ("start", "end", "added", "dropped"),
    [
        (
            "0003_bench",
            "0004_queue_report_indexes",
            {("comments", "ix_comments_state_review"), ("verdicts", "ix_verdicts_decision"),
             ("actions", "ix_actions_kind_state_done")},
            set(),
        ),
        (
            "0004_queue_report_indexes",
            "0005_queue_covering_indexes",
            {("comments", "ix_comments_status_queue"), ("comments", "ix_comments_state_queue")},
            {("comments", "ix_comments_review_status"), ("comments", "ix_comments_state_review")},
        ),
        ("0005_queue_covering_indexes", "0006_comment_decision",
         {("comments", "ix_comments_flagged")}, set()),
    ],
)
def test_upgrade_indexes_the_queue_and_the_report(
    database_url: str, start: str, end: str, added: set[tuple[str, str]],
    dropped: set[tuple[str, str]],
) -> None:
    """A store at ``start`` gains (and loses) the queue's and the report's indexes at ``end``,
    its rows intact, and goes back."""
    old = _store_at(database_url, start)

    def present(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        return {(table, name) for table, name in pairs if name in _indexes(old, table)}

    assert present(added) == set() and present(dropped) == dropped
    _add_hidden_pending_comment(old)
    _migrate(old, database_url, end)
    assert old.current_revision() == end
    assert present(added) == added and present(dropped) == set()
    with old.engine.connect() as connection:  # raw: the model may have columns added later
        row = connection.exec_driver_sql("SELECT platform_state, review_status FROM comments").one()
    assert tuple(row) == ("hidden", "pending")
    _migrate(old, database_url, start, down=True)  # and back
    assert present(added) == set() and present(dropped) == dropped
    old.dispose()


def test_upgrade_copies_each_verdict_s_decision_to_its_comment(database_url: str) -> None:
    """Migration 0006 gives every classified comment its verdict's decision (the console's
    queue reads it there), leaves the others without one, and goes back."""
    old = _store_at(database_url, "0005_queue_covering_indexes")
    _add_hidden_pending_comment(old)
    with old.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO comments (space_id, platform, platform_id, text, author_meta, by_owner, "
            "created_time, fetched_at, classified, platform_state, review_status) VALUES ('s1', "
            "'facebook', 'c2', 'y', '{}', false, '2026-01-01 00:00:00', '2026-01-01 00:00:00', "
            "false, 'visible', 'none')"
        )
        connection.exec_driver_sql(
            "INSERT INTO verdicts (comment_id, action, decision, mode, categories, scores, "
            "evidence, rule_ids, alert, classifier_version, created_at) SELECT id, 'review', "
            "'observe_review', 'observe', '[]', '{}', '[]', '[]', false, 't', "
            "'2026-01-01 00:00:00' FROM comments WHERE platform_id = 'c1'"
        )
    _migrate(old, database_url, "0006_comment_decision")
    with old.session() as session:
        decisions = {c.platform_id: c.decision for c in session.exec(select(Comment))}
    assert decisions == {"c1": "observe_review", "c2": None}
    _migrate(old, database_url, "0005_queue_covering_indexes", down=True)
    assert "decision" not in {c["name"] for c in sa.inspect(old.engine).get_columns("comments")}
    old.dispose()
