"""Layout rules that ruff, mypy and import-linter don't check; run by `make lint`.

- No module of the package is over 600 lines: past that a module does several things.
- Benchmarks import nothing from tests/: benchmarks/support/ has what they share.
- No test or benchmark edits sys.path: tests import ``tests.support``, benchmarks ``support``
  (their own folder is first on the path when run as ``python benchmarks/<name>.py``).

Prints every offender and exits 1 if there is one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def python_files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "node_modules" not in p.parts)


def too_long() -> list[str]:
    found = []
    for path in python_files("jupyter_kf"):
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            found.append(f"{path.relative_to(ROOT)}: {lines} lines (at most {MAX_LINES})")
    return found


def imports_of(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def edits_sys_path(tree: ast.AST) -> list[int]:
    """Lines that use ``sys.path`` (reading it to edit it is the only reason to)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]


def wrong_imports() -> list[str]:
    found = []
    for folder in ("tests", "benchmarks"):
        for path in python_files(folder):
            tree = ast.parse(path.read_text(), str(path))
            name = path.relative_to(ROOT)
            found += [f"{name}:{line}: edits sys.path" for line in edits_sys_path(tree)]
            if folder == "benchmarks":
                found += [
                    f"{name}:{line}: imports {module} (benchmarks import nothing from tests/)"
                    for line, module in imports_of(tree)
                    if module == "tests" or module.startswith("tests.")
                ]
    return found


def main() -> int:
    offenders = too_long() + wrong_imports()
    for line in offenders:
        print(line)
    if not offenders:
        print(f"layout: no module over {MAX_LINES} lines; benchmarks and tests import cleanly")
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
