"""The comments service's internal HTTP API: thin routes over :mod:`.store`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query

from shared.contracts.api import (
    CommentPage,
    CommentStatusOut,
    ModerationComment,
    ModerationNote,
    ModerationPage,
    PublicComment,
)
from shared.contracts.copying import copy_into
from shared.service.skeleton import Reads, Writes
from shared.web.params import Cursor
from shared.web.problems import Problem, found

from . import store
from .models import Comment
from .parts import Relay, moderator

router = APIRouter()
#: What only moderators may call: every route checks the moderator token first.
moderating = APIRouter(dependencies=[Depends(moderator)])


def public(comment: Comment) -> PublicComment:
    return copy_into(PublicComment, comment)


def for_moderator(comment: Comment) -> ModerationComment:
    return copy_into(ModerationComment, comment)


def status_of(comment: Comment) -> CommentStatusOut:
    return copy_into(CommentStatusOut, comment)


@router.get("/comments/{comment_id}", response_model=CommentStatusOut, summary="A comment's status")
async def comment_status(comment_id: uuid.UUID, reads: Reads) -> CommentStatusOut:
    comment = await store.get_comment(reads, comment_id)
    return status_of(found(comment, "Comment not found", f"No comment has the id {comment_id}."))


@router.get(
    "/articles/{article_id}/comments",
    response_model=CommentPage,
    summary="Approved comments, oldest first",
)
async def article_comments(
    article_id: uuid.UUID,
    reads: Reads,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CommentPage:
    page, next_cursor = await store.list_comments(
        reads, status="approved", article_id=article_id, limit=limit, cursor=cursor
    )
    return CommentPage(items=[public(c) for c in page], next_cursor=next_cursor)


@moderating.get(
    "/moderation/comments",
    response_model=ModerationPage,
    summary="Comments for moderators (held by default)",
)
async def moderation_queue(
    reads: Reads,
    status: Literal["held", "approved", "rejected", "removed"] = "held",
    article_id: uuid.UUID | None = None,
    reason: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ModerationPage:
    page, next_cursor = await store.list_comments(
        reads, status=status, article_id=article_id, limit=limit, cursor=cursor, reason=reason
    )
    return ModerationPage(items=[for_moderator(c) for c in page], next_cursor=next_cursor)


@moderating.post(
    "/moderation/comments/{comment_id}/{action}",
    response_model=CommentStatusOut,
    summary="Approve, reject or remove a comment",
)
async def moderation_action(
    comment_id: uuid.UUID,
    action: Literal["approve", "reject", "remove"],
    writes: Writes,
    relay: Relay,
    note: Annotated[ModerationNote | None, Body()] = None,
) -> CommentStatusOut:
    try:
        comment = await store.moderate(writes, comment_id, action, note.reason if note else None)
    except store.NotAllowed as exc:
        raise Problem(409, "Not allowed", str(exc)) from exc
    decided = found(comment, "Comment not found", f"No comment has the id {comment_id}.")
    relay.wake()
    return status_of(decided)
