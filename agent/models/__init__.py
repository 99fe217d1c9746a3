"""Chat models: which Groq model answers, how ChatGroq's requests are sent, the offline model."""
