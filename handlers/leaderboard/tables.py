"""The last board each group was shown, so a broadcast with nothing new posts nothing.

One row per (campaign, group): the digest of the figures last posted there and how many boards
it got. It is written with the board's outbox row, in the broadcast's claim transaction or the
periodic check's own (`handlers.leaderboard.posting`), so a broadcast that runs twice (a retry, a
restart) posts once, and a rolled-back one leaves the digest as it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.storage.tables import utc_column


class LeaderboardPost(SQLModel, table=True):
    """The figures a group's latest 实时销量榜 showed (their digest) and how many were posted."""

    __tablename__ = "leaderboard_posts"

    campaign_id: str = Field(primary_key=True)
    group_id: str = Field(primary_key=True)
    digest: str = ""
    posts: int = 0
    posted_at: datetime = utc_column()


POSTS = LeaderboardPost.__table__  # type: ignore[attr-defined]
TABLES = [POSTS]

__all__ = ["POSTS", "TABLES", "LeaderboardPost"]
