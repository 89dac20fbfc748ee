"""What a page's ``<head>`` tells browsers, crawlers and link previews about it.

Canonical URL, description, OpenGraph and Twitter cards, and JSON-LD
(``NewsArticle`` on an article, ``CollectionPage`` with an ``ItemList`` on lists).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from fastapi import Request

from shared.contracts.api import ArticleOut, ArticleSummary
from shared.text.arabic import url_slug

from ..settings import GatewaySettings

DESCRIPTION_MAX = 160
#: What search results show of a title; the whole headline stays in og:title and JSON-LD.
TITLE_MAX = 70


@dataclass(frozen=True)
class Head:
    title: str
    canonical: str
    description: str
    #: The whole headline, for link previews (``og:title``); the title when unset.
    full_title: str | None = None
    og_type: str = "website"
    image: str | None = None
    json_ld: dict[str, Any] | None = None
    #: Older and newer pages of a list, for ``<link rel=prev/next>``.
    links: dict[str, str] = field(default_factory=dict)
    published: str | None = None
    modified: str | None = None
    #: Search results and error pages are not for indexes.
    noindex: bool = False


def site_url(settings: GatewaySettings, request: Request) -> str:
    """The site's public address: ``NEWSROOM_PUBLIC_URL``, else what the request came to."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    # What Request.base_url gives, without building a URL object on every page.
    scope = request.scope
    host = request.headers.get("host") or "localhost"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}".rstrip("/")


def article_path(slug: str) -> str:
    return f"/articles/{url_slug(slug)}"


def page_title(title: str, site_name: str) -> str:
    """``title - site`` when it fits in 70 characters, else the title cut at a word."""
    whole = f"{title} - {site_name}"
    if len(whole) <= TITLE_MAX:
        return whole
    if len(title) <= TITLE_MAX:
        return title
    return title[: TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"


def describe(text: str) -> str:
    """A meta description: the text cut at a word within 160 characters."""
    text = " ".join(text.split())
    if len(text) <= DESCRIPTION_MAX:
        return text
    return text[: DESCRIPTION_MAX - 1].rsplit(" ", 1)[0] + "…"


def published_at(article: ArticleOut) -> datetime:
    """The publication date at midnight UTC, else when the article was stored."""
    if article.published_on:
        return datetime.combine(article.published_on, time(), tzinfo=UTC)
    return article.created_at


def publisher(site: str, site_name: str) -> dict[str, Any]:
    return {
        "@type": "NewsMediaOrganization",
        "name": site_name,
        "url": f"{site}/",
        "logo": {"@type": "ImageObject", "url": f"{site}/static/logo.png"},
    }


def article_head(site: str, site_name: str, article: ArticleOut) -> Head:
    url = site + article_path(article.slug)
    lead = next((b.text for b in article.body if b.kind == "paragraph"), article.title)
    published = published_at(article).isoformat()
    modified = (
        article.modified_on.isoformat() if article.modified_on else article.updated_at.isoformat()
    )
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        "headline": article.title[:110],
        "description": describe(lead),
        "inLanguage": article.language,
        "datePublished": published,
        "dateModified": modified,
        "publisher": publisher(site, site_name),
    }
    if article.author:
        data["author"] = {"@type": "Person", "name": article.author}
    if article.image:
        data["image"] = [article.image]
    if article.section:
        data["articleSection"] = article.section
    if article.tags:
        data["keywords"] = article.tags
    return Head(
        title=page_title(article.title, site_name),
        full_title=article.title,
        canonical=url,
        description=describe(lead),
        og_type="article",
        image=article.image,
        json_ld=data,
        published=published,
        modified=modified,
    )


def list_head(
    site: str,
    site_name: str,
    *,
    title: str,
    path: str,
    description: str,
    items: Sequence[ArticleSummary],
    links: dict[str, str] | None = None,
    noindex: bool = False,
) -> Head:
    url = site + path
    data = {
        "@context": "https://schema.org",
        "@type": "CollectionPage",
        "name": title,
        "url": url,
        "inLanguage": "ar",
        "publisher": publisher(site, site_name),
        "mainEntity": {
            "@type": "ItemList",
            "itemListElement": [
                {
                    "@type": "ListItem",
                    "position": n,
                    "url": site + article_path(item.slug),
                    "name": item.title,
                }
                for n, item in enumerate(items, start=1)
            ],
        },
    }
    return Head(
        title=site_name if title == site_name else page_title(title, site_name),
        canonical=url,
        description=describe(description),
        json_ld=data,
        links={k: site + v for k, v in (links or {}).items()},
        noindex=noindex,
    )
