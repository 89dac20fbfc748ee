"""The full-text index: SQLite FTS5 embedded, PostgreSQL full-text in production.

Both hold the same terms (:mod:`.terms`) and answer the same question: the
documents that match one form of every query word, best first (title words
weigh more than body words), a page at a time. Queries are built from our own
terms, quoted, so no user input ever reaches the engine's query syntax.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import Integer, column, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.api import SearchHit, SearchPage
from shared.contracts.copying import like_named
from shared.contracts.events import ArticleData

from .models import PG_VECTOR, SearchDocument
from .terms import answers, index_terms, query_terms, wanted_forms

SNIPPET_WORDS = 30
_TOKEN = re.compile(r"\w+|\W+")


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


@dataclass(frozen=True)
class Query:
    groups: list[tuple[str, ...]]

    def fts5(self) -> str:
        """``("a" OR "b") AND ("c")``: every group quoted, so nothing is FTS5 syntax."""
        return " AND ".join("(" + " OR ".join(f'"{t}"' for t in g) + ")" for g in self.groups)

    def tsquery(self) -> str:
        return " & ".join("(" + " | ".join(g) + ")" for g in self.groups)


def document_of(data: ArticleData, stored_at: datetime) -> SearchDocument:
    """The article as the index holds it; dated by its publication date, else by when
    the event says it was stored."""
    published_at = (
        datetime.combine(data.published_on, time(), tzinfo=UTC) if data.published_on else stored_at
    )
    body = "\n".join(block.text for block in data.body)
    return SearchDocument(
        **like_named(data, ("article_id", "revision", "slug", "title", "author", "section")),
        language=data.language,
        published_at=published_at,
        body=body,
        title_terms=index_terms(data.title),
        body_terms=index_terms(" ".join(filter(None, [data.author or "", body]))),
    )


async def put(session: AsyncSession, doc: SearchDocument) -> bool:
    """Index ``doc``, replacing an older revision; False when a newer one is there."""
    current = await session.scalar(
        select(SearchDocument).where(SearchDocument.article_id == doc.article_id)
    )
    if current is not None:
        if current.revision > doc.revision:
            return False
        await remove(session, doc.article_id)
    session.add(doc)
    await session.flush()
    if _dialect(session) != "postgresql":
        await session.execute(
            text("INSERT INTO search_fts (rowid, title, body) VALUES (:id, :title, :body)"),
            {"id": doc.id, "title": doc.title_terms, "body": doc.body_terms},
        )
    return True


async def remove(session: AsyncSession, article_id: uuid.UUID) -> None:
    row_id = await session.scalar(
        select(SearchDocument.id).where(SearchDocument.article_id == article_id)
    )
    if row_id is None:
        return
    if _dialect(session) != "postgresql":
        await session.execute(text("DELETE FROM search_fts WHERE rowid = :id"), {"id": row_id})
    await session.execute(delete(SearchDocument).where(SearchDocument.id == row_id))


#: What a result shows, read in the same query that ranks (one round trip a search); only
#: the page's rows are joined to their documents, so ranking never carries the bodies.
SHOWN = (
    "d.id, d.article_id, d.slug, d.title, d.author, d.section, d.language, "
    "d.published_at, d.body, m.total"
)


async def search(session: AsyncSession, raw: str, *, offset: int, limit: int) -> SearchPage:
    query = Query(query_terms(raw))
    if not query.groups:
        return SearchPage(query=raw, items=[], total=0)
    if _dialect(session) == "postgresql":
        where = f"{PG_VECTOR} @@ to_tsquery('simple', :q)"
        ranked = (
            f"SELECT id, ts_rank_cd({PG_VECTOR}, to_tsquery('simple', :q)) AS rank, "
            f"count(*) OVER () AS total FROM search_documents WHERE {where} "
            "ORDER BY rank DESC, published_at DESC, id DESC LIMIT :limit OFFSET :offset"
        )
        order = "m.rank DESC, d.published_at DESC, d.id DESC"
        count_sql = f"SELECT count(*) FROM search_documents WHERE {where}"
        q = query.tsquery()
    else:
        # bm25() is lower for better matches, and only allowed in the FTS query itself.
        ranked = (
            "SELECT id, rank, count(*) OVER () AS total FROM (SELECT rowid AS id, "
            "bm25(search_fts, 10.0, 1.0) AS rank FROM search_fts WHERE search_fts MATCH :q) "
            "ORDER BY rank, id DESC LIMIT :limit OFFSET :offset"
        )
        order = "m.rank, d.id DESC"
        count_sql = "SELECT count(*) FROM search_fts WHERE search_fts MATCH :q"
        q = query.fts5()
    sql = (
        f"SELECT {SHOWN} FROM ({ranked}) m JOIN search_documents d ON d.id = m.id ORDER BY {order}"
    )
    typed = text(sql).columns(
        SearchDocument.id,
        SearchDocument.article_id,
        SearchDocument.slug,
        SearchDocument.title,
        SearchDocument.author,
        SearchDocument.section,
        SearchDocument.language,
        SearchDocument.published_at,
        SearchDocument.body,
        column("total", Integer),
    )
    rows = (await session.execute(typed, {"q": q, "limit": limit, "offset": offset})).all()
    if rows:
        total = int(rows[0].total)
    else:  # past the last page: the window counted nothing, ask once
        total = int((await session.execute(text(count_sql), {"q": q})).scalar_one())
    wanted = wanted_forms(query.groups)
    return SearchPage(
        query=raw,
        items=[hit(row, wanted) for row in rows],
        total=total,
        next_cursor=str(offset + limit) if offset + len(rows) < total else None,
    )


def hit(doc: Any, wanted: frozenset[str]) -> SearchHit:
    """A result from a row of the ranking query (a document's shown columns)."""
    return SearchHit(
        id=doc.article_id,
        slug=doc.slug,
        title=doc.title,
        title_html=highlight(doc.title, wanted),
        snippet_html=snippet(doc.body, wanted),
        author=doc.author,
        section=doc.section,
        language=doc.language,
        published_at=doc.published_at,
    )


def highlight(text_: str, wanted: frozenset[str]) -> str:
    """``text_`` escaped, with the words that answer the query in ``<mark>``."""
    out = []
    for token in _TOKEN.findall(text_):
        safe = html.escape(token)
        word = token if token[:1].isalnum() or token[:1] == "_" else ""
        if word and answers(word, wanted):
            out.append(f"<mark>{safe}</mark>")
        else:
            out.append(safe)
    return "".join(out)


def snippet(body: str, wanted: frozenset[str]) -> str:
    """About 30 words of the body around the first word that answers the query."""
    words = body.split()
    first = next((n for n, w in enumerate(words) if answers(w, wanted)), 0)
    start = max(first - SNIPPET_WORDS // 3, 0)
    window = words[start : start + SNIPPET_WORDS]
    text_ = " ".join(window)
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + SNIPPET_WORDS < len(words) else ""
    return prefix + highlight(text_, wanted) + suffix
