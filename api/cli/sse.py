"""The one Server-Sent Events reader of our Python clients: the terminal client, tests and bench.

It follows the HTML standard's parsing rules (blank lines dispatch, `data:` lines join with a
newline, comments skipped, the last `id:` remembered for a rejoin), so it reads a stream the way a
browser's `EventSource` would, not the way the legacy chat frontend does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class StreamEvent:
    """One dispatched Server-Sent Event.

    Attributes:
        event: The event type ("message" when the stream named none).
        data: The data lines, joined with newlines.
        last_event_id: The last `id:` seen so far in the stream, what a rejoin sends back.
    """

    event: str
    data: str
    last_event_id: str | None = None

    @property
    def id(self) -> str | None:
        """The event's id as a browser reports it (the last id seen)."""
        return self.last_event_id

    def json(self) -> Any:
        """The data parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.data)

    def payload(self) -> dict[str, Any]:
        """The data as a JSON object; empty when it is not one."""
        try:
            value = self.json()
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass
class SseLineParser:
    """Parses an event stream line by line, per the HTML standard, keeping the last event id."""

    last_event_id: str | None = None
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _has_data: bool = False

    def feed(self, line: str) -> StreamEvent | None:
        """Consumes one line (without its line break); returns the event a blank line completes."""
        if line == "":
            event = None
            if self._has_data:
                event = StreamEvent(
                    self._event or "message", "\n".join(self._data), self.last_event_id
                )
            self._event, self._data, self._has_data = "", [], False
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        return None

    def events(self, lines: Iterable[str]) -> Iterator[StreamEvent]:
        """Yields the events of a stream of lines; an unfinished last event is dropped."""
        for line in lines:
            event = self.feed(line)
            if event is not None:
                yield event


def parse_sse(body: str) -> list[StreamEvent]:
    """Parses a complete stream, whatever its line endings."""
    return list(SseLineParser().events(LINE_BREAK.split(body)))
