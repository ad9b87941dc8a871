"""The after-sales tables (listed in bot.schema)."""
