"""index the comments still to be classified (found by the benchmarks)

The pipeline's hot query, run by every poll cycle of every space,

    SELECT ... FROM comments WHERE space_id = ? AND classified IS 0
    ORDER BY created_time, id LIMIT 200

was answered by walking the space's whole history through ix_comments_space_created (it gives
the order) and reading each row to test ``classified``: 65 ms a cycle with 5,000 comments in the
space on SQLite, growing with the history. A partial index over the unclassified comments only
(a handful at any time) gives both the filter and the order: 0.01 ms. Its predicate is spelled
the way SQLAlchemy renders ``classified.is_(False)`` on each database, so the planners match it.

Revision ID: 0003_bench
Revises: 0002_decision_length
Create Date: 2026-11-28 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_bench"
down_revision = "0002_decision_length"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comments_pending",
            ["space_id", "created_time", "id"],
            unique=False,
            sqlite_where=sa.text("classified IS 0"),
            postgresql_where=sa.text("classified IS false"),
        )


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_pending")
