"""The payment half's tables (listed in bot.schema)."""
