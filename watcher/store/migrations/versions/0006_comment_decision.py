"""keep the verdict's decision on the comment, so the console finds the unreviewed flagged ones
from an index

The console's queue asked, on every page, whether any comment is flagged by its verdict but not
reviewed (``review_status = 'none'``): the flagged verdicts ``EXCEPT`` the reviewed comments,
two index scans that grow with the whole history (0.34 s on a one-million store before it is
vacuumed). The pipeline now writes the verdict's decision on the comment too
(``comments.decision``), and ``ix_comments_flagged`` (review_status, decision), a partial index
over the flagged comments, answers the question from the few entries it asks for (nearly none:
the pipeline marks each comment it flags ``pending``). Existing comments get their verdict's
decision.

Revision ID: 0006_comment_decision
Revises: 0005_queue_covering_indexes
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_comment_decision"
down_revision = "0005_queue_covering_indexes"
branch_labels = None
depends_on = None

# the index's condition, as this revision wrote it (watcher.store.models.FLAGGED)
FLAGGED = "decision <> 'allow'"


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
    op.execute(
        "UPDATE comments SET decision = "
        "(SELECT verdicts.decision FROM verdicts WHERE verdicts.comment_id = comments.id)"
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comments_flagged",
            ["review_status", "decision"],
            unique=False,
            sqlite_where=sa.text(FLAGGED),
            postgresql_where=sa.text(FLAGGED),
        )


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_flagged")
    # ALTER TABLE … DROP COLUMN (SQLite 3.35 and later, PostgreSQL): a batch operation would
    # copy the table, which the verdicts' foreign keys to it forbid on SQLite
    op.execute("ALTER TABLE comments DROP COLUMN decision")
