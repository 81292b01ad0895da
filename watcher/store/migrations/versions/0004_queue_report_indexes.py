"""index the console's review queue and the weekly report (found by the growth benchmark)

The console's queue selects the comments that are hidden, reviewed or flagged by their verdict
(``watcher.console.review``): one ``OR`` over a comment's columns and its verdict's, which no
index answered, so every page read the whole store (564 ms on SQLite, 984 ms on PostgreSQL at
50,000 comments, growing with the store). The queue now finds its candidates with a union of
single-table selects that these indexes answer:

- ``ix_comments_state_review`` (platform_state, review_status): the hidden comments not yet
  decided;
- ``ix_verdicts_decision`` (decision, comment_id): the comments the classifier flagged.

The weekly report reads the hide and restore actions done in its five weeks
(``reports.digest``): ``ix_actions_kind_state_done`` (kind, state, done_at) answers it where
the actions table was read whole.

Revision ID: 0004_queue_report_indexes
Revises: 0003_bench
Create Date: 2026-11-30 20:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0004_queue_report_indexes"
down_revision = "0003_bench"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comments_state_review", ["platform_state", "review_status"], unique=False
        )
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.create_index("ix_verdicts_decision", ["decision", "comment_id"], unique=False)
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_actions_kind_state_done", ["kind", "state", "done_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index("ix_actions_kind_state_done")
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_index("ix_verdicts_decision")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_state_review")
