"""Saved sessions: reading a session history back as a transcript, a replay or a fork point."""
