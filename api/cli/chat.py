"""`lex chat`: talk to a running Lex from the terminal, each answer streamed as it is written.

It reads the `json` stream format of `POST /query` and draws every tool call with its result as a
compact two-line panel. Input history is kept with readline. Ctrl-C while Lex answers stops the
answer (`POST /sessions/{id}/cancel`), and a dropped stream is rejoined after the last event id
(`GET /sessions/{id}/stream`), so a flaky connection loses nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import httpx

from api.cli.common import CliError, Subcommands, add_url_argument, error_message, unreachable
from api.cli.credentials import SessionSecrets, admin_token, bearer
from api.cli.sse import SseLineParser, StreamEvent
from api.schemas.query import SESSION_ID_MAX_CHARS, SESSION_ID_PATTERN

HISTORY_FILE_ENV = "LEX_HISTORY_FILE"
HISTORY_LENGTH = 1000
REJOIN_ATTEMPTS = 3
REJOIN_DELAY_S = 0.5
# The server pings an idle stream every 15 s, so a longer silence means the connection is gone.
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
SUMMARY_CHARS = 200
SESSIONS_LISTED = 10
PROMPT = "you> "
ANSWER_PREFIX = "lex> "
CHAT_HELP = (
    "Chat with a running Lex service. Answers stream as they are written; tool calls and their "
    "results show as panels. Ctrl-C stops an answer, Ctrl-D (or /quit) leaves."
)
COMMANDS_HELP = """\
  /new          start a new session
  /session      show this session's id
  /sessions     list saved sessions
  /open ID      continue a saved session
  /help         show this help
  /quit         leave (or Ctrl-D)
  Ctrl-C        stop the answer being written
"""

TurnOutcome = Literal["completed", "cancelled", "error", "busy", "rejected", "lost"]


def register(subcommands: Subcommands) -> None:
    """Adds the `chat` subcommand."""
    chat = subcommands.add_parser(
        "chat", help="chat with Lex in the terminal", description=CHAT_HELP
    )
    add_url_argument(chat)
    chat.add_argument(
        "--session",
        type=session_id_argument,
        help="continue this session instead of starting a new one",
    )
    chat.add_argument(
        "--history-file",
        type=Path,
        default=None,
        help=f"where input history is kept (default: ${HISTORY_FILE_ENV} or ~/.lex_history)",
    )
    chat.set_defaults(run=run_chat)


def session_id_argument(text: str) -> str:
    """Checks a session id typed at the terminal the way the server checks it.

    Raises:
        argparse.ArgumentTypeError: for an id the server would refuse.
    """
    if not is_session_id(text):
        raise argparse.ArgumentTypeError(SESSION_ID_RULE)
    return text


def is_session_id(text: str) -> bool:
    """Whether the server accepts `text` as a session id."""
    return len(text) <= SESSION_ID_MAX_CHARS and re.fullmatch(SESSION_ID_PATTERN, text) is not None


SESSION_ID_RULE = (
    f"a session id is 1 to {SESSION_ID_MAX_CHARS} letters, digits and . _ : - "
    "(with at least one letter or digit)"
)


# ---------------------------------------------------------------------------------------------
# Reading the stream


# ---------------------------------------------------------------------------------------------
# Drawing


@dataclass(frozen=True)
class Glyphs:
    """The characters panels are drawn with."""

    call: str
    success: str
    failure: str


UNICODE_GLYPHS = Glyphs(call="┌─", success="└─ ✓", failure="└─ ✗")
ASCII_GLYPHS = Glyphs(call="+-", success="`- ok", failure="`- failed:")


def glyphs_for(out: TextIO) -> Glyphs:
    """Box-drawing characters when the output can encode them, plain ASCII otherwise."""
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        "".join(vars(UNICODE_GLYPHS).values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII_GLYPHS
    return UNICODE_GLYPHS


@dataclass(frozen=True)
class Style:
    """ANSI colours, or none (not a terminal, NO_COLOR set, or TERM=dumb)."""

    enabled: bool

    @classmethod
    def for_output(cls, out: TextIO) -> Style:
        """Colours only for a real terminal that wants them."""
        is_tty = getattr(out, "isatty", lambda: False)()
        wanted = "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        return cls(enabled=bool(is_tty and wanted))

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text

    def dim(self, text: str) -> str:
        """Secondary text: panels' arguments, notes."""
        return self._wrap("2", text)

    def bold(self, text: str) -> str:
        """Names: tools, speakers."""
        return self._wrap("1", text)

    def red(self, text: str) -> str:
        """Failures."""
        return self._wrap("31", text)

    def green(self, text: str) -> str:
        """Successes."""
        return self._wrap("32", text)


def shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    """One line of at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def format_args(args: dict[str, Any]) -> str:
    """Tool arguments as `name="value", ...`."""
    return ", ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in args.items()
    )


def summarize_output(name: str, output: Any) -> str:
    """The one line a tool result panel shows, from the card payload of the wire contract."""
    if isinstance(output, str):
        return shorten(output)
    if isinstance(output, list):  # availability may be a bare list of times
        output = {"availableTimes": output}
    if not isinstance(output, dict):
        return shorten(json.dumps(output, ensure_ascii=False))
    if "availableTimes" in output:
        times = output["availableTimes"]
        where = " ".join(str(output.get(k, "")) for k in ("dealership_id", "date")).strip()
        if not times:
            why = output.get("error") or output.get("note") or "no free times"
            return shorten(f"{where}: {why}" if where else str(why))
        return shorten(f"{where}: {len(times)} free: {' '.join(times)}")
    if output.get("confirmation_id") and output.get("status") == "confirmed":
        where = output.get("dealership_name") or output.get("dealership_id", "")
        return shorten(
            f"Booked {output['confirmation_id']}: {output.get('model', '')} at {where}, "
            f"{output.get('date', '')} {output.get('time', '')}"
        )
    if "dealerships" in output:
        names = [str(d.get("name", d.get("id", ""))) for d in output["dealerships"]]
        return shorten(f"{len(names)} dealerships: {', '.join(names)}")
    if "appointments" in output:
        listed = output["appointments"]
        booked = [a for a in listed if a.get("status") != "cancelled"]
        cancelled = f" ({len(listed) - len(booked)} cancelled)" if len(listed) > len(booked) else ""
        if not booked:
            return f"no test drives booked{cancelled}"
        items = [f"{a.get('confirmation_id')} {a.get('date')} {a.get('time')}" for a in booked]
        return shorten(f"{len(booked)} booked: {'; '.join(items)}{cancelled}")
    if isinstance(output.get("message"), str):
        return shorten(output["message"])
    return shorten(json.dumps(output, ensure_ascii=False))


class TurnPrinter:
    """Writes one turn's events to the terminal: answer text inline, tool calls as panels.

    Args:
        out: Where to write.
        style: Colours to use.
        glyphs: Panel characters.
    """

    def __init__(self, out: TextIO, style: Style, glyphs: Glyphs) -> None:
        self.out = out
        self.style = style
        self.glyphs = glyphs
        self.in_answer = False

    def line(self, text: str) -> None:
        """Writes a whole line, ending the answer's current line first."""
        if self.in_answer:
            self.out.write("\n")
            self.in_answer = False
        self.out.write(text + "\n")
        self.out.flush()

    def text(self, text: str) -> None:
        """Appends answer text as it streams."""
        if not text:
            return
        if not self.in_answer:
            self.out.write(self.style.bold(ANSWER_PREFIX))
            self.in_answer = True
        self.out.write(text)
        self.out.flush()

    def tool_call(self, name: str, args: dict[str, Any]) -> None:
        """Opens a panel: the tool and its arguments."""
        arguments = self.style.dim(f"({format_args(args)})")
        self.line(f"  {self.glyphs.call} {self.style.bold(name)}{arguments}")

    def tool_result(self, name: str, output: Any, status: str, error: str | None) -> None:
        """Closes a panel: the result in one line, or what went wrong."""
        if status == "error":
            summary = shorten(error or summarize_output(name, output))
            self.line(f"  {self.style.red(self.glyphs.failure)} {summary}")
        else:
            self.line(f"  {self.style.green(self.glyphs.success)} {summarize_output(name, output)}")

    def note(self, text: str) -> None:
        """A line about the conversation rather than in it: [stopped], errors, reconnects."""
        self.line(self.style.dim(text))

    def problem(self, text: str) -> None:
        """Something the customer should act on."""
        self.line(self.style.red(f"! {text}"))

    def finish(self) -> None:
        """Ends the answer's last line."""
        if self.in_answer:
            self.line("")

    def handle(self, event: StreamEvent) -> str | None:
        """Writes one event; returns the turn's status when it is the `end` event."""
        payload = event.payload()
        match event.event:
            case "chunk":
                self.text(str(payload.get("text", "")))
            case "tool_use":
                self.tool_call(str(payload.get("name")), payload.get("args") or {})
            case "tool_output":
                self.tool_result(
                    str(payload.get("name")),
                    payload.get("output"),
                    str(payload.get("status", "success")),
                    payload.get("error"),
                )
            case "error":
                retry = " You can send it again." if payload.get("retryable") else ""
                self.problem(f"{payload.get('message', 'Something went wrong.')}{retry}")
            case "end":
                status = str(payload.get("status", "completed"))
                self.finish()
                if status == "cancelled":
                    self.note("[stopped]")
                return status
        return None


