"""Turn what a user has (a cell, a script file, a Python function) into ``Code``.

Local modules the code imports from its own folder travel with it, so ``import utils`` in
a cell works on a cluster as it does in the notebook.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import InvalidSpecError
from .jobs import Code

MAX_SHIPPED_BYTES = 900 * 1024  # a ConfigMap holds at most 1 MiB, metadata included


# Never shipped, even when the code sits next to them: they are installed where it runs.
NEVER_SHIPPED = frozenset({"jupyter_kf"})


def local_imports(source: str, folder: Path) -> dict[str, str]:
    """Modules imported by ``source`` that are files in ``folder`` (followed transitively).

    A module is one file; a package is shipped whole (every ``.py`` under it), so its own
    relative imports resolve on the workers as they do here.
    """
    found: dict[str, str] = {}
    pending = [source]
    while pending:
        try:
            tree = ast.parse(pending.pop())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in NEVER_SHIPPED:
                    continue
                for rel in _files_of(top, folder):
                    if rel not in found:
                        found[rel] = (folder / rel).read_text()
                        pending.append(found[rel])
    return found


def _files_of(top: str, folder: Path) -> list[str]:
    if (folder / f"{top}.py").is_file():
        return [f"{top}.py"]
    package = folder / top
    if (package / "__init__.py").is_file():
        return sorted(
            str(p.relative_to(folder))
            for p in package.rglob("*.py")
            if "__pycache__" not in p.parts
        )
    return []


def _checked(code: Code) -> Code:
    size = sum(len(text.encode()) for text in code.all_files().values())
    if size > MAX_SHIPPED_BYTES:
        biggest = sorted(code.all_files().items(), key=lambda kv: -len(kv[1]))[:3]
        names = ", ".join(f"{k} ({len(v.encode()) // 1024} KiB)" for k, v in biggest)
        raise InvalidSpecError(
            f"the code to ship is {size // 1024} KiB, over the {MAX_SHIPPED_BYTES // 1024} KiB "
            f"a job can carry (a ConfigMap's limit); largest: {names}. Put data and large "
            "files on a volume or in the image instead"
        )
    return code


def code_from_cell(
    source: str, *, folder: str | Path = ".", args: Sequence[str] = (), filename: str = "train.py"
) -> Code:
    files = local_imports(source, Path(folder))
    files.pop(filename, None)
    return _checked(
        Code(source=source, filename=filename, args=tuple(args), origin="cell", files=files)
    )


def code_from_file(path: str | Path, *, args: Sequence[str] = ()) -> Code:
    path = Path(path)
    try:
        source = path.read_text()
    except FileNotFoundError:
        raise InvalidSpecError(f"no script at {str(path)!r}") from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as exc:
        raise InvalidSpecError(f"cannot read the script {str(path)!r}: {exc}") from None
    files = local_imports(source, path.parent)
    files.pop(path.name, None)
    return _checked(
        Code(source=source, filename=path.name, args=tuple(args), origin="file", files=files)
    )


def code_from_function(
    func: Callable[..., Any], *, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
) -> Code:
    """A script that defines ``func`` and calls it with ``args``/``kwargs``.

    Arguments travel as Python literals, so they must be plain values (numbers, strings,
    lists, dicts...). The function's own imports must be inside it or in local modules.
    """
    if not callable(func) or not hasattr(func, "__code__"):
        raise InvalidSpecError(f"{func!r} is not a Python function")
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as exc:
        raise InvalidSpecError(
            f"cannot read the source of {func.__name__}: {exc}; define it in a file or a cell"
        ) from None
    if func.__name__ == "<lambda>":
        raise InvalidSpecError("a lambda cannot be shipped; use a def function")
    call_args = [*map(_literal, args), *(f"{k}={_literal(v)}" for k, v in (kwargs or {}).items())]
    script = (
        f"{source}\n\nif __name__ == '__main__':\n    {func.__name__}({', '.join(call_args)})\n"
    )
    folder = Path(inspect.getsourcefile(func) or ".").parent
    return _checked(
        Code(
            source=script,
            filename="train.py",
            origin="function",
            files=local_imports(source, folder),
        )
    )


def _literal(value: Any) -> str:
    text = repr(value)
    try:
        if ast.literal_eval(text) != value:
            raise ValueError
    except (ValueError, SyntaxError):
        raise InvalidSpecError(
            f"argument {text[:60]} is not a plain value (numbers, strings, lists, dicts) "
            "and cannot be shipped to the workers"
        ) from None
    return text
