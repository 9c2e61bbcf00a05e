"""The benchmarks cannot pass a missed goal: each goal in benchmarks/support/verdict.py fails
on a result that misses it, a finished run that missed one exits 1 with the date and the
machine in its file, every script hands its verdict to its exit status, and the table in
docs/benchmarks.md is the one made from the committed results."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


def load(name: str):
    """A module of benchmarks/support/ by its path (they use only the standard library)."""
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", BENCHMARKS / "support" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verdict = load("verdict")
table = load("table")


def med(value: float) -> dict:
    return {"median": value, "min": value, "max": value, "n": 1}


IDLE_QUIET = {"panel_requests": 0, "websockets_opened": 0}

# name: (a result that meets every goal, [(what a miss changes, the path, the value)])
CASES: dict[str, tuple[dict, list[tuple[tuple, object]]]] = {
    "panel_latency": (
        {"ours": {"change_to_panel_ms": med(120), "idle": dict(IDLE_QUIET)}},
        [
            (("ours", "change_to_panel_ms"), med(600)),
            (("ours", "idle", "panel_requests"), 6),
            (("ours", "idle", "websockets_opened"), 1),
        ],
    ),
    "list_latency": (
        {"ours": {"list_ms": {"p50": 40, "p99": 90}}},
        [(("ours", "list_ms", "p50"), 300), (("ours", "list_ms", "p99"), 1500)],
    ),
    "widget_latency": (
        {"ours": {"update_s": med(0.05)}, "ratio": {"update_s": 0.03}},
        [(("ours", "update_s"), med(0.7)), (("ratio", "update_s"), 1.0)],
    ),
    "submit_latency": (
        {"ratio": {"visible_s": 0.4, "returned_s": 1.0}},
        [(("ratio", "visible_s"), 1.2), (("ratio", "returned_s"), 1.01)],
    ),
    "submit_latency_cluster": (
        {"ratio": {"visible_s": 0.9, "returned_s": 0.8}},
        [(("ratio", "visible_s"), 1.21), (("ratio", "returned_s"), 2.07)],
    ),
    "status_propagation": (
        {
            "ratio": {
                "latency_median_vs_peer@1": 0.01,
                "requests_per_job_minute_vs_peer@15": 0.5,
            }
        },
        [
            (("ratio", "latency_median_vs_peer@1"), 0.2),
            (("ratio", "requests_per_job_minute_vs_peer@15"), 1.0),
        ],
    ),
    "list_jobs": (
        {"ours": {"list_ms": {"p99": 3.0}}},
        [(("ours", "list_ms", "p99"), 20.0)],
    ),
    "local_launch": (
        {
            "ratio": {
                "ours_over_torchrun_4_workers": 1.05,
                "ours_over_kubeflow_sdk_1_worker": 0.05,
            },
            "ours": {"supervisor_rss_mb": med(30)},
            "failures": [],
        },
        [
            (("ratio", "ours_over_torchrun_4_workers"), 1.3),
            (("ratio", "ours_over_kubeflow_sdk_1_worker"), None),
            (("ours", "supervisor_rss_mb"), med(41)),
            (("failures",), ["round 1 torchrun 4 workers: exited with 1"]),
        ],
    ),
    "idle_api_load": (
        {"ratio": {"requests_per_s": 0.02}, "seconds": 480},
        [(("ratio", "requests_per_s"), 0.5), (("seconds",), 120)],
    ),
    "trainjob_status_propagation": (
        {"ratio": {"latency_median": 0.001, "requests_per_batch_median": 0.02}},
        [(("ratio", "latency_median"), 0.2), (("ratio", "requests_per_batch_median"), 0.3)],
    ),
    "trainjob_list": (
        {"ratio": {"list_ms_p99": 0.001}},
        [(("ratio", "list_ms_p99"), 0.06)],
    ),
    "trainjob_submit": (
        {"ratio": {"visible_median": 0.9}},
        [(("ratio", "visible_median"), 1.1)],
    ),
}


def with_value(result: dict, path: tuple, value: object) -> dict:
    changed = copy.deepcopy(result)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


def test_every_goal_has_a_case():
    assert set(CASES) == set(verdict.CHECKS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_result_that_meets_the_goals_passes(name):
    checks = verdict.check(name, CASES[name][0])
    assert checks and all(checks.values()), checks


@pytest.mark.parametrize(
    "name, path, value",
    [(name, path, value) for name, (_, misses) in CASES.items() for path, value in misses],
)
def test_each_miss_fails_its_goal(name, path, value):
    checks = verdict.check(name, with_value(CASES[name][0], path, value))
    assert not all(checks.values()), checks


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_result_missing_its_figures_fails(name):
    checks = verdict.check(name, {"ours": {}, "ratio": {}})
    assert checks and not all(checks.values())


def test_a_finished_run_that_missed_exits_1_and_records_when_and_where(tmp_path, capsys):
    missed = with_value(CASES["list_latency"][0], ("ours", "list_ms", "p99"), 1500)
    run = verdict.Run("list_latency", quick=True, results=tmp_path)
    assert run.finish(missed, "60 requests each") == 1
    written = json.loads((tmp_path / "list_latency.json").read_text())
    assert written["met"] is False
    assert written["checks"] == {"list_ms p50 < 250": True, "list_ms p99 < 1000": False}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", written["run"]["date"])
    assert written["run"]["machine"]["cpus"] >= 1
    assert written["run"]["quick"] is True and written["run"]["quick_measures"]
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert (
        last.startswith("RESULT list_latency ")
        and json.loads(last.split(" ", 2)[2])["met"] is False
    )

    met = verdict.Run("list_latency", quick=False, results=tmp_path)
    assert met.finish(CASES["list_latency"][0]) == 0


SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_every_benchmark_exits_with_its_verdict(script):
    source = script.read_text()
    exits_itself = re.search(r"if not met:\s+sys\.exit\(1\)", source)  # spawn_herd's way
    assert exits_itself or 'if __name__ == "__main__":\n    sys.exit(main())' in source
    if "run.finish(" in source or "from support.verdict import" in source:
        assert not re.search(r"^\s+return 0$", source, re.M), "a return 0 bypasses the verdict"
    else:  # the scripts that decide their exit status themselves
        assert exits_itself or re.search(r'return 0 if \w+\["met"\] else 1', source)


def test_the_docs_table_is_made_from_the_committed_results():
    doc = table.DOC.read_text()
    assert table.updated(doc) == doc, "docs/benchmarks.md's table is stale: make bench-table"
    for name, result in table.results():
        assert f"| {name} |" in doc
        if result is not None and "run" in result:
            assert result["run"]["date"][:10] in doc
