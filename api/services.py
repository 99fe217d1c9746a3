"""The live parts the routes use, built once by the application's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from api.auth import ServerSecrets
from api.chat_models import ChatModelChoice
from api.maintenance import Maintenance
from api.rate_limits import Limits, TurnSlots
from api.settings import Settings
from api.turns.coordination.base import TurnCoordinator
from api.turns.executor import ModelHealth, TurnExecutor
from checkpoints.sessions import SessionRegistry
from checkpoints.storage import Storage


@dataclass(frozen=True)
class LexServices:
    """What a request needs: settings, graph, saver, model, turns, the session list, secrets."""

    settings: Settings
    graph: CompiledStateGraph[Any, Any, Any, Any]
    checkpointer: BaseCheckpointSaver[Any]
    chat_model: ChatModelChoice
    turns: TurnCoordinator
    executor: TurnExecutor
    model_health: ModelHealth
    storage: Storage
    maintenance: Maintenance
    secrets: ServerSecrets
    limits: Limits
    turn_slots: TurnSlots

    @property
    def sessions(self) -> SessionRegistry:
        """The session list."""
        return self.storage.sessions
