"""editorial: external ids, scheduled publication, idempotent answers (revision 0002).

Expand only: a new nullable column each, a new table, new indexes. The version
still running keeps working on this schema (it never reads the new columns and
serves only ``published`` articles).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("uq_articles_external_id", ["external_id"])
        batch_op.create_index("ix_articles_due", ["status", "publish_at"], unique=False)
    op.create_table(
        "idempotent_answers",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("idempotent_answers")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_due")
        batch_op.drop_constraint("uq_articles_external_id", type_="unique")
        batch_op.drop_column("publish_at")
        batch_op.drop_column("external_id")
