"""The package's import structure, read from the source: no import circle anywhere in src/
(imports inside functions included), and the backend seam kept (docs/architecture.md): the
predictors reach a backend only through `masklet.backend`, a backend never imports a predictor,
and the seam imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PREDICTORS = ("masklet.predict",)
BACKENDS = ("masklet.model", "masklet.exported", "masklet.onnxrt", "masklet.openvino")
SEAM = "masklet.backend"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """{module: the masklet modules it imports anywhere in its file}. `from package import
    submodule` depends on the submodule, not on the package's __init__."""
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, *([base] if base else [])])
                submodules = {f"{base}.{alias.name}" for alias in node.names} & files.keys()
                targets.update(submodules)
                if len(submodules) < len(node.names):  # names defined by `base` itself
                    targets.add(base)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_no_import_circle(graph):
    assert cycles(graph) == []


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_predictors_and_backends_meet_only_at_the_seam(graph):
    crossings = []
    for module, targets in graph.items():
        for target in targets:
            if within(module, PREDICTORS) and within(target, BACKENDS):
                crossings.append(f"{module} -> {target}")
            if within(module, BACKENDS) and within(target, PREDICTORS):
                crossings.append(f"{module} -> {target}")
            if within(module, (SEAM,)) and within(target, (*PREDICTORS, *BACKENDS)):
                crossings.append(f"{module} -> {target}")
    assert crossings == []
