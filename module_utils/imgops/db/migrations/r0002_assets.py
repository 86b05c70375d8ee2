"""imgops_assets: content identity of imported legacy files (one row per source file per host)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.operations import Operations

revision = "0002_assets"
down_revision = "0001_queue"


def upgrade(op: Operations) -> None:
    op.create_table(
        "imgops_assets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("source_path", sa.String(1024), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("inode", sa.BigInteger, nullable=False),
        sa.Column("image_id", sa.Integer, nullable=False),
        sa.Column("staged_path", sa.String(1024), nullable=False),
        sa.Column("staged_folder", sa.String(1024), nullable=False),
        sa.Column("entry", sa.Text, nullable=False),
        sa.Column("manifested", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("host", "source_path", name="uq_imgops_assets_host_source"),
    )
    op.create_index("ix_imgops_assets_sha256", "imgops_assets", ["sha256"])
    op.create_index("ix_imgops_assets_folder", "imgops_assets", ["host", "staged_folder"])
