"""The stand-in Groq server as `make bench` runs it: a child process whose latency can be switched.

It serves `tests.support.groq_standin.GroqStandIn` with three differences that matter to timing:
- `TCP_NODELAY` on the listening socket (inherited by each connection). The stand-in binds a
  socket without naming the protocol, so asyncio does not set it, and Nagle's algorithm then holds
  the end of every small response until the client's delayed ACK, about 40 ms per model call.
- uvicorn's httptools parser instead of h11 (pure Python): the stand-in shares the two cores with
  the service it answers, and h11 cost a fifth more CPU per turn, measured.
- Commands on standard input, one per line, so one server serves every mode of the run:
  `latency FIRST_TOKEN_MS TOKENS_PER_S` (0 tokens/s: no delay), `forget` (drop the recorded
  requests, which a long run would otherwise keep in memory), `save PATH` (write the body of the
  last chat request to PATH as JSON, for the floor to send again) and `quit`.
It prints `ready PORT` once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from tests.support.groq_standin import GroqStandIn

logger = logging.getLogger(__name__)


class NoDelayStandIn(GroqStandIn):
    """`GroqStandIn` whose connections send each write at once (no Nagle delay), on httptools."""

    def _bind(self) -> socket.socket:
        sock = super()._bind()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _make_server(self) -> uvicorn.Server:
        server = super()._make_server()
        server.config.http = "httptools"  # set before the server loads its config
        return server


class Controller:
    """Applies the commands to a running stand-in, remembering the latency it was given."""

    def __init__(self, standin: GroqStandIn, first_token_s: float, tokens_per_s: float) -> None:
        self.standin = standin
        self.first_token_s = first_token_s
        self.tokens_per_s = tokens_per_s
        self._apply_latency()

    def _apply_latency(self) -> None:
        self.standin.set_latency(
            first_token_delay_s=self.first_token_s, tokens_per_s=self.tokens_per_s or None
        )

    def apply(self, command: str) -> bool:
        """Carries out one command line; returns False on `quit`.

        Raises:
            ValueError: An unknown command or bad arguments.
            LookupError: `save` before any chat request.
        """
        match command.split():
            case []:
                pass
            case ["latency", first_ms, tokens_per_s]:
                self.first_token_s = float(first_ms) / 1000.0
                self.tokens_per_s = float(tokens_per_s)
                self._apply_latency()
            case ["forget"]:
                self.standin.reset()  # also restores the start-up latency
                self._apply_latency()
            case ["save", path]:
                Path(path).write_text(json.dumps(self.standin.last_request.body))
            case ["quit"]:
                return False
            case _:
                raise ValueError(f"unknown command: {command!r}")
        return True


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the stand-in until `quit` or end of input."""
    parser = argparse.ArgumentParser(prog="python -m bench.standin")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--first-token-ms", type=float, default=0.0)
    parser.add_argument("--tokens-per-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    standin = NoDelayStandIn(port=args.port).start()
    controller = Controller(standin, args.first_token_ms / 1000.0, args.tokens_per_s)
    sys.stdout.write(f"ready {standin.port}\n")
    sys.stdout.flush()
    try:
        for line in sys.stdin:
            try:
                if not controller.apply(line):
                    break
            except (ValueError, LookupError) as error:
                logger.error("%s", error)
            sys.stdout.write("ok\n")
            sys.stdout.flush()
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
