"""Storage: the one place the bot reads and writes its database."""
