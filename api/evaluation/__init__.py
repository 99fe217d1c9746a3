"""`lex eval`: scripted customer conversations played against a model, and what is scored."""
