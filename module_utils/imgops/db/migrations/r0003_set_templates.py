"""imgops_batch_templates: which of the server's batch templates belongs to which set of the sets config.

The server's ``batch_templates`` rows carry nothing imgops could mark a set with (SERVER_FACTS 3.1), and
their names are not unique, so the set key -> template id identity lives here, beside the fingerprint of
the set's files as last written (an unchanged set is then neither parsed nor compared).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.operations import Operations

revision = "0003_set_templates"
down_revision = "0002_assets"


def upgrade(op: Operations) -> None:
    op.create_table(
        "imgops_batch_templates",
        sa.Column("set_key", sa.String(255), primary_key=True),
        sa.Column("template_id", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("template_id", name="uq_imgops_batch_templates_template_id"),
    )
