"""The Lex agent as a library: state, context, prompt and graph; no FastAPI, no settings."""
