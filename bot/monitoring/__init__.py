"""Watching groups: metrics over sliding windows, alert rules, reports."""
