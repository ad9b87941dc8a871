"""tuanbot: a group-chat bot for community group-buying (社群团购)."""

__version__ = "0.1.0"
