"""ParsedFiles: the local backend's memory of parsed job files, with real files."""

from __future__ import annotations

from jupyter_kf.backends.local.layout import ParsedFiles, write_json


def test_parsed_once_while_unchanged_and_again_after_a_write(tmp_path):
    path, calls = tmp_path / "status.json", []
    write_json(path, {"phase": "Running"})
    memo = ParsedFiles()

    def parse(data):
        calls.append(data)
        return data["phase"]

    assert memo.get(path, parse) == "Running"
    assert memo.get(path, parse) == "Running"
    assert len(calls) == 1
    write_json(path, {"phase": "Running"})  # same content, same size: still a new file
    assert memo.get(path, parse) == "Running" and len(calls) == 2
    write_json(path, {"phase": "Succeeded"})
    assert memo.get(path, parse) == "Succeeded" and len(calls) == 3


def test_missing_unreadable_and_not_a_folder(tmp_path):
    memo = ParsedFiles()
    assert memo.get(tmp_path / "absent.json", default={}) == {}
    (tmp_path / "torn.json").write_text('{"half": ')
    assert memo.get(tmp_path / "torn.json", default="dflt") == "dflt"
    (tmp_path / "plain-file").write_text("x")
    assert memo.get(tmp_path / "plain-file" / "spec.json") is None


def test_bounded(tmp_path):
    memo = ParsedFiles(limit=3)
    for i in range(10):
        write_json(tmp_path / f"{i}.json", i)
        assert memo.get(tmp_path / f"{i}.json") == i
    assert len(memo._memo) <= 3


def test_listing_skips_what_is_not_a_job_folder(tmp_path):
    from jupyter_kf.backends.local import LocalBackend

    (tmp_path / "notes.txt").write_text("not a job")
    (tmp_path / "empty-folder").mkdir()
    assert LocalBackend(root=tmp_path).list() == []
