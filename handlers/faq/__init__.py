"""The faq feature."""
