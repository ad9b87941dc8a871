"""Feature modules. The app collects handlers from this explicit list only."""

from types import ModuleType

from handlers import campaign_admin, help, roles

FEATURES: list[ModuleType] = [help, roles, campaign_admin]
