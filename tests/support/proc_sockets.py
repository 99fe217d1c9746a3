"""Which process holds which TCP socket, read from Linux's `/proc`: who listens, who was connected.

For the tests of several workers behind one port: the kernel hands a connection to one socket, and
only `/proc` says which worker process holds it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

LISTEN = "0A"
ESTABLISHED = "01"


def worker_pids(launcher_pid: int) -> list[int]:
    """The launcher's worker processes (uvicorn starts them with multiprocessing's `spawn`)."""
    children: list[int] = []
    for task in Path(f"/proc/{launcher_pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(pid) for pid in (task / "children").read_text().split()]
    return sorted(pid for pid in children if b"spawn_main" in _cmdline(pid))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets a process holds open."""
    inodes: set[int] = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def tcp_inodes(port: int, state: str) -> set[int]:
    """Inodes of the IPv4 TCP sockets whose local port is `port`, in `state` (LISTEN, ...)."""
    found: set[int] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            found.add(int(fields[9]))
    return found


def held(pid: int, port: int, state: str) -> set[int]:
    """The sockets on local `port` in `state` that process `pid` holds."""
    return socket_inodes(pid) & tcp_inodes(port, state)
