"""ChatGroq's chat requests, sent without the Groq SDK's pass over their messages.

Before it sends a request, the Groq SDK walks the whole body against its typed-dict annotations, to
rename aliased keys and format dates and files (`async_maybe_transform`). Chat messages have no
such key, yet the walk tries every message against every member of the message union: about
0.1 ms a message, 10 ms for the hundred messages of a full context window, on every model call,
with the event loop held. The message dicts ChatGroq builds are plain JSON already, so they travel
in `extra_body`, which the SDK merges into the request body as given; every other parameter still
goes through the SDK. The request on the wire is the same (a test compares the bytes), and a test
checks that the SDK's walk leaves every kind of message ChatGroq sends unchanged, so an SDK that
starts renaming one of their keys fails the suite rather than the requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from langchain_groq import ChatGroq


def _messages_as_given(messages: Iterable[Any], params: dict[str, Any]) -> dict[str, Any]:
    """The arguments of `create`: no messages for the SDK to walk, all of them in `extra_body`."""
    extra: Mapping[str, Any] = params.pop("extra_body", None) or {}
    return {**params, "messages": [], "extra_body": {**extra, "messages": list(messages)}}


class AsyncMessagesAsGiven:
    """An async chat-completions resource whose messages skip the SDK's walk.

    Args:
        completions: The SDK's resource (`AsyncGroq(...).chat.completions`).
    """

    def __init__(self, completions: Any) -> None:
        self._completions = completions

    async def create(self, *, messages: Iterable[Any], **params: Any) -> Any:
        """`completions.create`, with the messages sent as given."""
        return await self._completions.create(**_messages_as_given(messages, params))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._completions, name)


class MessagesAsGiven:
    """The synchronous counterpart of `AsyncMessagesAsGiven` (ChatGroq's `invoke`, `stream`)."""

    def __init__(self, completions: Any) -> None:
        self._completions = completions

    def create(self, *, messages: Iterable[Any], **params: Any) -> Any:
        """`completions.create`, with the messages sent as given."""
        return self._completions.create(**_messages_as_given(messages, params))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._completions, name)


def sending_messages_as_given(model: ChatGroq) -> ChatGroq:
    """Returns `model` with its SDK clients wrapped so its messages skip the SDK's walk."""
    if not isinstance(model.async_client, AsyncMessagesAsGiven):
        model.async_client = AsyncMessagesAsGiven(model.async_client)
    if not isinstance(model.client, MessagesAsGiven):
        model.client = MessagesAsGiven(model.client)
    return model
