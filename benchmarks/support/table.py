"""The table of docs/benchmarks.md, made from the committed results (``make bench-table``).

One row per benchmark script (benchmarks/<name>.py) and per result it writes
(benchmarks/results/<name>.json, and <name>_cluster.json where it has a cluster half): its
ratios (ours / peer), its goals, whether they were met, and when, how (full or ``--quick``)
and on what machine it ran. A script with no committed result gets a row that says so. The
table sits between two marker lines in docs/benchmarks.md and is replaced whole; nothing in
it is typed by hand.

    python benchmarks/support/table.py           # rewrite the table in docs/benchmarks.md
    python benchmarks/support/table.py --check   # exit 1 if the table is not up to date

Only the standard library: tests/unit loads this file by its path.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-table: made by `make bench-table` from benchmarks/results/; do not edit -->"
END = "<!-- bench-table: end -->"


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a" if value is None else str(value)
    return f"{value:.3g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _run(result: dict) -> tuple[str, str]:
    """(when and how, on what) for a result; older results recorded neither."""
    run = result.get("run")
    if not run:
        return "not recorded", "not recorded"
    mode = "quick" if run.get("quick") else "full"
    machine = run.get("machine", {})
    load = f"load {run['load_avg_start'][0]:g}→{run['load_avg_end'][0]:g}"
    what = f"{machine.get('cpus')} CPUs {machine.get('cpu', '')}".strip()
    return f"{run['date'][:16].replace('T', ' ')} UTC, {mode}", f"{what}, {load}"


def row(name: str, result: dict | None) -> str:
    if result is None:
        return f"| {name} | no committed result | | | | |"
    ratios = "; ".join(f"{k} {_number(v)}" for k, v in (result.get("ratio") or {}).items())
    goals = "; ".join(f"{k}: {v}" for k, v in (result.get("goal") or {}).items())
    checks = result.get("checks") or result.get("met_by_goal") or {}
    unmet = [goal for goal, ok in checks.items() if not ok]
    met = "yes" if result.get("met") else "**no**" + (f" ({'; '.join(unmet)})" if unmet else "")
    when, machine = _run(result)
    return "| " + " | ".join(_cell(x) for x in (name, ratios, goals, met, when, machine)) + " |"


def results() -> list[tuple[str, dict | None]]:
    """(name, result or None) for every benchmark script's results, in name order."""
    found: list[tuple[str, dict | None]] = []
    folder = BENCHMARKS / "results"
    for script in sorted(BENCHMARKS.glob("*.py")):
        names = [script.stem, f"{script.stem}_cluster"]
        files = [(n, folder / f"{n}.json") for n in names if (folder / f"{n}.json").exists()]
        if not files:
            found.append((script.stem, None))
        for name, path in files:
            found.append((name, json.loads(path.read_text())))
    return found


def table() -> str:
    lines = [
        "| benchmark | ratio (ours / peer, lower is better) | goal | met | run | machine |",
        "|---|---|---|---|---|---|",
        *(row(name, result) for name, result in results()),
    ]
    return "\n".join(lines)


def updated(doc: str) -> str:
    """``doc`` with the text between the markers replaced by the current table."""
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{DOC.relative_to(ROOT)} has no table markers ({BEGIN!r}, {END!r})")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is stale")
    args = parser.parse_args()
    doc = DOC.read_text()
    new = updated(doc)
    if args.check:
        if new != doc:
            print(f"{DOC.relative_to(ROOT)}: the table is stale; run `make bench-table`")
            return 1
        return 0
    DOC.write_text(new)
    print(f"wrote the table of {DOC.relative_to(ROOT)} ({len(results())} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
