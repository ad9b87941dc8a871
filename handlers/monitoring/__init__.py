"""The monitoring feature."""
