"""Per-run knobs, read by the nodes through `Runtime[Context]` (Studio shows them as run settings).

Values come from the caller for each run, never from the model: `user_id` in particular is what the
booking tools act for, so a customer cannot book or cancel for someone else by asking, and `client`
is whose booking allowance a booking spends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_USER_ID = "anonymous"
DEFAULT_TIMEZONE = "America/New_York"


@dataclass(kw_only=True)
class Context:
    """Run-scoped settings of one turn.

    Attributes:
        user_id: Who the booking tools act for; injected into their hidden `user_id` argument.
        client: The client (its address) whose bookings the per-client booking limit counts;
            None for a run no client limit applies to (the operator's, Studio's).
        timezone: IANA timezone used for "today" in the system prompt.
        model_name: The chat model to answer this run with, when the graph can build one by name.
        stream_tokens: Whether the model node writes each piece of its answer to the run's
            `custom` stream: Lex's turns read tokens there; Studio, which reads them from its
            `messages` stream, leaves it off and gets each token once.
    """

    user_id: str = field(
        default=DEFAULT_USER_ID,
        metadata={"description": "The customer the booking tools act for."},
    )
    client: str | None = field(
        default=None,
        metadata={
            "description": "The client (address) whose bookings the per-client booking limit "
            "counts; empty: not limited."
        },
    )
    timezone: str = field(
        default=DEFAULT_TIMEZONE,
        metadata={"description": "IANA timezone in which Lex reads 'today' and 'tomorrow'."},
    )
    model_name: str | None = field(
        default=None,
        metadata={
            "description": "Groq model id for this run (e.g. openai/gpt-oss-20b); "
            "empty for the configured model. Ignored by the offline model."
        },
    )
    stream_tokens: bool = field(
        default=False,
        metadata={
            "description": "Write each token of the answer to the custom stream (Lex's API does; "
            "Studio shows tokens from its messages stream)."
        },
    )
