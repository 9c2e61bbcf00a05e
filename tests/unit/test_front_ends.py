"""Every front end has the same default backend, decided in jupyter_kf.client, and the
CLI's help names every option its parsers accept."""

from __future__ import annotations

import inspect

import pytest

from jupyter_kf import cli, client
from jupyter_kf.magics import KFTrainMagics
from jupyter_kf.server.app import JupyterKF


def test_one_default_backend_everywhere():
    assert client.DEFAULT_BACKEND == "auto"
    assert inspect.signature(client.Client).parameters["backend"].default == "auto"
    assert inspect.signature(client.make_backend).parameters["name"].default == "auto"
    assert KFTrainMagics.backend.default_value == "auto"  # was "local"
    assert JupyterKF.backend.default_value == "auto"
    assert cli.build_parser().parse_args(["list"]).backend == "auto"


@pytest.mark.parametrize("configured, expected", [(True, "kubernetes"), (False, "local")])
def test_auto_resolves_by_the_configuration(tmp_path, monkeypatch, configured, expected):
    kubeconfig = tmp_path / "kubeconfig"
    if configured:
        kubeconfig.write_text("{}\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert client.resolve_backend() == expected
    assert client.resolve_backend("local") == "local"


def _subparsers(parser):
    for action in parser._actions:
        if action.choices and isinstance(action.choices, dict):
            return action.choices
    return {}


def test_cli_help_names_every_option_and_command(capsys):
    parser = cli.build_parser()
    top = parser.format_help()
    for action in parser._actions:
        for option in action.option_strings:
            assert option in top, option
    commands = _subparsers(parser)
    assert set(commands) == {
        "submit", "list", "status", "logs", "events", "metrics",
        "scale", "suspend", "resume", "delete", "runtimes", "profiles",
    }  # fmt: skip
    for verb, sub in commands.items():
        assert verb in top, verb
        text = sub.format_help()
        for action in sub._actions:
            for option in action.option_strings:
                assert option in text, (verb, option)
            assert action.help != "", (verb, action.dest)
    backend_help = next(a.help for a in parser._actions if "--backend" in a.option_strings)
    for name in ("auto", *client.BACKENDS):
        assert name in backend_help, name  # was "auto (default) or local"
    assert "kubernetes" in top


def test_every_front_end_says_the_same_about_scaling_a_trainjob():
    """The magic, the CLI and the widget use display.SCALE_REPLACES; the panel its copy."""
    from pathlib import Path

    from jupyter_kf.display import SCALE_REPLACES

    jobs_ts = (Path(__file__).parents[2] / "labextension" / "src" / "jobs.ts").read_text()
    assert f"'{SCALE_REPLACES}'" in jobs_ts
