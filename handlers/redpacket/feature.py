"""Red-packet rain: the timeline node that starts a burst, the grabs, the close job."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.redpacket import chat
from handlers.redpacket.lookup import load_live
from handlers.redpacket.shared import RedPacketShared


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Load every group's live burst keywords in one query: the grab matcher (which never
    reads the database) is complete from the first message, bursts of a previous run included."""
    load_live(services)
    services.shared_state.append(RedPacketShared(services))  # bursts other account processes start


FEATURE = Feature(
    "redpacket",
    modules=(chat,),
    node_runners=chat.NODE_RUNNERS,
    node_hooks=chat.NODE_HOOKS,
    setup=setup,
)
