"""every comment has its folded address; the old address index goes (revision 0005,
contract).

Applied by ``newsroom migrate --contract`` once no replica older than 0004 runs: that
version writes rows without ``email_key`` (refused from here on) and its flood check
is the one that used ``ix_comments_email_recent``.
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
phase = "contract"


def upgrade() -> None:
    # The rows from before 0004 and those the previous version wrote since, then the
    # constraint.
    if context.is_offline_mode():
        # --sql, for a DBA's review on PostgreSQL (SQLite's table copy needs a live
        # database): SQL's lower() folds like the service for ASCII addresses.
        op.execute("UPDATE comments SET email_key = lower(trim(email)) WHERE email_key IS NULL")
        op.alter_column("comments", "email_key", existing_type=sa.String(320), nullable=False)
        op.drop_index("ix_comments_email_recent", table_name="comments")
        return
    fill_email_keys(op.get_bind())
    with op.batch_alter_table("comments") as batch_op:
        batch_op.alter_column("email_key", existing_type=sa.String(length=320), nullable=False)
        batch_op.drop_index("ix_comments_email_recent")


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch_op:
        batch_op.create_index("ix_comments_email_recent", ["email", "submitted_at"])
        batch_op.alter_column("email_key", existing_type=sa.String(length=320), nullable=True)


def fill_email_keys(conn: sa.Connection, batch: int = 1000) -> None:
    """Fold the addresses of rows without a key, a batch at a time (in Python: SQL's
    lower() folds ASCII only on SQLite). Frozen here: a migration must not change
    when the service's code does."""
    comments = sa.table(
        "comments", sa.column("id", sa.Uuid), sa.column("email"), sa.column("email_key")
    )
    while True:
        rows = conn.execute(
            sa.select(comments.c.id, comments.c.email)
            .where(comments.c.email_key.is_(None))
            .limit(batch)
        ).all()
        if not rows:
            return
        conn.execute(
            sa.update(comments)
            .where(comments.c.id == sa.bindparam("row_id"))
            .values(email_key=sa.bindparam("key")),
            [
                {
                    "row_id": row.id,
                    "key": unicodedata.normalize("NFKC", row.email).strip().casefold(),
                }
                for row in rows
            ],
        )
