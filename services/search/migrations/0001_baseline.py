"""baseline: documents and the engine's full-text index (revision 0001).

SQLite: an FTS5 table whose row ids are the documents' ids. PostgreSQL: a GIN
index over the weighted ``tsvector`` of title (A) and body (B) terms, the same
expression the queries use (services.search.index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.storage.engines import BIG_ID, UtcDateTime

revision = "0001"
down_revision = None

# Written out, not imported: a migration stays as it was when the models change.
PG_VECTOR = (
    "(setweight(to_tsvector('simple', title_terms), 'A') || "
    "setweight(to_tsvector('simple', body_terms), 'B'))"
)


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=400), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("section", sa.String(length=120), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("title_terms", sa.Text(), nullable=False),
        sa.Column("body_terms", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_search_vector ON search_documents USING gin ({PG_VECTOR})")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "title, body, tokenize = 'unicode61 remove_diacritics 0')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_documents")
