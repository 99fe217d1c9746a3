"""The graph LangGraph Studio loads: no checkpointer, the tools bound, wired as the app's graph."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import HumanMessage, ToolMessage

import api.wiring
from agent.graph import GraphOptions
from api.app import create_app
from api.settings import Settings
from api.studio import build_studio_graph

ROOT = Path(__file__).resolve().parents[2]


def offline_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        model_provider="offline",
        database_url=f"sqlite:///{tmp_path / 'lex.sqlite'}",
        **overrides,
    )


def test_langgraph_json_points_at_the_graph_factory() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    module, _, attribute = config["graphs"]["lex"].partition(":")
    assert (ROOT / module).is_file()
    assert attribute == "make_graph"


def test_importing_the_studio_module_builds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    monkeypatch.setattr(api.wiring, "compile_graph", lambda *args, **kw: built.append(args))
    sys.modules.pop("api.studio", None)
    importlib.import_module("api.studio")
    assert built == []


async def test_studio_graph_has_no_checkpointer_and_answers_with_tools(tmp_path: Path) -> None:
    graph = build_studio_graph(offline_settings(tmp_path))
    assert graph.checkpointer is None
    state = await graph.ainvoke({"messages": [HumanMessage("What's the weather in Seattle?")]})
    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == ["get_weather"]
    assert "Seattle" in state["messages"][-1].text


def test_studio_and_the_app_wire_the_graph_with_the_same_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wired: list[tuple[list[str], GraphOptions, bool]] = []
    real_compile = api.wiring.compile_graph

    def recording_compile(model: Any, tools: Any, options: GraphOptions, **kw: Any) -> Any:
        wired.append(([t.name for t in tools], options, kw.get("checkpointer") is not None))
        return real_compile(model, tools, options, **kw)

    monkeypatch.setattr(api.wiring, "compile_graph", recording_compile)
    settings = offline_settings(tmp_path, context_tokens=1234, tool_use_failed_attempts=5)
    with TestClient(create_app(settings)):
        pass
    build_studio_graph(settings)

    (app_tools, app_options, app_saves), (studio_tools, studio_options, studio_saves) = wired
    assert (app_saves, studio_saves) == (True, False)
    assert app_tools == studio_tools
    assert app_options.context_tokens == studio_options.context_tokens == 1234
    assert app_options.model_retry is not None and studio_options.model_retry is not None
    assert app_options.model_retry.max_attempts == studio_options.model_retry.max_attempts == 5
    assert app_options == studio_options
