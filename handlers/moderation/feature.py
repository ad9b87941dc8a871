"""The moderation feature: judge every member post from memory, answer with the ladder, leaders' commands."""

from __future__ import annotations

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.moderation import audit, chat, commands
from handlers.moderation.service import MUTE_LONGEST, Moderation
from handlers.moderation.shared import ModerationShared


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Make the service and read back, in ONE query at start, who is muted and how many strikes
    members have, so the matcher never reads the database and a restart forgets no mute."""
    moderation = services.provide(Moderation(services.config))
    now = services.clock.now()
    hours = [services.config.moderation.strikes_reset_hours] + [
        moderation.rules(gid).strikes_reset_hours for gid in services.config.groups
    ]
    rows = audit.since(services.repo.engine, audit.memory_cutoff(now, hours, MUTE_LONGEST))
    moderation.restore([(r.group_id, r.member_id, r.action, r.strike, r.at, r.until) for r in rows], now)
    services.shared_state.append(ModerationShared(services, moderation))  # other accounts' groups


FEATURE = Feature("moderation", modules=(chat, commands), setup=setup)