# ---------------------------------------------------------------------------------------------
# Talking to the service


class ChatClient:
    """One conversation with a running Lex over HTTP.

    Args:
        http: A client whose base URL is the service.
        out: Where the conversation is written.
        session_id: The session to talk in.
    """

    def __init__(
        self,
        http: httpx.Client,
        out: TextIO,
        session_id: str,
        *,
        secrets: SessionSecrets | None = None,
        operator_token: str | None = None,
    ) -> None:
        self.http = http
        self.out = out
        self.session_id = session_id
        self.secrets = secrets
        self.operator_token = operator_token
        self.printer = TurnPrinter(out, Style.for_output(out), glyphs_for(out))

    @property
    def auth(self) -> dict[str, str]:
        """The credential of the current session: its secret, if this terminal made it.

        Without one, the id names a conversation bound to this client, as the chat frontend's
        ids do; the operator's token serves only for the server's status and the session list.
        """
        return bearer(self.secrets.get(self.session_id) if self.secrets else None)

    def new_session(self) -> str:
        """Creates a session on the server and keeps its secret; returns its id."""
        if self.secrets is None:
            raise CliError("no place to keep session secrets")
        try:
            response = self.http.post("/sessions")
        except httpx.TransportError as error:
            raise unreachable(str(self.http.base_url), error) from None
        if not response.is_success:
            raise CliError(error_message(response))
        created = response.json()
        self.secrets.remember(created["session_id"], created["secret"])
        self.session_id = str(created["session_id"])
        return self.session_id

    def ask(self, query: str) -> TurnOutcome:
        """Sends one message and writes the answer as it streams."""
        body = {"query": query, "session_id": self.session_id, "stream_format": "json"}
        parser = SseLineParser()
        try:
            with self.http.stream("POST", "/query", json=body, headers=self.auth) as response:
                if response.status_code == 409:
                    response.read()
                    wait = response.headers.get("Retry-After", "a few")
                    self.printer.problem(
                        f"Lex is still answering the previous message in this session. "
                        f"Try again in {wait} s (or press Ctrl-C while it answers to stop it)."
                    )
                    return "busy"
                if not response.is_success:
                    response.read()
                    self.printer.problem(error_message(response))
                    return "rejected"
                status = self._follow(response, parser)
        except KeyboardInterrupt:
            return self._stop(parser)
        except httpx.TransportError as error:  # the request itself; `_follow` handles the rest
            self.printer.problem(f"cannot reach Lex ({type(error).__name__}); is it running?")
            return "rejected"
        if status is None:
            status = self._rejoin(parser)
        return outcome(status)

    def _follow(self, response: httpx.Response, parser: SseLineParser) -> str | None:
        """Writes a stream's events; returns the `end` status, or None if it broke off first."""
        try:
            for event in parser.events(response.iter_lines()):
                status = self.printer.handle(event)
                if status is not None:
                    return status
        except httpx.TransportError:
            pass
        return None

    def _rejoin(self, parser: SseLineParser, *, quiet: bool = False) -> str | None:
        """Follows the session's turn again after the last event seen, retrying a few times."""
        for attempt in range(1, REJOIN_ATTEMPTS + 1):
            if not quiet:
                self.printer.note(f"[connection lost; rejoining, attempt {attempt}]")
            headers = {"Last-Event-ID": parser.last_event_id} if parser.last_event_id else {}
            try:
                with self.http.stream(
                    "GET",
                    f"/sessions/{self.session_id}/stream",
                    params={"stream_format": "json"},
                    headers={**self.auth, **headers},
                ) as response:
                    if response.status_code == 404:
                        response.read()
                        break  # the server no longer has this turn (or cannot rejoin)
                    if response.is_success:
                        status = self._follow(response, parser)
                        if status is not None:
                            return status
            except httpx.TransportError:
                pass
            time.sleep(REJOIN_DELAY_S * attempt)
        self.printer.finish()
        self.printer.problem("the connection was lost before the answer finished")
        return None

    def _stop(self, parser: SseLineParser) -> TurnOutcome:
        """Ctrl-C during an answer: cancels the turn, then shows how it ended."""
        self.printer.note("[stopping…]")
        try:
            response = self.http.post(f"/sessions/{self.session_id}/cancel", headers=self.auth)
        except httpx.TransportError as error:
            self.printer.problem(f"could not reach Lex to stop the answer ({type(error).__name__})")
            return "lost"
        if response.status_code == 404:
            self.printer.note("[stopped listening; this server may still finish the answer]")
            return "cancelled"
        # Cancelled now, or already over (409): the turn's `end` says which.
        return outcome(self._rejoin(parser, quiet=True))

    def show_saved(self) -> bool:
        """Writes the session's saved conversation; False when the service has none."""
        try:
            response = self.http.get(f"/sessions/{self.session_id}", headers=self.auth)
        except httpx.TransportError:
            return False
        if not response.is_success:
            return False
        detail = response.json()
        turns = sum(1 for m in detail.get("messages", []) if m.get("role") == "user")
        title = detail.get("title") or self.session_id
        self.printer.note(f"Continuing “{title}” ({turns} turn{'' if turns == 1 else 's'})")
        for message in detail.get("messages", []):
            self._show_message(message)
        self.printer.finish()
        return True

    def _show_message(self, message: dict[str, Any]) -> None:
        role = message.get("role")
        text = str(message.get("text") or message.get("content") or "")
        if role == "user":
            self.printer.finish()
            self.printer.line(f"{PROMPT}{text}")
        elif role == "assistant":
            for call in message.get("tool_calls") or []:
                self.printer.tool_call(str(call.get("name")), call.get("args") or {})
            if text:
                self.printer.finish()
                self.printer.text(text)
        elif role == "tool":
            self.printer.tool_result(
                str(message.get("name")),
                message.get("output", text),
                str(message.get("status") or "success"),
                message.get("error"),
            )

    def list_saved(self) -> None:
        """Writes recent sessions: every one for the operator, else those this terminal made."""
        if self.operator_token is None:
            mine = list(self.secrets.load()) if self.secrets else []
            if not mine:
                self.printer.note("No saved sessions yet.")
            for session_id in reversed(mine[-SESSIONS_LISTED:]):
                mark = "*" if session_id == self.session_id else " "
                self.printer.line(f"{mark} {session_id}")
            return
        try:
            response = self.http.get(
                "/sessions", params={"limit": SESSIONS_LISTED}, headers=bearer(self.operator_token)
            )
        except httpx.TransportError as error:
            self.printer.problem(f"cannot reach Lex ({type(error).__name__})")
            return
        if response.status_code == 404:
            self.printer.note("This server does not keep a list of sessions.")
            return
        if not response.is_success:
            self.printer.problem(error_message(response))
            return
        sessions = response.json().get("sessions", [])
        if not sessions:
            self.printer.note("No saved sessions yet.")
        for session in sessions:
            mark = "*" if session["session_id"] == self.session_id else " "
            self.printer.line(
                f"{mark} {session['session_id']}  {session.get('turn_count', 0):>3} turns  "
                f"{shorten(str(session.get('title', '')), 60)}"
            )


