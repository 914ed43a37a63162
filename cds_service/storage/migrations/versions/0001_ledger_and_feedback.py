"""Card ledger, feedback and override reasons.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cds_service.storage.engine import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "card_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("card_uuid", sa.String(128), nullable=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(100), nullable=True),
        sa.Column("hook_instance", sa.String(128), nullable=False),
        sa.Column("patient_hash", sa.String(64), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("knowledge_version", sa.String(32), nullable=False),
        sa.UniqueConstraint("card_uuid", name="uq_card_ledger_card_uuid"),
    )
    op.create_index("ix_card_ledger_topic_issued", "card_ledger", ["topic", "issued_at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_key", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("card_uuid", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("outcome_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("card_known", sa.Boolean, nullable=False),
        sa.Column("accepted_suggestions", sa.JSON, nullable=False),
        sa.Column("extra", sa.JSON, nullable=True),
        sa.UniqueConstraint("item_key", name="uq_feedback_item_key"),
    )
    op.create_index("ix_feedback_card_uuid", "feedback", ["card_uuid"])
    op.create_index("ix_feedback_received_at", "feedback", ["received_at"])
    op.create_table(
        "feedback_reason",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "feedback_id",
            sa.Integer,
            sa.ForeignKey("feedback.id", ondelete="CASCADE", name="fk_feedback_reason_feedback"),
            nullable=False,
        ),
        sa.Column("system", sa.String(256), nullable=True),
        sa.Column("code", sa.String(128), nullable=True),
        sa.Column("display", sa.String(256), nullable=True),
        sa.Column("user_comment", sa.Text, nullable=True),
    )
    op.create_index("ix_feedback_reason_feedback_id", "feedback_reason", ["feedback_id"])


def downgrade() -> None:
    op.drop_table("feedback_reason")
    op.drop_table("feedback")
    op.drop_table("card_ledger")
