"""The graph's state: the conversation, plus the step budget LangGraph manages for the guard.

`messages` is a `DeltaChannel`: a checkpoint stores only the messages a step added, and the
conversation is rebuilt from those writes, so a session costs storage linear in its length instead
of one full copy of the history per step (3-4x the transcript at 400 turns instead of 200x at 100).

Deliberate reliance on LangGraph internals: `DeltaChannel` is a beta API of langgraph 1.2 and
`_messages_delta_reducer` (the `add_messages` merge rule for deltas) is private. They are pinned by
`langgraph>=1.2,<1.3`. If either changes, what breaks is reading sessions saved by an earlier
release (the channel's stored format), not new sessions: `tests/agent/test_state.py` checks the
channel reads, replays, forks and repairs like a plain list, and a test opens a database written by
the previous release, so an upgrade that changes either fails the suite before it ships.
"""

from __future__ import annotations

from typing import Annotated

from langchain_core.messages import AnyMessage
from langgraph.channels import DeltaChannel
from langgraph.graph.message import _messages_delta_reducer
from langgraph.managed import RemainingSteps
from typing_extensions import TypedDict

MESSAGES_SNAPSHOT_EVERY = 2000
"""Updates of `messages` between two full snapshots of the conversation.

A snapshot is a whole copy of the history, so it is what makes storage grow faster than the
transcript (each one adds the conversation so far); between snapshots a read walks back through
the checkpoints since the last one and replays their writes. A turn writes 2 to 4 updates, so 2000
means a snapshot every 500 to 1000 turns: none in a 400-turn session, whose database then holds
about 3x its transcript (4x with a snapshot every 1000). The walk costs a few microseconds per
checkpoint; the messages it replays cost what a snapshot's would (see `checkpoints.serde`).
"""


class AgentState(TypedDict):
    """What a session remembers between turns.

    Attributes:
        messages: The whole conversation (human, assistant, tool), merged by message id; stored
            as per-step deltas. A message with the id of an earlier one replaces it, and a
            `RemoveMessage` deletes it, as with `add_messages`.
        remaining_steps: Managed by LangGraph (never saved): how many supersteps this run has left.
    """

    messages: Annotated[
        list[AnyMessage],
        DeltaChannel(_messages_delta_reducer, snapshot_frequency=MESSAGES_SNAPSHOT_EVERY),
    ]
    remaining_steps: RemainingSteps
