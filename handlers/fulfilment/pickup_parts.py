"""What the pickup half of fulfilment brings to the feature: handler modules, node hooks, setup."""

from types import ModuleType

from bot.campaign.nodes import NodeHook
from bot.context import Services
from bot.feature import Lifecycle

MODULES: tuple[ModuleType, ...] = ()
NODE_HOOKS: dict[str, NodeHook] = {}


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Nothing to set up yet."""
