"""The offline model: a deterministic, rule-based chat model used when no Groq key is set.

It reads the conversation, decides which tool to call or what to say, and streams its answer token
by token like a provider would, so the graph, the API and the page run unchanged without a key.
"""
