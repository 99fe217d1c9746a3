"""One router per resource: the page, health, queries, running turns and saved sessions."""
