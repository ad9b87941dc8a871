"""Red-packet rain: the timeline node that starts a burst, the grabs, the close job."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.redpacket import chat
from handlers.redpacket.lookup import load_live


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Load every group's live burst keywords in one query: the grab matcher (which never
    reads the database) is complete from the first message, bursts of a previous run included."""
    load_live(services)


FEATURE = Feature(
    "redpacket",
    modules=(chat,),
    node_runners=chat.NODE_RUNNERS,
    node_hooks=chat.NODE_HOOKS,
    setup=setup,
)
