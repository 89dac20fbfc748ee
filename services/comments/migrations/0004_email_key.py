"""the reader's address folded: comments.email_key (revision 0004, expand).

Flood control and the first-time rule compare addresses as written, so
``Sara@example.com`` and ``sara@example.com`` were two readers. ``email_key`` holds
the folded address (NFKC, trimmed, case-folded) with an index for the same range scans.

Expand only: a nullable column and an index, quick on a large table. The version
still running neither reads nor writes it; the new version writes it and falls back
to ``email`` for rows without one (older rows, and those the previous version writes
during the upgrade) until 0005 fills them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch_op:
        batch_op.add_column(sa.Column("email_key", sa.String(length=320), nullable=True))
        batch_op.create_index("ix_comments_email_key_recent", ["email_key", "submitted_at"])


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch_op:
        batch_op.drop_index("ix_comments_email_key_recent")
        batch_op.drop_column("email_key")
