"""``%kftrain`` reads its line as a shell would, and refuses what it would otherwise guess."""

from __future__ import annotations

from jupyter_kf import Client

from .test_magics import run, usage_error

CELL = "print('ok')\n"


def test_quoted_values_keep_their_spaces_and_lose_their_quotes(shell, client: Client):
    error, job = run(shell, '--name "quoted-name" --env "GREETING=hello world"', CELL)
    assert error is None, error
    assert job.name == "quoted-name"
    assert client.get("quoted-name").spec.env == {"GREETING": "hello world"}


def test_a_value_with_an_unquoted_space_is_refused_not_split(shell, client: Client, capsys):
    message = usage_error(shell, capsys, "--name has space", CELL)
    assert "unexpected 'space'" in message and "quote" in message
    assert client.list() == []  # nothing was launched under the name "has"


def test_a_trailing_comment_is_ignored(shell, client: Client):
    error, job = run(shell, "--name commented --workers 1  # one worker is enough", CELL)
    assert error is None, error
    assert job.name == "commented" and job.workers == 1


def test_an_abbreviated_option_is_refused(shell, client: Client, capsys):
    message = usage_error(shell, capsys, "--name abbrev --worker 2", CELL)
    assert "--worker" in message
    assert client.list() == []


def test_script_arguments_after_double_dash_still_reach_the_script(shell, client: Client):
    error, job = run(shell, "--name with-args -- --epochs 3", CELL)
    assert error is None, error
    assert list(client.get("with-args").spec.code.args) == ["--epochs", "3"]


def test_one_worker_is_singular(shell, capsys):
    error, _ = run(shell, "--name single --workers 1 --wait", CELL)
    assert error is None, error
    assert "(1 worker, local)" in capsys.readouterr().out
