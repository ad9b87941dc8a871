"""board feature (issue 19)."""
