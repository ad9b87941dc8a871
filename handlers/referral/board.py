"""The invite leaderboard (邀请排行): one text, three ways to reach the group.

- `邀请排行` typed in a group: the board now (at most once per `BOARD_ASK_AGAIN` per group).
- The progress post: each change (an invite recorded, an invitee leaving) rolls one post per
  group and campaign through the outbox, queued with a delay of `board.every` and replaced
  while it waits (`Outbox.roll`). So a group sees at most one board per window, and only after
  something changed; a quiet campaign posts nothing.
- The final board at close, queued in the close's transaction (`closing`), which drops a
  progress post still waiting: it would show counts the close has just decided.

The board ranks inviters by invites that count: credited, or pending with the invitee still in
the group. After the close every invite is decided, so the final board is the credited count.
Names are masked (`张**`): the group sees who leads, not who was invited.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from bot.campaign.models import Campaign
from bot.context import Services
from bot.privacy import mask_contacts, mask_name
from bot.vocab import Priority
from handlers.referral.store import BoardRow, ReferralStore

PROGRESS_KIND = "referral_progress"
FINAL_KIND = "referral_board"
BOARD_ASK_AGAIN = timedelta(seconds=60)  # 邀请排行 answered at most this often per group


def masked(name: str) -> str:
    """张** : the first character and stars, enough to recognise oneself, not to be found by
    (contact details in a display name are masked first, so a phone number never leads)."""
    return mask_name(mask_contacts(name.strip()))


def board_lines(rows: list[BoardRow]) -> list[dict[str, object]]:
    return [
        {"rank": i, "name": masked(r.name or r.inviter), "count": r.count}
        for i, r in enumerate(rows, start=1)
    ]


def render_board(services: Services, campaign: Campaign, rows: list[BoardRow], *, final: bool) -> str:
    section = campaign.referral
    assert section is not None
    return services.renderer.render(
        "referral/board.j2",
        bot_name=services.config.bot.name,
        title=campaign.title,
        rows=board_lines(rows),
        final=final,
        ladders=[
            {"invites": r.invites, "points": r.points, "coupon": bool(r.coupon)} for r in section.ladders
        ],
    )


@dataclass
class BoardPosts:
    """This process's queued progress post per (campaign, group)."""

    queued: dict[tuple[str, str], int] = field(default_factory=dict)


def posts_of(services: Services) -> BoardPosts:
    return services.get_or_make(BoardPosts, BoardPosts)


async def refresh(services: Services, campaign: Campaign, group_id: str) -> None:
    """Roll the group's progress post after a change (nothing when the section posts no board)."""
    section = campaign.referral
    if section is None or not section.enabled or not section.board.post:
        return
    store = ReferralStore(services.repo.engine)
    rows = await asyncio.to_thread(store.board, campaign.id, group_id, section.board.top)
    if not rows:
        return
    text = render_board(services, campaign, rows, final=False)
    posts = posts_of(services)
    key = (campaign.id, group_id)
    posts.queued[key] = services.outbox.roll(
        posts.queued.get(key),
        lambda grow: (text, ()),
        group_id=group_id,
        replace_key=f"referral:{campaign.id}",
        delay=section.board.every.total_seconds(),
        priority=Priority.CHATTER,
        kind=PROGRESS_KIND,
    )


__all__ = [
    "BOARD_ASK_AGAIN",
    "FINAL_KIND",
    "PROGRESS_KIND",
    "BoardPosts",
    "masked",
    "posts_of",
    "refresh",
    "render_board",
]
