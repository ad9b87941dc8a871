"""Chat network adapters. Only `bot.transports.wechaty_adapter` imports wechaty."""
