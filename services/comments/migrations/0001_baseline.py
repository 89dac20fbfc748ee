"""baseline: the schema before migrations

The outbox is ``comment_outbox`` (ingest's ``outbox`` may share the database);
databases made before migrations had ``outbox`` and are adopted by renaming it
(see services.comments.schema). (revision 0001)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.messaging.outbox import create_outbox_table, drop_outbox_table

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("spam_signals", sa.JSON(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comments_article_status", ["article_id", "status", "submitted_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comments_client_key"), ["client_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_comments_email"), ["email"], unique=False)
        batch_op.create_index(
            "ix_comments_fingerprint", ["article_id", "fingerprint"], unique=False
        )
        batch_op.create_index("ix_comments_status", ["status", "submitted_at"], unique=False)

    op.create_table(
        "known_articles",
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("article_id"),
    )
    create_outbox_table(op, "comment_outbox")


def downgrade() -> None:
    drop_outbox_table(op, "comment_outbox")
    op.drop_table("known_articles")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_status")
        batch_op.drop_index("ix_comments_fingerprint")
        batch_op.drop_index(batch_op.f("ix_comments_email"))
        batch_op.drop_index(batch_op.f("ix_comments_client_key"))
        batch_op.drop_index("ix_comments_article_status")

    op.drop_table("comments")
