"""The graph LangGraph Studio loads: no checkpointer, the tools bound, runs on the offline model."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.messages import HumanMessage, ToolMessage

from api.settings import Settings
from api.studio import make_studio_graph

ROOT = Path(__file__).resolve().parents[2]


def test_langgraph_json_points_at_the_exported_graph() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    module, _, attribute = config["graphs"]["lex"].partition(":")
    assert (ROOT / module).is_file()
    assert attribute == "graph"


async def test_studio_graph_has_no_checkpointer_and_answers_with_tools() -> None:
    graph = make_studio_graph(Settings(_env_file=None, model_provider="offline"))  # type: ignore[call-arg]
    assert graph.checkpointer is None
    state = await graph.ainvoke({"messages": [HumanMessage("What's the weather in Seattle?")]})
    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == ["get_weather"]
    assert "Seattle" in state["messages"][-1].text
