"""Who may do what, decided by member id only.

Admins come from `config.yaml`; leaders per group from config plus grants made
in chat by an admin (`/leader add`). A member who renames themselves to a
leader's display name gains nothing: names are never consulted here.
"""

from __future__ import annotations

from bot.config import Config
from bot.storage.repo import Repo
from bot.vocab import Role


class RoleBook:
    """Role lookups from memory: every grant is read once at start, and again per group when
    a grant changes (they change rarely and are read on every command)."""

    def __init__(self, config: Config, repo: Repo) -> None:
        self.config = config
        self.repo = repo
        self._granted: dict[str, frozenset[str]] = self.read_grants()
        # Each group's leaders (config and grants), made on first ask: every message asks twice
        # (its lane, the moderation matcher), and a grant changes it rarely.
        self._leader_sets: dict[str, frozenset[str]] = {}

    def _leaders(self, group_id: str) -> frozenset[str]:
        leaders = self._leader_sets.get(group_id)
        if leaders is None:
            granted = self._granted.get(group_id, frozenset())
            configured = self.config.groups.get(group_id)
            leaders = granted | frozenset(configured.leaders) if configured else granted
            self._leader_sets[group_id] = leaders
        return leaders

    def role_of(self, member_id: str, group_id: str = "") -> Role:
        if member_id in self.config.admins:
            return Role.ADMIN
        if group_id:
            return Role.LEADER if member_id in self._leaders(group_id) else Role.MEMBER
        return Role.LEADER if self.leader_groups(member_id) else Role.MEMBER

    def leaders_of(self, group_id: str) -> set[str]:
        return set(self._leaders(group_id))

    def leader_groups(self, member_id: str) -> list[str]:
        """Groups this member leads (by config or grant); for private commands and alerts."""
        groups = {gid for gid, g in self.config.groups.items() if member_id in g.leaders}
        return sorted(groups | {gid for gid, members in self._granted.items() if member_id in members})

    def read_grants(self) -> dict[str, frozenset[str]]:
        """Every group's granted leaders (off the loop: several accounts' peer sync reads it)."""
        return {group_id: frozenset(m) for group_id, m in self.repo.all_granted("leader").items()}

    def follow(self, granted: dict[str, frozenset[str]]) -> None:
        """Grants made or taken back in another account's process (`bot.shared_state`)."""
        self._granted = granted
        self._leader_sets = {}

    def invalidate(self, group_id: str) -> None:
        """A grant in `group_id` changed: read that group's grants again (one query, at the change)."""
        self._granted[group_id] = frozenset(self.repo.granted_members(group_id, "leader"))
        self._leader_sets.pop(group_id, None)
