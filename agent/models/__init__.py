"""Chat models Lex can answer with besides ChatGroq: the offline, rule-based model."""
