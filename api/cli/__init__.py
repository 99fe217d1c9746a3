"""The `lex` terminal commands: a client of the HTTP API (chat, sessions, replay) and Studio.

Apart from the server on purpose: these modules talk to a running Lex over HTTP and import nothing
that serves requests.
"""
