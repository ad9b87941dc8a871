"""Which account serves which group, now (several accounts on one database: docs/deploy.md).

Each account process handles the messages of the groups it serves and sends their posts; a
group listed by several accounts is served by the first of them (config order) whose process
is up and logged in. Everything here is answered from memory: the event loop asks it for
every message and every queued post. What is up is learnt by the peer sync
(`bot.account_sync`), which reads the other processes' heartbeats.

A group no account lists (a campaign names it, or a member adds the bot to it) is served by
whichever process hears it; timeline posts for it go out through the process that runs the
scheduler. List every group under an account to avoid that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cachetools import LRUCache

from bot.config import Config

__all__ = ["UNROUTED", "AccountDirectory"]

UNROUTED = "?"  # a private message's account, until the peer sync finds the member's groups
HEARD_MEMBERS = 200_000  # members this process heard lately (memory: ~100 bytes each)


@dataclass
class AccountDirectory:
    """This process's account among all accounts, and who serves each listed group."""

    me: str
    order: tuple[str, ...]
    listed: dict[str, tuple[str, ...]]  # group id -> accounts that list it, primary first
    led: dict[str, tuple[str, ...]] = field(default_factory=dict)  # leader id -> groups in config
    down: frozenset[str] = field(default_factory=frozenset)
    absent: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (account, group) removed
    heard: LRUCache[str, None] = field(default_factory=lambda: LRUCache(maxsize=HEARD_MEMBERS))

    @classmethod
    def from_config(cls, config: Config, me: str) -> AccountDirectory:
        """The accounts of `config`, seen from account `me` (which must be one of them)."""
        ids = tuple(a.id for a in config.accounts)
        if me not in ids:
            known = ", ".join(ids) or "none (no accounts: section)"
            raise ValueError(f"no account {me!r} in config.yaml accounts:; known: {known}")
        listed: dict[str, list[str]] = {}
        for account in config.accounts:
            tagged = [g for g, s in config.groups.items() if set(s.tags) & set(account.tags)]
            for group_id in [*account.groups, *tagged]:
                served_by = listed.setdefault(group_id, [])
                if account.id not in served_by:
                    served_by.append(account.id)
        led: dict[str, list[str]] = {}
        for group_id, settings in config.groups.items():
            for leader in settings.leaders:
                led.setdefault(leader, []).append(group_id)
        return cls(
            me=me,
            order=ids,
            listed={g: tuple(a) for g, a in listed.items()},
            led={m: tuple(g) for m, g in led.items()},
        )

    # -- asked per message and per post (memory only) ------------------------------------------
    def server(self, group_id: str) -> str:
        """The account that serves `group_id` now: its first lister that is up (else its primary).

        A group nobody lists is served by this process (it heard the group, so it is in it)."""
        accounts = self.listed.get(group_id)
        if not accounts:
            return self.me
        for account in accounts:
            if account not in self.down and (account, group_id) not in self.absent:
                return account
        return accounts[0]  # every lister is down: the posts wait for the primary

    def handles(self, group_id: str) -> bool:
        """Whether this process acts on the group's messages (another account may also hear them)."""
        return self.server(group_id) == self.me

    def route(self, group_id: str) -> str:
        """The account whose process sends a post queued now for `group_id` ("" private: this one)."""
        return self.server(group_id) if group_id else self.me

    def hear(self, member_id: str) -> None:
        """This process heard the member (in a group it serves, or privately): it may write to them."""
        self.heard[member_id] = None

    def route_private(self, member_id: str) -> str:
        """The account for a private message queued on the loop: this one if it heard the member
        (a reply, a notice after their order), else UNROUTED: the peer sync reads the member's
        groups off the loop and gives the row to an account serving one (`route_member`)."""
        return self.me if member_id in self.heard else UNROUTED

    def route_member(self, member_id: str, groups: list[str]) -> str:
        """The account for a private message to a member in `groups` (their memberships): one
        serving a group they are in, else one of the groups they lead, else this process's."""
        for group_id in [*groups, *self.led.get(member_id, ())]:
            if group_id in self.listed:
                return self.server(group_id)
        return self.me

    # -- told by the peer sync ---------------------------------------------------------------
    def set_down(self, down: Iterable[str], absent: Iterable[tuple[str, str]] = ()) -> list[str]:
        """Record which accounts are down now, and which were removed from which groups (this
        one's own removals too: it must stop acting there); the listed groups whose server changed."""
        before = {g: self.server(g) for g in self.listed}
        self.down = frozenset(a for a in down if a != self.me)
        self.absent = frozenset(absent)
        return sorted(g for g, was in before.items() if self.server(g) != was)

    def is_absent(self, group_id: str) -> bool:
        """Whether this account is recorded as removed from the group (it hears it: it is back)."""
        return (self.me, group_id) in self.absent

    def taken_over(self) -> dict[str, list[str]]:
        """Groups this process serves now in place of a down primary: down account -> groups."""
        taken: dict[str, list[str]] = {}
        for group_id, accounts in self.listed.items():
            if accounts[0] != self.me and self.server(group_id) == self.me:
                for account in accounts:
                    if account == self.me:
                        break
                    taken.setdefault(account, []).append(group_id)
        return taken
