"""The 广告法 lint as a service for text people type into the bot (leaders, later broadcasts).

Features get it by type, made once per process::

    guard = services.get_or_make(AdlawGuard, lambda: AdlawGuard(services.config))
    hits = guard.check_leader_text(group_id, text)            # welcome, FAQ answer: any time
    hits = guard.check_leader_text(group_id, text, closes_in)  # a post sent now, sale open for closes_in
    if hits: refuse, and tell the writer privately (templates/compliance/adlaw_refused.j2)

It applies config.yaml's ``adlaw:`` (all groups) plus the group's ``groups.<id>.adlaw:`` allow
and extra entries. The config is immutable, so each group's merged entries are built once.
"""

from __future__ import annotations

from datetime import timedelta

from bot.compliance.adlaw import Hit, check
from bot.config import AdlawSettings, Config

__all__ = ["AdlawGuard"]


class AdlawGuard:
    """Checks leaders' texts against the word list with each group's allow/extra entries."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._settings: dict[str, AdlawSettings] = {}  # one per configured group at most

    def settings(self, group_id: str) -> AdlawSettings:
        """The group's merged entries (config's for all groups, plus its own)."""
        if group_id not in self.config.groups:
            return self.config.adlaw
        found = self._settings.get(group_id)
        if found is None:
            found = self._settings[group_id] = self.config.adlaw_for(group_id)
        return found

    def check_leader_text(self, group_id: str, text: str, closes_in: timedelta | None = None) -> list[Hit]:
        """Every forbidden claim in a text a leader wants the bot to post in ``group_id``.

        ``closes_in`` is how long the sale stays open after the text is sent; None (the default)
        for texts shown at any time (welcome, FAQ answers), where 「最后一天」 cannot be true.
        """
        settings = self.settings(group_id)
        return check(text, allow=settings.allow, extra=settings.extra, closes_in=closes_in)
