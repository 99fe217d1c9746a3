"""Makes the Groq stand-in fixtures available to the tests of the stand-in itself."""

from tests.support.fixtures import groq_env, groq_standin

__all__ = ["groq_env", "groq_standin"]