def outcome(status: str | None) -> TurnOutcome:
    """The turn's outcome from its `end` status (None: it never came)."""
    if status == "completed":
        return "completed"
    if status == "cancelled":
        return "cancelled"
    if status is None:
        return "lost"
    return "error"


# ---------------------------------------------------------------------------------------------
# The input loop


def history_path(option: Path | None) -> Path:
    """Where input history lives: --history-file, else $LEX_HISTORY_FILE, else ~/.lex_history."""
    if option is not None:
        return option
    return Path(os.environ.get(HISTORY_FILE_ENV) or Path.home() / ".lex_history")


def load_history(path: Path) -> Callable[[], None]:
    """Loads readline history from `path`; returns the function that saves it back."""
    import readline  # not on every platform; only needed at a real terminal

    readline.set_history_length(HISTORY_LENGTH)
    try:
        readline.read_history_file(path)
    except (FileNotFoundError, PermissionError, OSError):
        pass

    def save() -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
        except OSError:
            pass

    return save


def prompts(stdin: TextIO, out: TextIO, interactive: bool) -> Iterator[str]:
    """Yields what the customer types, line by line, until end of input.

    At a terminal `input()` reads the line, so readline gives editing and history. Piped input
    is echoed after the prompt, so a transcript of the session reads as a conversation.
    """
    while True:
        if interactive:
            try:
                line = input(PROMPT)
            except KeyboardInterrupt:
                out.write("\n")  # Ctrl-C at the prompt clears the line, as in a shell
                continue
            except EOFError:
                out.write("\n")
                return
        else:
            line = stdin.readline()
            if not line:
                return
            out.write(f"{PROMPT}{line.rstrip()}\n")
        yield line.strip()


