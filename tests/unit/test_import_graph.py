"""jupyter_kf's modules import each other without circles.

Read from the source (no import happens), so a circle that Python tolerates today, through
a late import or a half-initialised module, still fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jupyter_kf

ROOT = Path(jupyter_kf.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, with_type_checking: bool):
    """Every module name ``module`` imports (anywhere, late imports included)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking(node) and not with_type_checking:
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            for alias in node.names:
                yield f"{name}.{alias.name}"  # a submodule, or a name in ``name``
        stack.extend(ast.iter_child_nodes(node))


def graph(with_type_checking: bool) -> dict[str, set[str]]:
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        for name in _imports(tree, module, path.name == "__init__.py", with_type_checking):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges[module].add(name)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_circles_at_run_time():
    assert circles(graph(with_type_checking=False)) == []


@pytest.mark.parametrize("package", ["jupyter_kf.jobs"])
def test_no_circles_even_through_type_hints(package):
    edges = graph(with_type_checking=True)
    inside = {m: {n for n in e if n.startswith(package)} for m, e in edges.items()}
    inside = {m: e for m, e in inside.items() if m.startswith(package)}
    assert circles(inside) == []


def test_the_job_model_imports_nothing_else_of_the_package():
    edges = graph(with_type_checking=True)
    for module, names in edges.items():
        if module.startswith("jupyter_kf.jobs"):
            outside = {n for n in names if n.startswith("jupyter_kf") and ".jobs" not in n}
            assert outside <= {"jupyter_kf.errors"}, (module, outside)
