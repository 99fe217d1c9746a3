"""Postgres storage (`DATABASE_URL=postgresql://...`): saver, appointment book, session registry.

Every part shares one psycopg connection pool per process; `migrate` creates or upgrades the
schema, safely when several processes start together on an empty database.
"""
