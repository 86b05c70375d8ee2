"""Tables imgops owns (prefix ``imgops_``), as the latest migration leaves them.

They are created and evolved only by the revisions in ``migrations``; this
module describes them for queries.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, UniqueConstraint

imgops_metadata = MetaData()

QUEUE_STATUSES = ("pending", "running", "done", "failed")

queue = Table(
    "imgops_queue",
    imgops_metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(50), nullable=False),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("last_error", Text),
    Column("locked_by", String(255)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
)

assets = Table(
    "imgops_assets",
    imgops_metadata,
    Column("id", Integer, primary_key=True),
    Column("host", String(255), nullable=False),
    Column("source_path", String(1024), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("inode", BigInteger, nullable=False),
    Column("image_id", Integer, nullable=False),
    Column("staged_path", String(1024), nullable=False),
    Column("staged_folder", String(1024), nullable=False),
    Column("entry", Text, nullable=False),
    Column("manifested", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

set_templates = Table(
    "imgops_batch_templates",
    imgops_metadata,
    Column("set_key", String(255), primary_key=True),
    Column("template_id", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("template_id", name="uq_imgops_batch_templates_template_id"),
)
