"""read the console's review queue from the comments' indexes alone (found by the growth benchmark)

At one million comments the queue took 1.8 s on PostgreSQL (2.2 s with every status) against
0.35 s on SQLite: its counts per space and its page joined the queue's candidates (the ids of
migration 0004) with the whole comments and verdicts tables in parallel hash joins, then read
each comment row for its space and date. The queue is now written as disjoint parts, each a
condition on the comment's own columns (``watcher.console.review._parts``), and these two
indexes carry every column a part, a count per space or a page's order needs, so both
databases answer from the index alone; only the page's 50 rows are read whole:

- ``ix_comments_status_queue`` (review_status, created_time, id, space_id) replaces
  ``ix_comments_review_status`` (review_status), its first column;
- ``ix_comments_state_queue`` (platform_state, review_status, created_time, id, space_id)
  replaces ``ix_comments_state_review`` (platform_state, review_status) of migration 0004.

Revision ID: 0005_queue_covering_indexes
Revises: 0004_queue_report_indexes
Create Date: 2026-12-01 03:15:00
"""

from __future__ import annotations

from alembic import op

revision = "0005_queue_covering_indexes"
down_revision = "0004_queue_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comments_status_queue",
            ["review_status", "created_time", "id", "space_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_comments_state_queue",
            ["platform_state", "review_status", "created_time", "id", "space_id"],
            unique=False,
        )
        batch_op.drop_index("ix_comments_state_review")
        batch_op.drop_index("ix_comments_review_status")


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_review_status", ["review_status"], unique=False)
        batch_op.create_index(
            "ix_comments_state_review", ["platform_state", "review_status"], unique=False
        )
        batch_op.drop_index("ix_comments_state_queue")
        batch_op.drop_index("ix_comments_status_queue")
