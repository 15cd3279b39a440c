"""The shape of the code: sizes, layers, the import graph, and the README's code map."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("config", "flows", "tasks", "replay")
NOT_PRODUCT = ("tests", "bench", "fakes")
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 50


def modules() -> dict[str, Path]:
    """Return every product module by dotted name (a package by its own name)."""
    found = {}
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imported(path: Path) -> set[str]:
    """Return what `path` imports anywhere (inside functions and TYPE_CHECKING blocks too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def test_no_module_over_300_lines_and_no_function_over_50():
    too_long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []


def test_the_product_imports_no_test_bench_or_fake_and_stages_read_no_settings():
    wrong = {
        name: sorted(i for i in imported(path) if i.split(".")[0] in NOT_PRODUCT)
        for name, path in modules().items()
    }
    assert {name: found for name, found in wrong.items() if found} == {}
    readers = [n for n, p in modules().items() if n.split(".")[0] in ("tasks", "replay")]
    assert [n for n in readers if "get_settings" in modules()[n].read_text()] == []
    assert [
        n
        for n, p in modules().items()
        if n.startswith("replay")
        and imported(p) & {m for m in modules() if not m.startswith("replay")}
    ] == []


def test_layers_point_one_way_config_tasks_flows():
    rank = {"config": 0, "tasks": 1, "flows": 2}
    upward = []
    for name, path in modules().items():
        layer = name.split(".")[0]
        for target in imported(path) & set(modules()):
            if layer in rank and rank.get(target.split(".")[0], -1) > rank[layer]:
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_the_import_graph_has_no_cycle():
    known = modules()
    graph = {name: (imported(path) & set(known)) - {name} for name, path in known.items()}
    # A package's __init__ is empty here; importing `tasks.x` is an edge to `tasks.x` only.
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_readmes_code_map_names_exactly_the_modules_of_the_tree():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Code map", 1)[1].split("\n## ", 1)[0]
    mapped = set(re.findall(r"`((?:" + "|".join(PRODUCT) + r")/[\w/]+\.py)`", section))
    tree = {str(p.relative_to(ROOT)) for p in modules().values() if p.name != "__init__.py"}
    assert sorted(tree - mapped) == [] and sorted(mapped - tree) == []
