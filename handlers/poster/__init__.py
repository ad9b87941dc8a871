"""poster feature (issue 19)."""
