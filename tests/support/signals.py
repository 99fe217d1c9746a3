"""Child processes of tests that are stopped with Ctrl-C (SIGINT) must not inherit it ignored.

A test runner started in the background by a non-interactive shell ignores SIGINT, and children
inherit that: a child Python then never turns Ctrl-C into KeyboardInterrupt.
"""

from __future__ import annotations

import signal


def default_ctrl_c() -> None:
    """`preexec_fn` for `subprocess.Popen`: SIGINT acts in the child as at a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
