"""Running turns: one turn per session, run as a server-side task, translated into events.

`manager` owns the running turns (rejoin, cancel, busy sessions), `executor` runs one through the
graph and repairs the history on failure, `translate` turns graph output into turn events, and
`failures` classifies model errors.
"""
