"""Tables: the card ledger, feedback items and their override reasons.

Migrations in `migrations/versions` create exactly these; change both together.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cds_service.storage.engine import UTCDateTime

__all__ = ["card_ledger", "feedback", "feedback_reason", "metadata"]

metadata = MetaData()

# One row per card returned. No PHI: the patient appears only as a keyed hash.
card_ledger = Table(
    "card_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("card_uuid", String(128), nullable=True),
    Column("service_id", String(64), nullable=False),
    Column("topic", String(100), nullable=True),
    Column("hook_instance", String(128), nullable=False),
    Column("patient_hash", String(64), nullable=True),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("knowledge_version", String(32), nullable=False),
    # The verified client the card was sent to (auth.ClientIdentity.owner; "" none).
    Column("client", String(1024), nullable=False, server_default=""),
    UniqueConstraint("card_uuid", name="uq_card_ledger_card_uuid"),
    Index("ix_card_ledger_topic_issued", "topic", "issued_at"),
)

# One row per distinct feedback item. item_key makes a repeated item a no-op.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_key", String(64), nullable=False),
    Column("service_id", String(64), nullable=False),
    Column("card_uuid", String(128), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("outcome_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("card_known", Boolean, nullable=False),
    Column("accepted_suggestions", JSON, nullable=False),
    Column("extra", JSON, nullable=True),  # extensions and unknown fields, as sent
    Column("client", String(1024), nullable=False, server_default=""),  # who sent it
    UniqueConstraint("item_key", name="uq_feedback_item_key"),
    Index("ix_feedback_card_uuid", "card_uuid"),
    Index("ix_feedback_received_at", "received_at"),
)

# The override reasons of one item (CDS Hooks sends one; Epic may send several).
feedback_reason = Table(
    "feedback_reason",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "feedback_id",
        Integer,
        ForeignKey("feedback.id", ondelete="CASCADE", name="fk_feedback_reason_feedback"),
        nullable=False,
        index=True,
    ),
    Column("system", String(256), nullable=True),
    Column("code", String(128), nullable=True),
    Column("display", String(256), nullable=True),
    Column("user_comment", Text, nullable=True),
)
