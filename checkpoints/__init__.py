"""Persistence: the LangGraph checkpointer and the tables beside it (appointments, sessions)."""
