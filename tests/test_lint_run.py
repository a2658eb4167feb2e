"""`dlgen lint` as a function (lint.run): config, severity overrides, thresholds, --fix and the exit
policy, in-process. The CLI only formats a LintRun; tests/test_lint_cli.py covers what the
terminal sees (formats, messages, pre-commit)."""

import pytest

from dlgen import lint
from dlgen.errors import DlgenError

BAD = 'FROM python:3.11-slim\nRUN pip install numpy==1.26.4\nCMD python serve.py --port 8000\n'


@pytest.fixture
def repo(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ids(run):
    return {f.rule for f in run.findings}


def test_exit_policy_follows_the_threshold(repo):
    run = lint.run(lint.LintOptions(paths=["Dockerfile"]))
    assert {"DLG004", "DLG030"} <= ids(run) and run.exit_code == 1
    assert lint.run(lint.LintOptions(paths=["Dockerfile"], threshold="error")).exit_code == 0
    with pytest.raises(DlgenError, match="failure threshold"):
        lint.run(lint.LintOptions(paths=["Dockerfile"], threshold="fatal"))


def test_config_disables_and_overrides_severity(repo):
    (repo / ".dlgen.yaml").write_text("disable: [DLG004]\nseverity: {DLG030: info}\nfailure-threshold: warning\n")
    run = lint.run(lint.LintOptions(paths=["Dockerfile"]))
    assert "DLG004" not in ids(run)
    assert {f.rule: f.severity for f in run.findings}["DLG030"] == "info"
    assert "DLG004" in ids(lint.run(lint.LintOptions(paths=["Dockerfile"], no_config=True)))
    with pytest.raises(DlgenError, match="unknown rule"):
        lint.run(lint.LintOptions(paths=["Dockerfile"], disable=["DLG999"]))


def test_fix_then_lint_and_diff_only(repo):
    diff = lint.run(lint.LintOptions(paths=["Dockerfile"], diff=True, unsafe_fixes=True))
    assert not diff.linted and diff.fixes and (repo / "Dockerfile").read_text() == BAD
    fixed = lint.run(lint.LintOptions(paths=["Dockerfile"], fix=True, unsafe_fixes=True))
    assert fixed.fixes[0].written and "DLG030" not in ids(fixed) and "DLG004" not in ids(fixed)
    assert lint.run(lint.LintOptions(paths=["Dockerfile"], fix=True, unsafe_fixes=True)).fixes == [], "a second run changes nothing"


def test_bad_input_is_exit_2_and_the_rest_is_linted(repo):
    run = lint.run(lint.LintOptions(paths=["Dockerfile", "missing.yaml"]))
    assert run.exit_code == 2 and any("missing.yaml" in e for e in run.errors) and "DLG030" in ids(run)
