"""The client each card was sent to and each feedback item came from (issue 17 #8).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # "" for rows written before: such a card accepts any client's feedback.
    for table in ("card_ledger", "feedback"):
        op.add_column(
            table, sa.Column("client", sa.String(1024), nullable=False, server_default="")
        )


def downgrade() -> None:
    for table in ("card_ledger", "feedback"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("client")
