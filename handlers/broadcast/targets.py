"""Whom a chat broadcast goes to, and whether its author may send there (by member id only).

`#tag` is every group whose `groups.<id>.tags` in config.yaml has the tag; `all` is every
configured group (admins only); anything else is one group id. A campaign file's message names
several at once (`groups_named`). Admins may target any group;
a leader only groups they lead (`bot.roles`): a target that reaches one group they do not lead
is refused as a whole, naming those groups, rather than silently trimmed. Groups keep the
config's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.campaign.broadcast_models import ALL_TARGETS
from bot.config import Config
from bot.roles import RoleBook

ALL_WORDS = ALL_TARGETS


@dataclass(frozen=True)
class Targets:
    groups: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # groups the author may not send to
    unknown: bool = False  # the word names no group
    admins_only: bool = False  # `all` from a non-admin


def groups_named(config: Config, words: list[str]) -> list[str]:
    """The configured groups `words` name together (#tag, a group id, all), once each, in config
    order; words that name nothing add nothing."""
    wanted: set[str] = set()
    for word in words:
        if word.lower() in ALL_WORDS:
            wanted.update(config.groups)
        elif word.startswith(("#", "＃")):
            tag = word[1:]
            wanted.update(g for g, s in config.groups.items() if tag and tag in s.tags)
        elif word in config.groups:
            wanted.add(word)
    return [g for g in config.groups if g in wanted]


def resolve(config: Config, roles: RoleBook, author_id: str, word: str) -> Targets:
    admin = author_id in config.admins
    if word.lower() in ALL_WORDS and not admin:
        return Targets(admins_only=True)
    groups = groups_named(config, [word])
    if not groups:
        return Targets(unknown=True)
    if admin:
        return Targets(groups=groups)
    led = set(roles.leader_groups(author_id))
    refused = [g for g in groups if g not in led]
    return Targets(groups=[] if refused else groups, refused=refused)


__all__ = ["ALL_WORDS", "Targets", "groups_named", "resolve"]
