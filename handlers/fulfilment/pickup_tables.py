"""The pickup half's tables (listed in bot.schema)."""
