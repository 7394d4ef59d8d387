"""Sign-in by one-time code, roles, sessions."""
