"""`lex sessions` lists saved sessions and `lex replay SESSION_ID` prints one, turn by turn.

Both read the running service's `/sessions` API as the operator (`api.cli.credentials`);
`replay` follows the replay stream in the json format and writes each event as it arrives, so
`--pace-ms` shows the conversation unfold.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

import httpx

from api.cli.common import (
    TIMEOUT_S,
    CliError,
    Subcommands,
    add_url_argument,
    check,
    unreachable,
)
from api.cli.credentials import add_admin_token_argument, admin_token, bearer
from api.cli.sse import SseLineParser, StreamEvent

TITLE_WIDTH = 60
LIST_HELP = "List the sessions saved by a running Lex service, most recently active first."
REPLAY_HELP = (
    "Print a saved session as it streamed: the customer's messages, the tool calls with their "
    "arguments and results, and Lex's answers."
)


def register(subcommands: Subcommands) -> None:
    """Adds the `sessions` and `replay` subcommands."""
    sessions = subcommands.add_parser(
        "sessions", help="list saved sessions, most recent first", description=LIST_HELP
    )
    add_url_argument(sessions)
    add_admin_token_argument(sessions)
    sessions.add_argument("--limit", type=int, default=20, help="sessions per page (1-100)")
    sessions.add_argument("--all", action="store_true", help="follow every page")
    sessions.add_argument("--json", action="store_true", help="print the raw JSON pages")
    sessions.set_defaults(run=list_sessions)

    replay = subcommands.add_parser(
        "replay", help="print a saved session, turn by turn", description=REPLAY_HELP
    )
    replay.add_argument("session_id", help="the session to print")
    add_url_argument(replay)
    add_admin_token_argument(replay)
    replay.add_argument(
        "--pace-ms", type=int, default=0, help="pause between events, to watch it unfold"
    )
    replay.set_defaults(run=replay_session)


def operator_headers(args: argparse.Namespace) -> dict[str, str]:
    """Returns the operator's Authorization header; raises `CliError` without a token."""
    token = admin_token(args.admin_token)
    if token is None:
        raise CliError(
            "this command needs the operator's token: --admin-token, $LEX_ADMIN_TOKEN, or run it "
            "where the server keeps data/admin-token"
        )
    return bearer(token)


def operator_client(args: argparse.Namespace) -> httpx.Client:
    """Returns an HTTP client of the service that acts as the operator."""
    return httpx.Client(base_url=args.url, timeout=TIMEOUT_S, headers=operator_headers(args))


def session_line(session: dict[str, Any]) -> str:
    """Formats one session as a row of the list."""
    updated = str(session["updated_at"])[:19].replace("T", " ")
    title = str(session["title"])[:TITLE_WIDTH]
    return f"{updated}  {session['turn_count']:>5}  {session['session_id']:<32}  {title}"


def list_sessions(args: argparse.Namespace, out: TextIO) -> int:
    """Prints the saved sessions, a page (or with --all every page) at a time."""
    cursor: str | None = None
    printed = 0
    with httpx.Client(
        base_url=args.url, timeout=TIMEOUT_S, headers=operator_headers(args)
    ) as client:
        while True:
            params: dict[str, Any] = {"limit": args.limit}
            if cursor:
                params["cursor"] = cursor
            try:
                page = check(client.get("/sessions", params=params)).json()
            except httpx.TransportError as error:
                raise unreachable(args.url, error) from None
            if args.json:
                out.write(json.dumps(page, ensure_ascii=False) + "\n")
            else:
                if printed == 0 and page["sessions"]:
                    out.write(f"{'UPDATED (UTC)':<19}  {'TURNS':>5}  {'SESSION':<32}  TITLE\n")
                for session in page["sessions"]:
                    out.write(session_line(session) + "\n")
            printed += len(page["sessions"])
            cursor = page["next_cursor"]
            if not cursor or not args.all:
                break
    if not args.json:
        if printed == 0:
            out.write("No saved sessions yet.\n")
        elif cursor:
            out.write("More sessions: lex sessions --all\n")
    return 0


class ReplayPrinter:
    """Writes replay events as a readable transcript.

    Args:
        out: Where to write.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.in_answer = False

    def _line(self, text: str) -> None:
        if self.in_answer:
            self.out.write("\n")
            self.in_answer = False
        self.out.write(text + "\n")

    def handle(self, message: StreamEvent) -> None:
        """Writes one event."""
        payload: Any = json.loads(message.data) if message.data else {}
        if message.event == "turn":
            self._line(f"\n--- turn {payload['index']} ---")
            self._line(f"You: {payload['query']}")
        elif message.event == "tool_use":
            arguments = json.dumps(payload["args"], ensure_ascii=False)
            self._line(f"  -> {payload['name']} {arguments}")
        elif message.event == "tool_output":
            output = payload["output"]
            shown = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
            if payload.get("status") == "error":
                shown = f"failed: {payload.get('error') or shown}"
            self._line(f"  <- {payload['name']}: {shown}")
        elif message.event == "chunk":
            if not self.in_answer:
                self.out.write("Lex: ")
                self.in_answer = True
            self.out.write(payload["text"])
        elif message.event == "error":
            self._line(f"  [error {payload['code']}] {payload['message']}")
        elif message.event == "end":
            if payload.get("status") != "completed":
                self._line(f"  [turn {payload.get('status')}]")
            elif self.in_answer:
                self._line("")
        self.out.flush()


def replay_session(args: argparse.Namespace, out: TextIO) -> int:
    """Prints a saved session from the service's replay stream."""
    params = {"stream_format": "json", "pace_ms": args.pace_ms}
    printer = ReplayPrinter(out)
    turns = 0
    try:
        with (
            httpx.Client(
                base_url=args.url, timeout=TIMEOUT_S, headers=operator_headers(args)
            ) as client,
            client.stream("GET", f"/sessions/{args.session_id}/replay", params=params) as reply,
        ):
            check(reply)
            for message in SseLineParser().events(reply.iter_lines()):
                turns += message.event == "turn"
                printer.handle(message)
    except httpx.TransportError as error:
        raise unreachable(args.url, error) from None
    if turns == 0:
        raise CliError(f"session {args.session_id!r} has no saved turns")
    return 0
