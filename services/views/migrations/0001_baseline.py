"""baseline: the schema before migrations (revision 0001)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.storage.engines import BIG_ID

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "applied_batches",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("first_entry", sa.String(length=32), nullable=False),
        sa.Column("last_entry", sa.String(length=32), nullable=False),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.Column("applied_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("applied_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_applied_batches_applied_at"), ["applied_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applied_batches_last_entry"), ["last_entry"], unique=False
        )

    op.create_table(
        "article_views",
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("legacy_views", sa.BigInteger(), nullable=False),
        sa.Column("counted", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.create_table(
        "daily_views",
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "day"),
    )
    op.create_table(
        "hourly_views",
        sa.Column("article_id", sa.String(length=36), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "hour"),
    )
    with op.batch_alter_table("hourly_views", schema=None) as batch_op:
        batch_op.create_index("ix_hourly_views_hour", ["hour"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hourly_views", schema=None) as batch_op:
        batch_op.drop_index("ix_hourly_views_hour")

    op.drop_table("hourly_views")
    op.drop_table("daily_views")
    op.drop_table("article_views")
    with op.batch_alter_table("applied_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applied_batches_last_entry"))
        batch_op.drop_index(batch_op.f("ix_applied_batches_applied_at"))

    op.drop_table("applied_batches")
