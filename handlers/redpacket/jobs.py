"""Job body ending a red-packet burst when its window is over.

Module-level and called with a plain burst id, so a persistent job store can
import it by reference (`handlers.redpacket.jobs:job_close_redpacket`); the
job id is `redpacket:<burst id>:close`. Tests call it (or
`handlers.redpacket.chat.close_burst`) directly.
"""

from __future__ import annotations

from bot.context import Services
from schedules import runtime


async def job_close_redpacket(burst_id: str) -> None:
    """Close the burst and post its winners and best luck (a no-op if it already ended)."""
    from handlers.redpacket.chat import close_burst

    close_burst(runtime.current(Services), burst_id)
