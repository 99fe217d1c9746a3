"""The graph's state: the conversation, plus the step budget LangGraph manages for the guard.

`messages` is a `DeltaChannel`: a checkpoint stores only the messages a step added, and the
conversation is rebuilt from those writes, so a session costs storage linear in its length instead
of one full copy of the history per step (3-4x the transcript at 400 turns instead of 200x at 100).

Deliberate reliance on LangGraph internals: `DeltaChannel` is a beta API of langgraph 1.2 and
`_messages_delta_reducer` (the `add_messages` merge rule for deltas, which `agent.merging` falls
back to) is private. They are pinned by
`langgraph>=1.2,<1.3`. If either changes, what breaks is reading sessions saved by an earlier
release (the channel's stored format), not new sessions: `tests/agent/test_state.py` checks the
channel reads, replays, forks and repairs like a plain list, and a test opens a database written by
the previous release, so an upgrade that changes either fails the suite before it ships.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, cast

from langchain_core.messages import AnyMessage
from langgraph.channels import DeltaChannel
from langgraph.managed import RemainingSteps
from typing_extensions import TypedDict

from agent.merging import merge_messages

MESSAGES_SNAPSHOT_EVERY = 1_000_000_000
"""Updates of `messages` between two full snapshots of the conversation: in effect, never.

A snapshot is a whole copy of the history written into one checkpoint (560 KiB at 1,000 short
turns), so it is what would make storage grow faster than the transcript; it only saves a read
from walking further back. The service reads through `checkpoints.head_cache`, which rebuilds a
session's latest state from the one before it, so only a process's first read of a session walks
back to the start. LangGraph still snapshots a channel after 5,000 supersteps without one
(`LANGGRAPH_DELTA_MAX_SUPERSTEPS_SINCE_SNAPSHOT`): about every 1,400 turns.
"""


MESSAGES_CHANNEL: DeltaChannel[list[AnyMessage]] = DeltaChannel(
    cast("Callable[[Any, Sequence[Any]], Any]", merge_messages),
    snapshot_frequency=MESSAGES_SNAPSHOT_EVERY,
)
"""How `messages` is stored and merged; a saver that rebuilds it itself needs the same channel."""
DELTA_CHANNELS: dict[str, DeltaChannel[list[AnyMessage]]] = {"messages": MESSAGES_CHANNEL}
"""The state's channels stored as deltas, by name (see `checkpoints.head_cache`)."""


class AgentState(TypedDict):
    """What a session remembers between turns.

    Attributes:
        messages: The whole conversation (human, assistant, tool), merged by message id; stored
            as per-step deltas. A message with the id of an earlier one replaces it, and a
            `RemoveMessage` deletes it, as with `add_messages`.
        remaining_steps: Managed by LangGraph (never saved): how many supersteps this run has left.
    """

    messages: Annotated[list[AnyMessage], MESSAGES_CHANNEL]
    remaining_steps: RemainingSteps
