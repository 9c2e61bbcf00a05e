"""Turning cells, files and functions into shipped code, local imports included."""

import pytest

from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.packaging import (
    MAX_SHIPPED_BYTES,
    code_from_cell,
    code_from_file,
    code_from_function,
    local_imports,
)


def test_local_imports_follow_modules_and_packages(tmp_path):
    (tmp_path / "utils.py").write_text("import pkg.inner\nVALUE = 1\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "inner.py").write_text("from helpers import x\n")
    (tmp_path / "helpers.py").write_text("x = 2\n")
    (tmp_path / "pkg" / "rel.py").write_text("from . import inner\n")
    (tmp_path / "unused.py").write_text("y = 3\n")
    (tmp_path / "jupyter_kf").mkdir()  # installed where the code runs: never shipped
    (tmp_path / "jupyter_kf" / "__init__.py").write_text("")
    found = local_imports("import os\nimport utils\nimport torch\nimport jupyter_kf\n", tmp_path)
    assert sorted(found) == [
        "helpers.py",
        "pkg/__init__.py",
        "pkg/inner.py",
        "pkg/rel.py",
        "utils.py",
    ]


def test_cell_and_file(tmp_path):
    (tmp_path / "data_utils.py").write_text("def load(): return 1\n")
    script = tmp_path / "train.py"
    script.write_text("from data_utils import load\nprint(load())\n")
    code = code_from_file(script, args=["--epochs", 3])
    assert code.filename == "train.py" and code.origin == "file"
    assert code.args == ("--epochs", "3")
    assert dict(code.files) == {"data_utils.py": "def load(): return 1\n"}
    cell = code_from_cell("import data_utils\n", folder=tmp_path)
    assert list(cell.files) == ["data_utils.py"] and cell.origin == "cell"


def test_missing_file_and_size_limit(tmp_path):
    with pytest.raises(InvalidSpecError, match="no script at"):
        code_from_file(tmp_path / "nope.py")
    (tmp_path / "big.py").write_text("x = '" + "a" * MAX_SHIPPED_BYTES + "'\n")
    with pytest.raises(InvalidSpecError, match=r"over the 900 KiB.*big.py"):
        code_from_cell("import big\n", folder=tmp_path)


def train(lr, epochs=1):
    print(lr, epochs)


def test_function(tmp_path):
    code = code_from_function(train, args=[0.1], kwargs={"epochs": 2})
    assert code.origin == "function"
    assert "def train(lr, epochs=1):" in code.source
    assert code.source.rstrip().endswith("train(0.1, epochs=2)")
    with pytest.raises(InvalidSpecError, match="not a plain value"):
        code_from_function(train, args=[object()])
    with pytest.raises(InvalidSpecError, match="lambda"):
        code_from_function(lambda: 1)
    with pytest.raises(InvalidSpecError, match="not a Python function"):
        code_from_function(print)
