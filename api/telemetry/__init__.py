"""What operators see of a running Lex: metrics, structured logs, per-turn measures and traces."""
