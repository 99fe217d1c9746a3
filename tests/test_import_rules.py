"""The dependency rules of the tree, read from the source.

`api -> agent -> tools`, `api -> checkpoints`, nothing imports `api`; and a route module imports no
other route module: what two routes share lives in a module of its own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAY_IMPORT = {
    "api": {"api", "agent", "tools", "checkpoints"},
    "agent": {"agent", "tools"},
    "tools": {"tools"},
    "checkpoints": {"checkpoints", "tools"},
}
ROUTES = "api.routes"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Every module an import in `path` names, inside functions and TYPE_CHECKING too."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    yield from imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: list[str]) -> Iterator[str]:
    """Every module `source` imports; relative imports resolved against `package`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module:
                yield module
                yield from (f"{module}.{alias.name}" for alias in node.names)


def test_relative_imports_are_resolved() -> None:
    source = "from .query import CLIENT_LIMITED\nfrom .. import deps\nimport tools.names\n"
    resolved = set(imports_in(source, ["api", "routes"]))
    assert {"api.routes.query", "api.routes.query.CLIENT_LIMITED", "api.deps"} <= resolved
    assert "tools.names" in resolved


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_what_it_may(package: str) -> None:
    assert sources(package)
    wrong = [
        f"{module_name(path)} imports {name}"
        for path in sources(package)
        for name in imported_modules(path)
        if name.split(".")[0] in MAY_IMPORT and name.split(".")[0] not in MAY_IMPORT[package]
    ]
    assert wrong == []


def test_no_route_module_imports_another() -> None:
    routes = [path for path in sources("api/routes") if path.name != "__init__.py"]
    assert len(routes) > 1
    wrong = [
        f"{module_name(path)} imports {name}"
        for path in routes
        for name in imported_modules(path)
        if name.startswith(f"{ROUTES}.")
    ]
    assert wrong == []
