"""Compliance checks of text the bot would publish: the 广告法 lint."""
