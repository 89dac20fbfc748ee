from __future__ import annotations

from pydantic import Field

from shared.settings import NewsroomSettings


class CommentsSettings(NewsroomSettings):
    service_name: str = "comments"
    #: Comments close this many days after publication (0: never).
    close_after_days: int = 0
    #: A second comment from the same client or email within this many seconds is rejected.
    flood_seconds: float = 15.0
    #: Comments with at least this many links (plain URLs count) are held.
    hold_links: int = 2
    #: Words or phrases that hold a comment for a moderator (JSON list in the environment).
    moderation_words: list[str] = Field(default_factory=list)
    #: Words or phrases that reject a comment outright.
    banned_words: list[str] = Field(default_factory=list)
    #: Hold the first comment of every new email address.
    premoderate_first_time: bool = False
    #: A comment on an article this service has not heard of yet waits this long for the
    #: article's event (the two streams are read independently) before it is rejected.
    unknown_article_grace_seconds: float = 60.0
