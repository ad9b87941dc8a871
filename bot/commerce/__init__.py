"""Selling: order parsing, the single order writer, pricing."""
