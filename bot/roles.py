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
    """Role lookups with grants cached in memory (they change rarely, are read on every command)."""

    def __init__(self, config: Config, repo: Repo) -> None:
        self.config = config
        self.repo = repo
        self._granted: dict[str, set[str]] = {}

    def _leaders(self, group_id: str) -> set[str]:
        granted = self._granted.get(group_id)
        if granted is None:
            granted = self.repo.granted_members(group_id, "leader")
            self._granted[group_id] = granted
        configured = self.config.groups.get(group_id)
        return granted | set(configured.leaders if configured else [])

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
        return sorted(groups | self.repo.groups_granted(member_id, "leader"))

    def invalidate(self, group_id: str) -> None:
        self._granted.pop(group_id, None)
