"""The packages of this distribution import each other without a cycle.

A cycle hidden by function-level imports is still a cycle: the two modules cannot be understood,
tested or moved apart. So the graph counts every import statement, at module level and inside
functions, between the modules of ``sweeper``, ``objectives``, ``cost_models``, ``registries`` and
``user_errors``. Only imports under ``if TYPE_CHECKING:`` are left out: they never run.

``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg`` (its
``__init__``). A package's ``__init__`` importing its own submodules is how it re-exports them; a
submodule importing its parent package's ``__init__`` is an edge back to it, hence a cycle:
submodules import their siblings directly.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("sweeper", "objectives", "cost_models", "registries", "user_errors", "user_cache")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        root = REPO / package
        files = sorted(root.rglob("*.py")) if root.is_dir() else [REPO / f"{package}.py"]
        for path in files:
            if "__pycache__" not in path.parts:
                found[_module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run (anywhere in the module but ``if TYPE_CHECKING``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports_in(child)
            continue
        yield from _imports_in(node)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def _internal(name: str) -> str | None:
    """``name`` or its nearest enclosing module that belongs to the packages."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    known = modules()
    if isinstance(node, ast.Import):
        for alias in node.names:
            target = _internal(alias.name)
            if target is not None:
                yield target
        return
    base = node.module or ""
    if node.level:  # relative: from the module's package
        is_package = known[module].name == "__init__.py"
        anchor = module.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        target = submodule if submodule in known else _internal(base)
        if target is not None:
            yield target


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Module -> the modules it imports (among the packages), every import counted."""
    graph = {}
    for module, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = {t for node in _imports(tree) for t in _targets(module, node)}
        edges.discard(module)
        graph[module] = frozenset(edges)
    return graph


def cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """One cycle (``a -> b -> ... -> a``) per strongly connected component of several modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan, iterative over the edges of each node
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        while work:
            node, edges = work[-1]
            for w in edges:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.add(w)
                        if w == node:
                            break
                    if len(component) > 1:
                        components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_cycle_in(graph, c) for c in components]


def _cycle_in(graph: dict[str, frozenset[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first within it)."""
    start = min(component)
    paths = {w: [start, w] for w in sorted(graph[start] & component)}
    frontier = list(paths)
    while start not in paths:
        next_frontier = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    next_frontier.append(w)
        frontier = next_frontier
    return paths[start]


def _describe(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(c) for c in found)


def test_the_graph_counts_function_level_imports_and_parent_packages() -> None:
    graph = import_graph()
    assert "sweeper.budget._guard" in graph["sweeper.budget"]  # its __init__ re-exports it
    # ``from sweeper.quote import ...`` inside a function of the cost-aware sampler's cost.
    assert "sweeper.quote" in graph["sweeper.samplers._recipe_cost"]
    toy = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}
    assert cycles(toy) == [["a", "b", "c", "a"]]


def test_a_function_level_import_of_a_parent_package_is_an_edge() -> None:
    module = "sweeper.budget._guard"
    tree = ast.parse("def f():\n    from sweeper.budget import BudgetLedger\n")
    assert [t for node in _imports(tree) for t in _targets(module, node)] == ["sweeper.budget"]
    tree = ast.parse("if TYPE_CHECKING:\n    from sweeper.study import LoadedStudy\n")
    assert list(_imports(tree)) == []


def test_the_packages_import_each_other_without_a_cycle() -> None:
    found = cycles(import_graph())
    assert not found, (
        "import cycles (every import counted, one cycle per group of modules):\n" + _describe(found)
    )


def _function_level_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements inside a function body (``if TYPE_CHECKING`` left out)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for statement in node.body:
                yield from _imports_in(statement)


def test_sweeper_imports_its_own_modules_at_module_level_outside_the_cli() -> None:
    """A function-level import between two ``sweeper`` modules only ever served to dodge a cycle.
    The CLI is the exception: it imports each command's modules when the command runs, so that
    ``sweeper --help`` and shell completion start fast. Heavy libraries (torch, lm-eval, mergekit,
    matplotlib, and ``objectives``, which loads torch) may still be imported late."""
    late = []
    for module, path in modules().items():
        if not module.startswith("sweeper.") or module.startswith("sweeper.cli"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _function_level_imports(tree):
            for target in _targets(module, node):
                if target.startswith("sweeper"):
                    late.append(f"{module}:{node.lineno} imports {target} inside a function")
    assert not late, "\n".join(sorted(set(late)))
