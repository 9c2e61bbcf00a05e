"""``%kftrain`` in an in-process IPython shell, against real local jobs."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from jupyter_kf.magics import KFTrainMagics

from .conftest import WORKER


def run(shell, line, cell=None):
    """Run the magic as a cell would; the error it raised (or None) and the result."""
    source = f"%%kftrain {line}\n{cell}" if cell is not None else f"%kftrain {line}"
    result = shell.run_cell(source)
    return result.error_in_exec, result.result


def usage_error(shell, capsys, line, cell=None) -> str:
    error, _ = run(shell, line, cell)
    assert type(error) is UsageError, error  # exactly UsageError: IPython shows no traceback
    err = capsys.readouterr().err
    assert "Traceback" not in err and "UsageError: " in err
    return str(error)


def test_help_shows_options_and_subcommands(shell):
    doc = KFTrainMagics.kftrain.__doc__
    for text in (
        "%%kftrain [options]",
        "--workers N",
        "--framework F",
        "--cluster",
        "--env <K=V>",
        "logs NAME [-f] [--replica worker-1]",
        "scale NAME N",
    ):
        assert text in doc, text
    info = shell.object_inspect("%kftrain")
    assert info["found"] and "--workers N" in info["docstring"]


def test_help_lists_every_option_and_subcommand_it_accepts(shell):
    """``%kftrain?`` and the usage name what the parsers accept, and no stale default."""
    from jupyter_kf.magics import SHORT_USAGE, SUBCOMMANDS

    magics = shell.find_magic("kftrain").__self__
    doc = shell.object_inspect("%kftrain")["docstring"]
    for action in magics.kftrain.parser._actions:
        for option in action.option_strings:
            assert option in doc, option
    for verb in SUBCOMMANDS:
        assert verb in doc and verb in SHORT_USAGE, verb
        sub = magics._subparser(verb)
        options = [o for a in sub._actions for o in a.option_strings]
        assert {"--local", "--cluster", "--namespace"} <= set(options), verb
        for action in sub._actions:
            # every option of a subcommand is in the one-screen usage (in one of its spellings)
            assert not action.option_strings or any(
                o in SHORT_USAGE for o in action.option_strings
            ), (verb, action.option_strings)
    assert "--local/--cluster and --namespace NS" in SHORT_USAGE
    local_help = next(
        a.help for a in magics.kftrain.parser._actions if "--local" in a.option_strings
    )
    assert "(default)" not in local_help and "auto" in local_help
    assert "KFTrainMagics.backend" in doc and "auto" in doc


# -- bad input: one clear message each ---------------------------------------------------------
def test_unknown_framework(shell, capsys):
    message = usage_error(shell, capsys, "--framework torchy --name x", "print(1)")
    assert "torchy" in message and "pytorch" in message
    assert "usage:" in message and "%%kftrain [options]" in message


def test_negative_workers(shell, capsys, client):
    message = usage_error(shell, capsys, "--workers -2 --name x", "print(1)")
    assert "workers must be a whole number >= 1, not -2" in message
    assert "usage:" in message
    assert client.list() == []


def test_unknown_job(shell, capsys):
    for line in ("status nope", "logs nope", "scale nope 2", "delete nope", "monitor nope"):
        message = usage_error(shell, capsys, line)
        assert "no local job named 'nope'" in message, line


def test_name_in_use(shell, capsys, client, worker_script, stop_file):
    stop_file.touch()  # the first job ends at once
    error, job = run(shell, f"--name taken --env STOP_FILE={stop_file} --wait {worker_script}")
    assert error is None and job.phase == "Succeeded"
    message = usage_error(shell, capsys, "--name taken", "print('again')")
    assert "'taken' already exists" in message
    assert client.get("taken").phase == "Succeeded"  # the first job is untouched


@pytest.mark.parametrize(
    "line, expected",
    [
        ("--workers two x.py", "argument --workers/--nodes: invalid int value: 'two'"),
        ("--env NOEQUALS x.py", "'NOEQUALS' is not KEY=VALUE"),
        ("--bogus x.py", "unrecognized arguments: --bogus"),
        ("", "give a Python file to run"),
        ("scale job1", "the following arguments are required: workers"),
        ("logs job1 --replica", "argument --replica: expected one argument"),
        ("--local --cluster x.py", "not both"),
        ("'unclosed", "No closing quotation"),
    ],
)
def test_bad_arguments_give_message_and_usage(shell, capsys, line, expected):
    message = usage_error(shell, capsys, line)
    assert expected in message
    assert "usage:" in message


def test_cell_and_subcommand_do_not_mix(shell, capsys):
    assert "line magic" in usage_error(shell, capsys, "list", "print(1)")


def test_missing_script_file(shell, capsys, tmp_path):
    assert "no script at" in usage_error(shell, capsys, f"{tmp_path / 'nope.py'}")


# -- launching and managing ----------------------------------------------------------------
def test_cell_job_end_to_end(shell, capsys, client, stop_file):
    error, job = run(
        shell,
        f"--name cell1 --workers 2 --env STOP_FILE={stop_file} --wait",
        WORKER.replace("range(600)", "range(3)"),
    )
    assert error is None, error
    assert job.phase == "Succeeded" and job.workers == 2
    out = capsys.readouterr().out
    assert "submitted PyTorchJob cell1 (2 workers, local); waiting" in out

    shell.run_cell("%kftrain logs cell1 --replica worker-0")
    shell.run_cell("%kftrain list")
    shell.run_cell("%kftrain status cell1")
    shell.run_cell("%kftrain metrics cell1")
    shell.run_cell("%kftrain events cell1")
    out = capsys.readouterr().out
    assert "hello from rank 1" in out and "rank 1 done" in out
    assert "cell1  PyTorchJob  Succeeded  2" in out
    assert "PyTorchJob cell1 (local/local): Succeeded" in out
    assert "conditions: Created " in out and "-> Succeeded " in out
    assert "master-0: loss=1.0 step=0" in out
    assert "Started" in out and "master-0" in out

    # A terminal shows the job as its text summary.
    formatted, _ = shell.display_formatter.format(job)
    assert "application/vnd.jupyter.widget-view+json" not in formatted
    assert formatted["text/plain"].startswith("PyTorchJob cell1 (local/local): Succeeded")

    shell.run_cell("%kftrain delete cell1")
    assert "deleted cell1" in capsys.readouterr().out
    assert client.list() == []


def test_file_job_with_args_and_manage(shell, capsys, client, tmp_path, stop_file):
    script = tmp_path / "args.py"
    script.write_text(
        "import sys, os, time\nprint('args', sys.argv[1:], flush=True)\n"
        "while not os.path.exists(os.environ['STOP_FILE']): time.sleep(0.05)\n"
    )
    error, job = run(shell, f"--name file1 --env STOP_FILE={stop_file} {script} --lr 0.1 -x")
    assert error is None, error
    assert job.name == "file1" and job.phase in ("Pending", "Created", "Running")
    shell.run_cell("%kftrain suspend file1")
    assert client.get("file1").phase == "Suspended"
    shell.run_cell("%kftrain resume file1")
    shell.run_cell("%kftrain scale file1 2")
    assert client.get("file1").workers == 2
    stop_file.touch()
    client.wait("file1", timeout=60)
    shell.run_cell("%kftrain logs file1 --tail 1")
    out = capsys.readouterr().out
    assert "file1: Suspended" in out and "file1: 2 workers" in out
    assert "args ['--lr', '0.1', '-x']" in out


def test_made_up_name_and_config_defaults(shell, client, capsys):
    shell.run_cell("%config KFTrainMagics.workers = 2")
    shell.run_cell("%config KFTrainMagics.framework = 'tensorflow'")
    error, job = run(shell, "", "print('tf')")
    assert error is None, error
    assert job.kind == "TFJob" and job.workers == 2
    assert job.name.startswith("tensorflow-")


def test_cluster_without_a_cluster_is_a_clear_message(shell, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    message = usage_error(shell, capsys, "--cluster --name c1", "print(1)")
    assert "kubernetes" in message.lower()


def test_a_cell_goes_to_the_cluster_when_one_is_configured(shell, capsys, client, tmp_path):
    """No --local or --cluster: auto, as the Client decides, so a notebook pod's cell goes to
    its cluster (here a kubeconfig that cannot be loaded: the cluster backend says so)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{}\n")
    shell.run_cell(f"import os; os.environ['KUBECONFIG'] = {str(kubeconfig)!r}")
    message = usage_error(shell, capsys, "--name c2", "print(1)")
    assert "kubernetes backend" in message and "Invalid kube-config" in message
    assert client.list() == []  # nothing ran on this machine
    error, job = run(shell, "--local --name c3", "print(1)")  # --local still runs here
    assert error is None and job.backend == "local"


