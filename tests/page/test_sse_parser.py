"""The page's SSE parser (`api/static/sse.js`), run in the browser on streams cut at awkward places.

The page reads `POST /query` with fetch, so it parses the event stream itself; these cases are the
parts of the HTML standard's rules a hand-written parser most often gets wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from api.settings import Settings
from tests.support.live_server import serve

PARSE_IN_PAGE = """async (chunks) => {
    const { SseParser } = await import('/static/sse.js');
    const events = [];
    const parser = new SseParser((event) => events.push(event));
    for (const chunk of chunks) parser.feed(chunk);
    return events;
}"""


@pytest.fixture(scope="module")
def static_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server for the page's modules; these tests never chat."""
    database = tmp_path_factory.mktemp("sse") / "lex.sqlite"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite:///{database}", model_provider="offline"
    )
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def parse(browser: Any, static_server: str) -> Iterator[Any]:
    """Feeds chunks to the page's parser; returns the events it dispatched."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{static_server}/")
    yield lambda *chunks: page.evaluate(PARSE_IN_PAGE, list(chunks))
    context.close()


def event(type_: str, data: str, last_event_id: str = "") -> dict[str, str]:
    return {"type": type_, "data": data, "lastEventId": last_event_id}


def test_line_endings_of_every_kind_even_split_across_chunks(parse: Any) -> None:
    assert parse("event: chunk\r", "\ndata: a\r\n\r", "\nevent: end\rdata: b\r\r") == [
        event("chunk", "a"),
        event("end", "b"),
    ]


def test_data_lines_join_and_spaces_after_the_first_are_kept(parse: Any) -> None:
    assert parse("data:  two spaces\ndata:line2\n\n") == [event("message", " two spaces\nline2")]


def test_comments_unknown_fields_and_events_without_data_are_skipped(parse: Any) -> None:
    assert parse(": ping\n\nretry: 10\nevent: lonely\n\nfoo: bar\ndata\n\n") == [
        event("message", "")
    ]


def test_the_last_event_id_carries_over_to_later_events(parse: Any) -> None:
    stream = "id: r:1\nevent: chunk\ndata: x\n\nevent: chunk\ndata: y\n\nid: r:2\ndata: z\n\n"
    assert parse(stream) == [
        event("chunk", "x", "r:1"),
        event("chunk", "y", "r:1"),
        event("message", "z", "r:2"),
    ]


def test_an_event_cut_off_by_the_end_of_the_stream_is_not_dispatched(parse: Any) -> None:
    assert parse("event: chunk\ndata: complete\n\nevent: chunk\ndata: cut") == [
        event("chunk", "complete")
    ]


def test_a_chunk_cut_in_the_middle_of_a_field(parse: Any) -> None:
    assert parse("ev", "ent: tool_u", "se\nda", 'ta: {"id":1}', "\n", "\n") == [
        event("tool_use", '{"id":1}')
    ]
