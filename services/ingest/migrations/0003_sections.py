"""sections: an article's section, tags, lead image, modification date and indexed author
(revision 0003).

Expand only: nullable columns and indexes; the version still running ignores them.
Existing rows get their author key from the author.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_key", sa.String(length=245), nullable=True))
        batch_op.add_column(sa.Column("section", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("image", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("modified_on", sa.Date(), nullable=True))
        batch_op.create_index("ix_articles_section", ["section", "sort_at"], unique=False)
        batch_op.create_index("ix_articles_author", ["author_key", "sort_at"], unique=False)
    op.execute("UPDATE articles SET author_key = substr(author, 1, 245) WHERE author IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_author")
        batch_op.drop_index("ix_articles_section")
        batch_op.drop_column("modified_on")
        batch_op.drop_column("image")
        batch_op.drop_column("tags")
        batch_op.drop_column("section")
        batch_op.drop_column("author_key")
