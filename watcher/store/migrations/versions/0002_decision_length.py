"""verdicts.decision holds "observe_review" (14 characters): widen it to 20

Revision ID: 0002_decision_length
Revises: 0001
Create Date: 2026-11-28 02:00:00
"""

from __future__ import annotations

import sqlmodel
from alembic import op

revision = "0002_decision_length"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.alter_column(
            "decision",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=12),
            type_=sqlmodel.sql.sqltypes.AutoString(length=20),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.alter_column(
            "decision",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
            type_=sqlmodel.sql.sqltypes.AutoString(length=12),
            existing_nullable=False,
        )

