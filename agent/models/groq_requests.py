"""ChatGroq's chat requests, sent without the Groq SDK's pass over their messages.

Before it sends a request, the Groq SDK walks the whole body against its typed-dict annotations, to
rename aliased keys and format dates and files (`async_maybe_transform`). No type under a chat
request's `messages` has such an annotation, yet the walk tries every message against every member
of the message union: about 0.1 ms a message, 10 ms for the hundred messages of a full context
window, on every model call, with the event loop held. The message dicts ChatGroq builds are plain
JSON already, so they travel in `extra_body`, which the SDK merges into the request body as given
(a caller's own `extra_body` is kept, but its `messages` key, if any, gives way to the real ones);
every other parameter still goes through the SDK. So the messages must be JSON as they are: the
SDK no longer turns a generator into a list or a pydantic object into a dict (ChatGroq never sends
either).

Two tests hold this up: the bytes of a request on the wire are the same with and without the
wrapper, and no type under `messages` in the SDK's request type carries an annotation the walk
would act on, so an SDK release that starts renaming a message key fails the suite, not requests.
`with_raw_response` and `with_streaming_response` reach the SDK's resource unwrapped (ChatGroq
uses neither).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from langchain_groq import ChatGroq


def _messages_as_given(messages: Iterable[Any], params: dict[str, Any]) -> dict[str, Any]:
    """The arguments of `create`: no messages for the SDK to walk, all of them in `extra_body`."""
    extra: Mapping[str, Any] = params.pop("extra_body", None) or {}
    return {**params, "messages": [], "extra_body": {**extra, "messages": list(messages)}}


class _Wrapped:
    """Hands every attribute but `create` to the SDK's resource."""

    def __init__(self, completions: Any) -> None:
        self._completions = completions

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copying or pickling looks these up before `__init__` ran
            raise AttributeError(name)
        return getattr(self._completions, name)


class AsyncMessagesAsGiven(_Wrapped):
    """An async chat-completions resource whose messages skip the SDK's walk.

    Args:
        completions: The SDK's resource (`AsyncGroq(...).chat.completions`).
    """

    async def create(self, *, messages: Iterable[Any], **params: Any) -> Any:
        """`completions.create`, with the messages sent as given."""
        return await self._completions.create(**_messages_as_given(messages, params))


class MessagesAsGiven(_Wrapped):
    """The synchronous counterpart of `AsyncMessagesAsGiven` (ChatGroq's `invoke`, `stream`)."""

    def create(self, *, messages: Iterable[Any], **params: Any) -> Any:
        """`completions.create`, with the messages sent as given."""
        return self._completions.create(**_messages_as_given(messages, params))


def sending_messages_as_given(model: ChatGroq) -> ChatGroq:
    """Returns `model` with its SDK clients wrapped so its messages skip the SDK's walk."""
    if not isinstance(model.async_client, AsyncMessagesAsGiven):
        model.async_client = AsyncMessagesAsGiven(model.async_client)
    if not isinstance(model.client, MessagesAsGiven):
        model.client = MessagesAsGiven(model.client)
    return model
