"""The `lex` console script against a real server: `sessions` and `replay`, and their failures."""

from __future__ import annotations

import io

import httpx
import pytest

from api.cli.main import main
from api.cli.sse import SseLineParser
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.live_server import free_port
from tests.support.scripted_model import ScriptedChatModel, calls, text


def lex(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def send(base_url: str, query: str, session_id: str) -> None:
    body = {"query": query, "session_id": session_id}
    response = httpx.post(f"{base_url}/query", json=body, headers=OPERATOR, timeout=30)
    assert response.status_code == 200


def test_sessions_lists_newest_first_and_all_follows_every_page(
    lex_server: ServerFactory,
) -> None:
    model = ScriptedChatModel(script=[text("Hi!"), text("Hello!"), text("Hey!")])
    with lex_server(chat_model=model) as base_url:
        code, empty = lex("sessions", "--url", base_url)
        send(base_url, "Is the GT available in red?", "s-first")
        send(base_url, "Book me a test drive", "s-second")
        send(base_url, "And in blue?", "s-first")
        _, one_page = lex("sessions", "--url", base_url, "--limit", "1")
        _, every_page = lex("sessions", "--url", base_url, "--limit", "1", "--all")

    assert code == 0 and empty == "No saved sessions yet.\n"
    header, *rows, hint = one_page.splitlines()
    assert header.split() == ["UPDATED", "(UTC)", "TURNS", "SESSION", "TITLE"]
    assert len(rows) == 1 and rows[0].split()[2:] == [
        "2",
        "s-first",
        "Is",
        "the",
        "GT",
        "available",
        "in",
        "red?",
    ]
    assert hint == "More sessions: lex sessions --all"
    lines = every_page.splitlines()
    assert [line.split()[3] for line in lines[1:]] == ["s-first", "s-second"]


def test_replay_prints_the_conversation_with_tool_calls_and_results(
    lex_server: ServerFactory,
) -> None:
    model = ScriptedChatModel(
        script=[
            calls(("get_weather", {"city": "Miami"})),
            text("Sunny in Miami today."),
            calls(("get_dealership_address", {"dealership_id": "paris"})),
            text("We have no dealership in Paris."),
        ]
    )
    with lex_server(chat_model=model) as base_url:
        send(base_url, "weather in Miami?", "s-print")
        send(base_url, "address in Paris?", "s-print")
        code, printed = lex("replay", "s-print", "--url", base_url)

    assert code == 0
    lines = [line for line in printed.splitlines() if line]
    assert lines[0] == "--- turn 1 ---"
    assert lines[1] == "You: weather in Miami?"
    assert lines[2] == '  -> get_weather {"city": "Miami"}'
    assert lines[3].startswith("  <- get_weather: The weather in Miami is ")
    assert lines[4] == "Lex: Sunny in Miami today."
    assert lines[5:7] == ["--- turn 2 ---", "You: address in Paris?"]
    assert lines[7] == '  -> get_dealership_address {"dealership_id": "paris"}'
    assert lines[8].startswith("  <- get_dealership_address: failed: ")
    assert lines[9] == "Lex: We have no dealership in Paris."
    assert len(lines) == 10


def test_replay_of_an_unknown_session_fails_with_the_service_message(
    lex_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed = lex("replay", "nobody", "--url", lex_url)
    assert code == 1 and printed == ""
    assert capsys.readouterr().err == "lex: No saved session 'nobody'.\n"


def test_an_unreachable_service_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert lex("sessions", "--url", url)[0] == 1
    assert lex("replay", "s-1", "--url", url)[0] == 1
    errors = capsys.readouterr().err.splitlines()
    assert (
        errors == [f"lex: cannot reach Lex at {url} (ConnectError); is it running? (make run)"] * 2
    )


def test_without_a_command_it_shows_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert lex()[0] == 2
    help_text = capsys.readouterr().err
    for command in ("sessions", "replay", "studio"):
        assert command in help_text


def test_the_sse_reader_joins_data_lines_and_skips_comments() -> None:
    lines = [": ping", "event: chunk", "data: a", "data: b", "", "data: plain", ""]
    messages = list(SseLineParser().events(lines))
    assert [(m.event, m.data) for m in messages] == [("chunk", "a\nb"), ("message", "plain")]
