"""The graph's state: the conversation, plus the step budget LangGraph manages for the guard."""

from __future__ import annotations

from typing import Annotated

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.managed import RemainingSteps
from typing_extensions import TypedDict


class AgentState(TypedDict):
    """What a session remembers between turns.

    Attributes:
        messages: The whole conversation (human, assistant, tool), merged by message id.
        remaining_steps: Managed by LangGraph (never saved): how many supersteps this run has left.
    """

    messages: Annotated[list[AnyMessage], add_messages]
    remaining_steps: RemainingSteps