def greet(http: httpx.Client, out: TextIO, url: str, operator_token: str | None) -> None:
    """Writes which model answers (shown to the operator); raises CliError when unreachable."""
    try:
        health = http.get("/health", headers=bearer(operator_token)).json()
    except httpx.TransportError as error:
        raise unreachable(url, error) from None
    except ValueError:
        raise CliError(f"{url} does not look like a Lex service (no JSON at /health)") from None
    model = health.get("model") or {}
    if not model:
        out.write(f"Lex at {url}: {health.get('status', '?')}\n")
        return
    line = f"Lex at {url}: model {model.get('name', '?')} ({model.get('provider', '?')})"
    out.write(line + "\n")
    if model.get("provider") == "offline":
        out.write("Note: the offline model is a scripted stand-in, not an LLM.\n")
    elif model.get("warning"):
        out.write(f"Note: {model['warning']}\n")


def run_chat(args: argparse.Namespace, out: TextIO) -> int:
    """Runs the chat loop until the input ends or /quit."""
    stdin = sys.stdin
    interactive = stdin.isatty() and out.isatty()
    save_history = load_history(history_path(args.history_file)) if interactive else None
    try:
        with httpx.Client(base_url=args.url, timeout=TIMEOUT) as http:
            operator_token = admin_token()
            greet(http, out, args.url, operator_token)
            chat = ChatClient(
                http,
                out,
                args.session or "",
                secrets=SessionSecrets(),
                operator_token=operator_token,
            )
            if not args.session:
                chat.new_session()
            if not (args.session and chat.show_saved()):
                out.write(f"Session {chat.session_id}. Type /help for commands.\n")
            for line in prompts(stdin, out, interactive):
                if not line:
                    continue
                if line.startswith("/"):
                    if not run_command(chat, line, out):
                        break
                    continue
                chat.ask(line)
    finally:
        if save_history is not None:
            save_history()
    return 0


def run_command(chat: ChatClient, line: str, out: TextIO) -> bool:
    """Runs a /command; returns False when the customer wants to leave."""
    command, _, argument = line.partition(" ")
    match command:
        case "/quit" | "/exit":
            return False
        case "/help":
            out.write(COMMANDS_HELP)
        case "/new":
            chat.new_session()
            out.write(f"New session {chat.session_id}.\n")
        case "/session":
            out.write(f"Session {chat.session_id}.\n")
        case "/sessions":
            chat.list_saved()
        case "/open" if not is_session_id(argument.strip()):
            out.write(f"Not a session id: {SESSION_ID_RULE}.\n")
        case "/open":
            chat.session_id = argument.strip()
            if not chat.show_saved():
                out.write(f"No saved conversation for {chat.session_id}; starting it fresh.\n")
        case _:
            out.write(f"Unknown command {line!r}.\n{COMMANDS_HELP}")
    return True
