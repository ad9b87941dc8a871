"""Leader and admin rights by id (/leader, /admin) and campaign control (/campaign, /reload)."""

from bot.feature import Feature
from handlers.admin import campaigns, roles

FEATURE = Feature("admin", modules=(roles, campaigns))
