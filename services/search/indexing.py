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

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.api import SearchHit, SearchPage
from shared.contracts.events import ArticleData

from .models import PG_VECTOR, SearchDocument
from .terms import index_terms, matches, query_terms, words

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
        article_id=data.article_id,
        revision=data.revision,
        slug=data.slug,
        title=data.title,
        author=data.author,
        section=data.section,
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


async def search(session: AsyncSession, raw: str, *, offset: int, limit: int) -> SearchPage:
    query = Query(query_terms(raw))
    if not query.groups:
        return SearchPage(query=raw, items=[], total=0)
    if _dialect(session) == "postgresql":
        where = f"{PG_VECTOR} @@ to_tsquery('simple', :q)"
        ids_sql = (
            f"SELECT id FROM search_documents WHERE {where} "
            f"ORDER BY ts_rank_cd({PG_VECTOR}, to_tsquery('simple', :q)) DESC, "
            "published_at DESC LIMIT :limit OFFSET :offset"
        )
        count_sql = f"SELECT count(*) FROM search_documents WHERE {where}"
        q = query.tsquery()
    else:
        ids_sql = (
            "SELECT f.rowid AS id FROM search_fts f JOIN search_documents d ON d.id = f.rowid "
            "WHERE search_fts MATCH :q ORDER BY bm25(search_fts, 10.0, 1.0), "
            "d.published_at DESC LIMIT :limit OFFSET :offset"
        )
        count_sql = "SELECT count(*) FROM search_fts WHERE search_fts MATCH :q"
        q = query.fts5()
    ids = list(
        (await session.execute(text(ids_sql), {"q": q, "limit": limit, "offset": offset})).scalars()
    )
    total = int((await session.execute(text(count_sql), {"q": q})).scalar_one())
    docs = {
        d.id: d
        for d in await session.scalars(select(SearchDocument).where(SearchDocument.id.in_(ids)))
    }
    hits = [hit(docs[i], query.groups) for i in ids if i in docs]
    more = offset + len(ids) < total
    return SearchPage(
        query=raw,
        items=hits,
        total=total,
        next_cursor=str(offset + limit) if more else None,
    )


def hit(doc: SearchDocument, groups: list[tuple[str, ...]]) -> SearchHit:
    return SearchHit(
        id=doc.article_id,
        slug=doc.slug,
        title=doc.title,
        title_html=highlight(doc.title, groups),
        snippet_html=snippet(doc.body, groups),
        author=doc.author,
        section=doc.section,
        language=doc.language,
        published_at=doc.published_at,
    )


def highlight(text_: str, groups: list[tuple[str, ...]]) -> str:
    """``text_`` escaped, with the words that answer the query in ``<mark>``."""
    out = []
    for token in _TOKEN.findall(text_):
        safe = html.escape(token)
        word = token if token[:1].isalnum() or token[:1] == "_" else ""
        if word and _answers(word, groups):
            out.append(f"<mark>{safe}</mark>")
        else:
            out.append(safe)
    return "".join(out)


def snippet(body: str, groups: list[tuple[str, ...]]) -> str:
    """About 30 words of the body around the first word that answers the query."""
    words = body.split()
    first = next((n for n, w in enumerate(words) if _answers(_bare(w), groups)), 0)
    start = max(first - SNIPPET_WORDS // 3, 0)
    window = words[start : start + SNIPPET_WORDS]
    text_ = " ".join(window)
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + SNIPPET_WORDS < len(words) else ""
    return prefix + highlight(text_, groups) + suffix


def _bare(word: str) -> str:
    found = re.search(r"\w+", word)
    return found.group(0) if found else ""


def _answers(word: str, groups: list[tuple[str, ...]]) -> bool:
    return any(matches(w, groups) for w in words(word))
