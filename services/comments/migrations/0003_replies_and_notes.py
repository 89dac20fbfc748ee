"""replies and moderators' notes: comments.parent_id, comments.note (revision 0003).

Expand only: two nullable columns and an index; the version still running
neither reads nor writes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch_op.create_index("ix_comments_parent", ["parent_id"])


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch_op:
        batch_op.drop_index("ix_comments_parent")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("note")
