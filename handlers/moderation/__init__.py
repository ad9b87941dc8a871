"""Moderation of member posts: links and cards, floods, banned words, mass-@; a ladder of responses."""
