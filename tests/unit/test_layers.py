"""harness's packages depend one way: no import cycle between its subpackages and top-level
modules, and none imports a unit of a higher layer (LAYERS). The graph is read from the
source with `ast`: imports at module level and inside functions (a lazy import is still a
dependency), `if TYPE_CHECKING:` blocks left out (they never run). A failure names the
cycle or the import, with the file and line of each edge."""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import harness

HARNESS = Path(harness.__file__).parent

# Lowest first. A unit (a subpackage of harness, or a top-level module; "harness" is the
# package's own __init__) imports only units of its own layer or lower ones; within a
# layer anything goes as long as there is no cycle.
LAYERS: list[tuple[str, set[str]]] = [
    ("foundations: no AWS, cluster, workload or benchmark knowledge",
     {"harness", "errors", "config", "net", "procs", "logs", "hashing", "plotting", "state",
      "catalog", "db", "spark", "jars", "pricing", "allocation", "jvm", "phases",
      "verdicts"}),
    ("services: storage and the endpoint, Spark clusters, workloads and their data, "
     "test servers",
     {"aws", "cluster", "workloads", "testing", "runtimes"}),
    ("compositions: the EMR emulation and its console, where a job runs, benchmarks, cost, "
     "harness up/down",
     {"emr", "targets", "bench", "cost", "runtime", "console"}),
    ("entry points", {"cli", "pytest_plugin"}),
]


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, e.g. harness.aws.server
    target: str  # imported module, e.g. harness.emr.api
    path: str  # the importing file, from the package's parent: harness/aws/server.py
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def modules(package: Path) -> dict[str, Path]:
    """Every module under the package directory, by dotted name."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(package: Path) -> list[Edge]:
    """Every import of a module of the package by another, wherever it is written."""
    mods = modules(package)
    root = package.name
    edges = []
    for name, path in mods.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]

        def visit(node: ast.AST, name: str = name, path: Path = path, here: str = here) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and _type_checking(child):
                    for stmt in child.orelse:
                        visit(ast.Module(body=[stmt], type_ignores=[]))
                    continue
                targets: list[str] = []
                if isinstance(child, ast.Import):
                    targets = [a.name for a in child.names]
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        parent = here.split(".")[:len(here.split(".")) - child.level + 1]
                        base = ".".join([*parent, *([base] if base else [])])
                    # `from pkg import mod` imports the module; `from mod import name` the module
                    targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                               for a in child.names]
                for target in targets:
                    if target.split(".")[0] == root and target != name:
                        while target not in mods and "." in target:  # a name in no module
                            target = target.rpartition(".")[0]
                        edges.append(Edge(name, target,
                                          path.relative_to(package.parent).as_posix(),
                                          child.lineno))
                visit(child)

        visit(ast.parse(path.read_text(), str(path)))
    return edges


def unit(module: str) -> str:
    """harness.aws.server -> aws; harness.cli -> cli; harness -> harness."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def unit_graph(edges: list[Edge]) -> dict[str, dict[str, Edge]]:
    """Units and, per imported unit, the first import that makes the dependency."""
    graph: dict[str, dict[str, Edge]] = defaultdict(dict)
    for edge in sorted(edges, key=lambda e: (e.source, e.line)):
        a, b = unit(edge.source), unit(edge.target)
        if a != b:
            graph[a].setdefault(b, edge)
    return graph


def components(graph: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan): units that each
    import, directly or not, every other one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, {})):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(found)


def shortest_cycle(component: list[str], graph: dict[str, dict[str, Edge]]) -> list[str]:
    """A shortest cycle through the component's first unit, that unit repeated at the end."""
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.get(v, {})):
            if w == start:
                return [*paths[v], start]
            if w in component and w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"{component} is not strongly connected")


def describe(component: list[str], graph: dict[str, dict[str, Edge]]) -> str:
    """The cycle in words: its shortest loop, then every import inside it (what to cut)."""
    loop = shortest_cycle(component, graph)
    inside = "; ".join(f"{a} -> {b}: {edge}" for a in component
                       for b, edge in sorted(graph[a].items()) if b in component)
    return f"{' -> '.join(loop)} (imports among {', '.join(component)}: {inside})"


def layer_of(name: str) -> int | None:
    return next((i for i, (_, units) in enumerate(LAYERS) if name in units), None)


def test_no_import_cycle_between_packages():
    graph = unit_graph(imports(HARNESS))
    found = [describe(c, graph) for c in components(graph)]
    assert not found, "import cycle between harness's packages: " + " | ".join(found)


def test_no_package_imports_a_higher_layer():
    graph = unit_graph(imports(HARNESS))
    upward = [f"{a} ({LAYERS[layer_of(a)][0].split(':')[0]}) imports {b} "
              f"({LAYERS[layer_of(b)][0].split(':')[0]}): {edge}"
              for a, targets in sorted(graph.items()) for b, edge in sorted(targets.items())
              if layer_of(a) is not None and layer_of(b) is not None
              and layer_of(b) > layer_of(a)]
    assert not upward, "a lower layer imports a higher one: " + " | ".join(upward)


def test_every_package_and_module_has_a_layer():
    units = {unit(m) for m in modules(HARNESS)}
    missing = sorted(u for u in units if layer_of(u) is None)
    assert not missing, (f"{', '.join(missing)} in no layer: add each to LAYERS in "
                         "tests/unit/test_layers.py, in the lowest layer whose units it "
                         "may import")


def _package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_graph_counts_lazy_imports_and_skips_type_checking(tmp_path):
    package = _package(tmp_path, {
        "__init__.py": "",
        "low/__init__.py": "from pkg.low import base\n",
        "low/base.py": "from typing import TYPE_CHECKING\n"
                       "if TYPE_CHECKING:\n    from pkg.high import thing\n",
        "high/__init__.py": "",
        "high/thing.py": "def f():\n    from pkg.low.base import x\n",
        "tool.py": "from . import high\n",
    })
    graph = unit_graph(imports(package))
    assert {a: set(b) for a, b in graph.items()} == {"high": {"low"}, "tool": {"high"}}
    assert str(graph["high"]["low"]) == "pkg/high/thing.py:2 imports pkg.low.base"
    assert components(graph) == []
    (package / "low" / "base.py").write_text("def g():\n    import pkg.high.thing\n")
    graph = unit_graph(imports(package))
    assert components(graph) == [["high", "low"]]
    assert describe(["high", "low"], graph) == (
        "high -> low -> high (imports among high, low: "
        "high -> low: pkg/high/thing.py:2 imports pkg.low.base; "
        "low -> high: pkg/low/base.py:2 imports pkg.high.thing)")
