"""A repository that already decided about hadolint's (or BuildKit's) finding is not told again
(issue 30): each twin in dlgen/data/twins.yaml, rule by rule. hadolint itself is the oracle that
its rule fires on the same line as dlgen's twin, so the table cannot claim a twin that is not one."""

import json
import subprocess

import pytest

from dlgen import lint
from tests.conftest import tool

CASES = {   # hadolint id -> a Dockerfile whose line 2 (or 1, 3) both linters flag
    "DL3002": 'FROM python:3.11\nUSER root\nCMD ["python"]\n',
    "DL3006": 'FROM python\nUSER 1000\nCMD ["python"]\n',
    "DL3007": 'FROM python:latest\nUSER 1000\nCMD ["python"]\n',
    "DL3009": 'FROM python:3.11\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n'
              'USER 1000\nCMD ["python"]\n',
    "DL3015": 'FROM python:3.11\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n'
              'USER 1000\nCMD ["python"]\n',
    "DL3025": 'FROM python:3.11\nUSER 1000\nCMD python a.py\n',
    "DL3042": 'FROM python:3.11\nRUN pip install numpy==1.26.4\nUSER 1000\nCMD ["python"]\n',
}


def dlgen_findings(dlgen, path):
    proc = dlgen("lint", "--no-config", "--file-kind", "dockerfile", "--format", "json", "--failure-threshold",
                 "error", path)
    return json.loads(proc.stdout)


def test_every_hadolint_twin_has_a_case():
    assert set(CASES) == set(lint.twins()["hadolint"])


@pytest.mark.parametrize("hid", sorted(CASES))
def test_a_hadolint_ignore_silences_the_dlgen_twin_and_nothing_else(dlgen, tmp_path, hid):
    twin = lint.twins()["hadolint"][hid]
    path = tmp_path / "Dockerfile"
    path.write_text(CASES[hid])
    ours = [f for f in dlgen_findings(dlgen, path) if f["rule"] == twin["rule"]
            and twin.get("message", "") in f["message"]]
    assert len(ours) == 1, ours
    line = ours[0]["line"]
    hadolint = tool("hadolint")
    if hadolint:   # the oracle: hadolint reports its rule on that same line
        out = subprocess.run([hadolint, "--no-fail", "--format", "json", str(path)], capture_output=True, text=True)
        theirs = {(f["code"], f["line"]) for f in json.loads(out.stdout or "[]")}
        assert (hid, line) in theirs, theirs
    lines = CASES[hid].splitlines(keepends=True)
    for comment, silenced in ((f"# hadolint ignore={hid}\n", True), ("# hadolint ignore=DL3059,DL9999\n", False),
                              (f"# some note\n# hadolint ignore=DL3008, {hid}\n", True)):
        path.write_text("".join([*lines[:line - 1], comment, *lines[line - 1:]]))
        after = dlgen_findings(dlgen, path)
        left = [f for f in after if f["rule"] == twin["rule"] and twin.get("message", "") in f["message"]]
        assert (not left) is silenced, (comment, after)
    # hadolint's file-wide ignore too
    path.write_text(f"# hadolint global ignore={hid}\n" + CASES[hid])
    assert not [f for f in dlgen_findings(dlgen, path) if f["rule"] == twin["rule"]
                and twin.get("message", "") in f["message"]]


def test_dlg033_twins_silence_only_their_own_defect(dlgen, tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text('FROM python:3.11\n# hadolint ignore=DL3015\nRUN apt-get update && apt-get install -y curl\n'
                    'USER 1000\nCMD ["python"]\n')
    left = [f["message"] for f in dlgen_findings(dlgen, path) if f["rule"] == "DLG033"]
    assert left == ["the apt package lists stay in this layer"], left


def test_buildkit_check_skip_silences_the_twin_as_a_directive_only(dlgen, tmp_path):
    path = tmp_path / "Dockerfile"
    body = 'FROM python:3.11\nUSER 1000\nCMD python a.py\n'
    path.write_text("# check=skip=JSONArgsRecommended\n" + body)
    assert not [f for f in dlgen_findings(dlgen, path) if f["rule"] == "DLG004"]
    path.write_text("# check=skip=all;error=true\n" + body)
    assert not [f for f in dlgen_findings(dlgen, path) if f["rule"] == "DLG004"]
    path.write_text(body.replace("USER 1000\n", "USER 1000\n# check=skip=JSONArgsRecommended\n"))
    assert [f for f in dlgen_findings(dlgen, path) if f["rule"] == "DLG004"], "not a directive below line 1"
