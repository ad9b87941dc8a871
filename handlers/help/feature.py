"""/help: the command list, from each command's first docstring line."""

from bot.feature import Feature
from handlers.help import chat

FEATURE = Feature("help", modules=(chat,))
