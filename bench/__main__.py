"""`python -m bench [--profile default|full|smoke] [--out DIR]`: runs it and prints the table."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.report import render
from bench.run import PROFILES, run_benchmark

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark; exits 0 even when a target is missed (the table says which)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the reports go")
    parser.add_argument("--no-langgraph-dev", action="store_true", help="skip langgraph dev")
    parser.add_argument(
        "--scale-out-only",
        action="store_true",
        help="only the scale-out table (1, 2, 4 workers on Postgres and Redis)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every phase")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "groq"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # a line per request would skew timings
    profile = PROFILES[args.profile]
    if args.no_langgraph_dev:
        from dataclasses import replace

        profile = replace(profile, langgraph_dev=False)
    if args.scale_out_only:
        from dataclasses import replace

        profile = replace(profile, only_scale_out=True)
    results = run_benchmark(profile, args.out)
    sys.stdout.write(render(results) + "\n")
    sys.stdout.write(f"results: {args.out / 'latest.json'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
