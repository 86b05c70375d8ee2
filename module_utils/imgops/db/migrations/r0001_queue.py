"""imgops_queue: a durable job queue (thumbnails and other deferred work)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.operations import Operations

revision = "0001_queue"
down_revision = None


def upgrade(op: Operations) -> None:
    op.create_table(
        "imgops_queue",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("locked_by", sa.String(255)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
        sa.UniqueConstraint("dedupe_key", name="uq_imgops_queue_dedupe_key"),
    )
    op.create_index("ix_imgops_queue_status_kind", "imgops_queue", ["status", "kind"])
