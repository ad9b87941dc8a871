"""The welcome feature."""
