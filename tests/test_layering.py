"""The package layers of docs/architecture.md hold: no upward or sideways import, no import cycle,
no module or function past the size ceilings.

Imports are read from the source (module level and inside functions), so a lazy import counts.
"""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 100


def declared_layers(text: str) -> dict[str, int]:
    """``{package: layer}`` from the table between the ``layers`` markers.

    >>> declared_layers("<!-- layers:begin -->\\n| 1 | `a` | x |\\n| 2 | `b` | y |\\n<!-- layers:end -->")
    {'a': 1, 'b': 2}
    """
    block = text.split("<!-- layers:begin -->", 1)[1].split("<!-- layers:end -->", 1)[0]
    return {m.group(2): int(m.group(1)) for m in re.finditer(r"^\|\s*(\d+)\s*\|\s*`(\w+)`", block, re.M)}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path, known: set[str]) -> set[str]:
    """Modules of the project (``known``) that ``path`` imports, resolved to the longest known name."""
    this = module_name(path, root)
    package = this.split(".") if path.name == "__init__.py" else this.split(".")[:-1]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            parts = name.split(".")
            for k in range(len(parts), 0, -1):
                candidate = ".".join(parts[:k])
                if candidate in known:
                    if candidate != this:
                        found.add(candidate)
                    break
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node but those under ``if TYPE_CHECKING:`` (imports for type hints only, never executed)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            test = getattr(child, "test", None) if isinstance(child, ast.If) else None
            if test is not None and (getattr(test, "id", None) == "TYPE_CHECKING"
                                     or getattr(test, "attr", None) == "TYPE_CHECKING"):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def import_graph(root: Path, packages: set[str]) -> dict[str, set[str]]:
    files = [p for pkg in packages for p in (root / pkg).rglob("*.py")]
    known = {module_name(p, root) for p in files}
    return {module_name(p, root): imports_of(p, root, known) for p in files}


def layer_violations(graph: dict[str, set[str]], layers: dict[str, int]) -> list[str]:
    """Arrows from a module to another package that is not in a lower layer.

    >>> layer_violations({"a.x": {"b.y"}, "b.y": set()}, {"a": 1, "b": 2})
    ['a.x -> b.y (layer 1 imports layer 2)']
    """
    bad = []
    for module, targets in sorted(graph.items()):
        src = module.split(".")[0]
        for target in sorted(targets):
            dst = target.split(".")[0]
            if dst != src and layers[dst] >= layers[src]:
                bad.append(f"{module} -> {target} (layer {layers[src]} imports layer {layers[dst]})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted.

    Imports of a package's ``__init__`` by its own submodules are the normal re-export pattern and
    are left out.

    >>> cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    """
    edges = {m: {t for t in ts if t in graph and not (m.startswith(t + "."))} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(groups)


def long_functions(path: Path, limit: int) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [f"{path.relative_to(ROOT)}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
            for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.end_lineno - n.lineno + 1 > limit]


@pytest.fixture(scope="module")
def layers() -> dict[str, int]:
    found = declared_layers(ARCHITECTURE.read_text())
    assert {"verifiers", "data", "engines", "labelers", "prm_training", "search", "rl", "pipelines"} <= set(found)
    return found


def test_every_package_is_declared(layers):
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages <= set(layers), f"packages without a layer in docs/architecture.md: {packages - set(layers)}"


def test_no_import_runs_up_or_sideways(layers):
    assert layer_violations(import_graph(ROOT, set(layers)), layers) == []


def test_no_import_cycles(layers):
    assert cycles(import_graph(ROOT, set(layers))) == []


def test_a_planted_upward_import_fails(layers, tmp_path):
    for package in layers:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "verifiers" / "leak.py").write_text("def f():\n    from pipelines.cli.main import main\n")
    (tmp_path / "pipelines" / "cli.py").write_text("from verifiers import leak\n")
    graph = import_graph(tmp_path, set(layers))
    assert layer_violations(graph, layers) == ["verifiers.leak -> pipelines.cli (layer 1 imports layer 7)"]
    assert cycles(graph) == [["pipelines.cli", "verifiers.leak"]]


def test_modules_and_functions_stay_small(layers):
    too_long = [f"{p.relative_to(ROOT)} ({n} lines)" for pkg in layers for p in (ROOT / pkg).rglob("*.py")
                if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    functions = [f for pkg in layers for p in (ROOT / pkg).rglob("*.py") for f in long_functions(p, MAX_FUNCTION_LINES)]
    assert too_long == [] and functions == []
