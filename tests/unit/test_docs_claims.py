"""What README.md and the Makefile say about the developer commands is so: `make bench`
sets up the peers its benchmarks refuse to run without, `make test-fast` is the marker
selection the README quotes, and the schemathesis run fits inside its test's timeout."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dry_run(target: str) -> str:
    """The commands ``make TARGET`` would run from nothing (``-B``: as on a fresh clone)."""
    done = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_bench_installs_the_peer_the_hub_benchmarks_require():
    source = (ROOT / "benchmarks" / "support" / "hub_bench.py").read_text()
    venv = re.search(r'PEER_VENV = ROOT / "([^"]+)"', source).group(1)
    assert 'PEER_VENV / "bin" / "jupyterhub"' in source  # what require_peer() looks for
    commands = dry_run("bench")
    assert f"python3 -m venv {venv}" in commands
    assert f"{venv}/bin/pip install -q -r benchmarks/requirements-kubespawner.txt" in commands
    assert commands.index(f"python3 -m venv {venv}") < commands.index("benchmarks/*.py")


def test_test_fast_is_what_the_readme_says():
    readme = (ROOT / "README.md").read_text()
    quoted = re.search(r'`pytest (-m "[^"]+")`', readme).group(1)
    assert f"pytest {quoted}" in dry_run("test-fast")
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    declared = {m.split(":")[0] for m in markers["markers"]}
    assert set(re.findall(r"not (\w+)", quoted)) <= declared


def test_the_schemathesis_run_fits_its_tests_timeout():
    from tests.server import test_schemathesis as st

    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    suite = int(options["ini_options"]["timeout"])
    (mark,) = [m for m in st.test_schemathesis_finds_nothing.pytestmark if m.name == "timeout"]
    assert st.SCHEMATHESIS_SECONDS < mark.args[0]
    assert mark.args[0] > suite  # the mark is what lets it run past the suite's timeout
