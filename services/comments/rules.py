"""The moderation decision, as a plain function of the comment and what is known around it.

Order matters: reasons to reject come first (the comment is not kept for a
moderator), then reasons to hold. Every reason found is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .words import WordList

Decision = Literal["approved", "held", "rejected"]


@dataclass(frozen=True)
class Context:
    """What the service knows when a comment arrives (gathered from its database)."""

    article_known: bool
    article_open: bool
    flood: bool  # same client or email within the flood window
    duplicate: bool  # same article, same author, same text, already kept
    first_time: bool  # no approved comment from this email yet
    links: int
    empty: bool  # nothing left after sanitising
    #: A reply to a comment readers cannot see (held, rejected, removed, unknown) or to a reply.
    reply_to_hidden: bool = False


@dataclass(frozen=True)
class Policy:
    hold_links: int
    moderation_words: WordList
    banned_words: WordList
    premoderate_first_time: bool


def decide(
    policy: Policy,
    context: Context,
    *,
    name: str,
    email: str,
    website: str | None,
    text: str,
    spam_signals: tuple[str, ...],
) -> tuple[Decision, list[str]]:
    reject: list[str] = []
    if not context.article_known:
        reject.append("unknown_article")
    elif not context.article_open:
        reject.append("comments_closed")
    if context.flood:
        reject.append("flood")
    if context.duplicate:
        reject.append("duplicate")
    if context.empty:
        reject.append("empty")
    if context.reply_to_hidden:
        reject.append("parent_hidden")
    if policy.banned_words.find(name, email, website, text):
        reject.append("banned_word")
    if reject:
        return "rejected", reject

    hold: list[str] = []
    if spam_signals:
        hold.append("likely_spam")
    if context.links >= policy.hold_links:
        hold.append("links")
    if policy.moderation_words.find(name, email, website, text):
        hold.append("moderation_word")
    if policy.premoderate_first_time and context.first_time:
        hold.append("first_time")
    if hold:
        return "held", hold
    return "approved", []
