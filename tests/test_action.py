"""The GitHub Action (action.yml, issue 30): inputs named as hadolint-action's, and its lint step run
the way the runner runs it, with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY as temporary files."""

import json
import os
import subprocess
import sys

from ruamel.yaml import YAML

from tests.conftest import ROOT

ACTION = YAML(typ="safe", pure=True).load((ROOT / "action.yml").read_text())
BAD = 'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nRUN pip install transformers\nCMD python serve.py\n'


def run_step(tmp_path, **inputs):
    """The action's lint step: its script with the INPUT_* variables the runner sets from `with:`."""
    out, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {**os.environ, "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}
    env.update({f"INPUT_{k.upper()}": str(v) for k, v in inputs.items()})
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "action_lint.py")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    outputs, lines = {}, out.read_text().splitlines() if out.exists() else []
    while lines:
        name, mark = lines.pop(0).split("<<")
        end = lines.index(mark)
        outputs[name], lines = "\n".join(lines[:end]), lines[end + 1:]
    return proc, outputs, summary.read_text() if summary.exists() else ""


def test_the_inputs_are_hadolint_actions_names_and_the_step_runs_the_script():
    assert {"dockerfile", "config", "recursive", "format", "failure-threshold", "no-fail", "output-file"} <= \
        set(ACTION["inputs"])
    assert "results" in ACTION["outputs"]
    steps = ACTION["runs"]["steps"]
    assert ACTION["runs"]["using"] == "composite"
    assert any("scripts/action_lint.py" in s.get("run", "") for s in steps)
    assert any("pip install" in s.get("run", "") for s in steps)
    lint = next(s for s in steps if s.get("id") == "lint")
    assert {f"INPUT_{k.upper().replace('-', '_')}" for k in ACTION["inputs"] if k != "version"} <= set(lint["env"])


def test_sarif_for_code_scanning_the_results_output_and_the_summary(tmp_path):
    (tmp_path / "Dockerfile").write_text(BAD)
    proc, outputs, summary = run_step(tmp_path, dockerfile="Dockerfile", format="sarif",
                                      failure_threshold="warning", output_file="dlgen.sarif")
    assert proc.returncode == 1, proc.stderr
    sarif = json.loads((tmp_path / "dlgen.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert json.loads(outputs["results"]) == sarif and outputs["exit-code"] == "1"
    assert "exit code 1" in summary
    proc, outputs, _ = run_step(tmp_path, dockerfile="Dockerfile", no_fail="true")
    assert proc.returncode == 0 and "::warning file=" in outputs["results"] + proc.stdout


def test_recursive_and_bad_input(tmp_path):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text(BAD)
    proc, outputs, _ = run_step(tmp_path, recursive="true", format="json", no_fail="true")
    assert proc.returncode == 0 and any("svc/Dockerfile" in f["file"] for f in json.loads(outputs["results"]))
    proc, outputs, summary = run_step(tmp_path, dockerfile="missing/Dockerfile", no_fail="true")
    assert proc.returncode == 2 and outputs["exit-code"] == "2" and "bad input" in summary
