"""The wire models of the HTTP API: request bodies, responses and error bodies (OpenAPI docs)."""
