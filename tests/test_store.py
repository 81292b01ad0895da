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
