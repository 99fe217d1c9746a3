"""`lex chat` against a real Lex server on the offline model, used as a customer at a terminal."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from api.cli import main as cli
from api.cli.chat import ChatClient, load_history, run_command
from tests.support.app_server import ServerFactory
from tests.support.live_server import free_port
from tests.support.signals import default_ctrl_c

WEATHER = "What's the weather in Miami?"
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "cli"


def chat(monkeypatch: pytest.MonkeyPatch, typed: str, *args: str) -> tuple[int, str]:
    """Runs `lex chat` in-process with `typed` piped in; returns the exit code and the output."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    out = io.StringIO()
    code = cli.main(["chat", *args], out=out)
    return code, out.getvalue()


def test_answers_stream_with_tool_calls_as_panels(
    lex_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = (
        f"{WEATHER}\n"
        "Which times are free at the Miami dealership tomorrow?\n"
        "Book 10:00 for a SuperCar GT\n"
        "Book 10:00 at miami on 2026-11-25 for a SuperCar Volt\n"
    )
    code, output = chat(monkeypatch, typed, "--url", lex_url)
    assert code == 0
    lines = output.splitlines()
    assert lines[0] == f"Lex at {lex_url}: model lex-offline (offline)"
    assert "offline model is a scripted stand-in" in lines[1]
    assert lines[3] == f"you> {WEATHER}"
    assert lines[4] == '  ┌─ get_weather(city="Miami")'
    assert lines[5].startswith("  └─ ✓ The weather in Miami is ")
    assert lines[6].startswith("lex> The weather in Miami is ")
    assert lines[6].endswith("Would you like to book a test drive?")
    assert (
        "  └─ ✓ miami 2026-11-25: 10 free: 09:00 10:00 11:00 12:00 13:00 14:00 15:00 16:00 "
        "17:00 18:00"
    ) in lines
    booked = [line for line in lines if line.startswith("  └─ ✓ Booked SC-")]
    assert len(booked) == 1 and "SuperCar GT at SuperCar Miami, 2026-11-25 10:00" in booked[0]
    # The slot is gone: the second booking fails, shown as a failed panel in plain words.
    failed = [line for line in lines if line.startswith("  └─ ✗ ")]
    assert len(failed) == 1 and "Nothing was booked" in failed[0]


def test_a_booking_move_and_cancellation_in_natural_sentences(
    lex_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = (
        "can I come to the Miami store tomorrow at 10 to drive the GT?\n"
        "yes please\n"
        "actually make it 11am instead\n"
        "yes\n"
        "something came up, please call it off\n"
        "yes\n"
        "what appointments do I have?\n"
    )
    code, output = chat(monkeypatch, typed, "--url", lex_url)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "booking-move-cancel.txt").write_text(output, encoding="utf-8")
    assert code == 0
    lines = output.splitlines()
    booked = [line for line in lines if line.startswith("  └─ ✓ Booked SC-")]
    assert len(booked) == 2
    assert "SuperCar GT at SuperCar Miami, 2026-11-25 10:00" in booked[0]
    assert "SuperCar GT at SuperCar Miami, 2026-11-25 11:00" in booked[1]
    first_id = booked[0].split()[3].rstrip(":")
    answers = [line for line in lines if line.startswith("lex> ")]
    assert answers[0].endswith("Shall I book it for you?")
    assert answers[2].endswith("Shall I move it?") and first_id in answers[2]
    assert answers[3].startswith("lex> Done, your test drive is moved.")
    assert answers[4].endswith("Shall I cancel it?")
    assert "is cancelled" in answers[5]
    assert "You have no test drives booked" in answers[6]
    assert "  └─ ✓ no test drives booked (2 cancelled)" in lines
    panels = [line for line in lines if line.startswith("  ┌─ ")]
    # Checked before booking; the move is one booking that replaces (and cancels) the old one.
    assert panels[0].startswith("  ┌─ check_appointment_availability(")
    move = [p.split("(")[0] for p in panels[2:4]]
    assert move == ["  ┌─ check_appointment_availability", "  ┌─ schedule_appointment"]
    assert f'replaces="{first_id}"' in panels[3]
    assert panels[4].startswith("  ┌─ cancel_appointment(")  # calling it off afterwards


def test_a_busy_session_says_it_is_still_answering(
    lex_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    with lex_server(offline_token_delay_s=0.05) as url:
        body = {"query": "hello", "session_id": "cli-busy", "stream_format": "json"}
        with httpx.stream("POST", f"{url}/query", json=body, timeout=30) as running:
            assert running.status_code == 200
            code, output = chat(monkeypatch, f"{WEATHER}\n", "--url", url, "--session", "cli-busy")
            running.read()
    assert code == 0
    assert "! Lex is still answering the previous message in this session. Try again in 2 s" in (
        output
    )
    assert "get_weather" not in output


def test_ctrl_c_stops_the_answer_and_the_chat_goes_on(lex_server: ServerFactory) -> None:
    with lex_server(offline_token_delay_s=0.1) as url:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", "chat", "--url", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
            preexec_fn=default_ctrl_c,
        )
        assert process.stdin is not None and process.stdout is not None
        lines = stream_lines(process.stdout)
        process.stdin.write("hello\n")
        process.stdin.flush()
        wait_for(lines, lambda text: text.startswith("you> hello"))
        time.sleep(0.4)  # a few words of the answer are out
        process.send_signal(signal.SIGINT)
        stopped = wait_for(lines, lambda text: text == "[stopped]")
        process.stdin.write(f"{WEATHER}\n")
        process.stdin.close()
        assert process.wait(timeout=20) == 0
        rest = drain(lines)
    assert stopped[0].startswith("lex> Hi, I'm Lex")
    assert stopped[1] == "[stopping…]"
    assert "How can I help?" not in "".join(stopped)
    assert f"you> {WEATHER}" in rest
    assert any(line.startswith("lex> The weather in Miami is") for line in rest)


def test_session_option_continues_a_saved_conversation_with_its_secret(
    lex_url: str, monkeypatch: pytest.MonkeyPatch, cli_credentials: Path
) -> None:
    monkeypatch.delenv("LEX_ADMIN_TOKEN")  # a customer's terminal: only its own secrets
    code, output = chat(monkeypatch, f"{WEATHER}\n", "--url", lex_url)
    assert code == 0
    assert output.splitlines()[0] == f"Lex at {lex_url}: healthy"
    secrets = json.loads(cli_credentials.read_text())
    (session_id, secret), *_ = secrets.items()
    assert f"Session {session_id}." in output
    assert cli_credentials.stat().st_mode & 0o777 == 0o600
    # The server shows the session only to the holder of its secret.
    assert httpx.get(f"{lex_url}/sessions/{session_id}", timeout=10).status_code == 401
    body = {"query": "show my bookings", "session_id": session_id}
    assert httpx.post(f"{lex_url}/query", json=body, timeout=10).status_code == 401
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{lex_url}/sessions/{session_id}", headers=auth, timeout=10).is_success

    code, output = chat(
        monkeypatch, "Where is the Miami dealership?\n", "--url", lex_url, "--session", session_id
    )
    assert code == 0
    lines = output.splitlines()
    assert lines[1] == f"Continuing “{WEATHER}” (1 turn)"
    assert lines[2] == f"you> {WEATHER}"
    assert lines[3] == '  ┌─ get_weather(city="Miami")'
    assert lines[4].startswith("  └─ ✓ The weather in Miami is")
    assert lines[5].startswith("lex> The weather in Miami is")
    assert "you> Where is the Miami dealership?" in lines
    assert any("Phone: +1 (305) 555-0142" in line for line in lines if line.startswith("lex> "))


def test_an_unreachable_server_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, output = chat(monkeypatch, f"{WEATHER}\n", "--url", url)
    assert code == 1
    assert output == ""
    assert capsys.readouterr().err.startswith(f"lex: cannot reach Lex at {url}")


def test_a_dropped_stream_is_rejoined_after_the_last_event() -> None:
    """The connection breaks mid-answer: the client rejoins with Last-Event-ID, losing nothing."""
    first_part = (
        "id: run-1:0\nevent: tool_use\n"
        'data: {"id":"c0","name":"get_weather","args":{"city":"Miami"}}\n\n'
        'id: run-1:1\nevent: chunk\ndata: {"text":"It is","message_id":"m"}\n\n'
    )
    rest = 'id: run-1:2\nevent: chunk\ndata: {"text":" sunny.","message_id":"m"}\n\n'
    rest += 'id: run-1:3\nevent: end\ndata: {"status":"completed","session_id":"s"}\n\n'
    rejoins: list[httpx.Request] = []

    def broken_stream() -> Iterator[bytes]:
        yield first_part.encode()
        raise httpx.ReadError("connection reset")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/query":
            return httpx.Response(200, content=broken_stream())
        rejoins.append(request)
        return httpx.Response(200, content=rest.encode())

    out = io.StringIO()
    with httpx.Client(base_url="http://lex", transport=httpx.MockTransport(handler)) as http:
        outcome = ChatClient(http, out, "s").ask(WEATHER)
    assert outcome == "completed"
    assert [r.url.path for r in rejoins] == ["/sessions/s/stream"]
    assert rejoins[0].headers["Last-Event-ID"] == "run-1:1"
    assert "lex> It is\n[connection lost; rejoining, attempt 1]\nlex>  sunny.\n" in out.getvalue()


def test_input_history_is_kept_between_runs(tmp_path: Path) -> None:
    readline = pytest.importorskip("readline")
    history = tmp_path / "state" / "history"
    readline.clear_history()
    save = load_history(history)
    readline.add_history(WEATHER)
    save()
    readline.clear_history()
    load_history(history)
    assert readline.get_history_item(readline.get_current_history_length()) == WEATHER


# --- helpers for the subprocess test -----------------------------------------------------------


def stream_lines(stdout: IO[str]) -> queue.Queue[str | None]:
    """Reads a pipe line by line on a thread, so the test can wait with a timeout."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for(
    lines: queue.Queue[str | None], wanted: Callable[[str], bool], timeout_s: float = 15
) -> list[str]:
    """Returns the lines up to and including the first one `wanted(line)` accepts."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        if line is None:
            break
        seen.append(line)
        if wanted(line):
            return seen
    raise AssertionError(f"not seen; the client wrote: {seen}")


def drain(lines: queue.Queue[str | None]) -> list[str]:
    """The remaining lines until the pipe closes."""
    rest: list[str] = []
    while (line := lines.get(timeout=15)) is not None:
        rest.append(line)
    return rest


@pytest.mark.parametrize("session_id", ["bad id!", "..", "x" * 129])
def test_a_session_id_the_server_would_refuse_is_refused_at_the_prompt(
    session_id: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        chat(monkeypatch, f"{WEATHER}\n", "--url", "http://127.0.0.1:9", "--session", session_id)
    assert exited.value.code == 2
    assert "a session id is 1 to 128 letters, digits and . _ : -" in capsys.readouterr().err


def test_open_with_a_bad_session_id_says_so_and_keeps_the_session() -> None:
    out = io.StringIO()
    with httpx.Client(base_url="http://127.0.0.1:9", timeout=10) as http:
        client = ChatClient(http, out, "premium_client-1")
        assert run_command(client, "/open bad id!", out)
    assert client.session_id == "premium_client-1"
    assert out.getvalue().startswith("Not a session id: a session id is 1 to 128")
