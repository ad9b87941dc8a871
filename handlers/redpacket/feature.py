"""Red-packet rain: the timeline node that starts a burst, the grabs, the close job."""

from bot.feature import Feature
from handlers.redpacket import chat

FEATURE = Feature(
    "redpacket",
    modules=(chat,),
    node_runners=chat.NODE_RUNNERS,
    node_hooks=chat.NODE_HOOKS,
)