@pytest.mark.parametrize("where, expected", [("auto", "local"), ("cluster", "kubernetes")])
def test_backend_trait_decides_without_flags(shell, where, expected):
    shell.run_cell(f"%config KFTrainMagics.backend = {where!r}")
    magics = shell.find_magic("kftrain").__self__
    args = magics.kftrain.parser.parse_args(["--name", "x"])
    assert magics.backend_for(args) == expected


def test_follow_prints_the_log_then_the_result(shell, capsys, client):
    error, job = run(
        shell,
        "--name followed --follow",
        "import jupyter_kf\nfor s in range(3):\n    print(f'line {s}')\n"
        "    jupyter_kf.report(step=s, loss=1.0 / (s + 1))\n",
    )
    assert error is None, error
    assert job.phase == "Succeeded"
    out = capsys.readouterr().out
    assert "following its log" in out
    assert out.index("line 0") < out.index("line 2")


def test_failed_job_shows_the_end_of_its_log(shell, capsys, client):
    shell.run_cell("%config KFTrainMagics.wait_timeout = 60.0")
    # TensorFlow's default restart policy is Never: the first exit fails the job.
    error, job = run(
        shell,
        "--name broken --framework tensorflow --wait",
        "print('about to fail')\nraise SystemExit(3)\n",
    )
    assert error is None, error
    assert job.phase == "Failed"
    out = capsys.readouterr().out
    # One line says why, then the end of the failed replica's log.
    assert "broken: Failed: worker-0 exited with code 3: about to fail\n" in out
    assert "the end of worker-0's log:\nabout to fail" in out
