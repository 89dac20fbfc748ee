"""flood-control indexes: (client_key, submitted_at) and (email, submitted_at)

Revision ID: 0002
Revises: 0001

The flood check asks "the same client or email since T"; with these two
indexes it is two range scans instead of every comment of that client.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch_op:
        batch_op.drop_index("ix_comments_client_key")
        batch_op.drop_index("ix_comments_email")
        batch_op.create_index("ix_comments_client_recent", ["client_key", "submitted_at"])
        batch_op.create_index("ix_comments_email_recent", ["email", "submitted_at"])


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch_op:
        batch_op.drop_index("ix_comments_email_recent")
        batch_op.drop_index("ix_comments_client_recent")
        batch_op.create_index("ix_comments_email", ["email"])
        batch_op.create_index("ix_comments_client_key", ["client_key"])
