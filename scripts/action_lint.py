"""The lint step of action.yml: dlgen lint with the action's inputs (INPUT_* variables), the report
to the log or `output-file`, the `results` and `exit-code` outputs into $GITHUB_OUTPUT, and a short
summary into $GITHUB_STEP_SUMMARY. Exits with dlgen's code, or 0 with `no-fail` when dlgen ran."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path


def lint_argv(env: dict[str, str]) -> list[str]:
    """`dlgen lint` with the inputs as its options."""
    argv = [sys.executable, "-m", "dlgen", "lint", "--format", env.get("INPUT_FORMAT") or "github",
            "--failure-threshold", env.get("INPUT_FAILURE_THRESHOLD") or "warning"]
    if env.get("INPUT_CONFIG"):
        argv += ["--config", env["INPUT_CONFIG"]]
    if (env.get("INPUT_RECURSIVE") or "").lower() == "true":
        return [*argv, "."]
    paths = shlex.split(env.get("INPUT_DOCKERFILE") or "Dockerfile")
    return [*argv, *paths]


def write_output(path: str, name: str, value: str) -> None:
    """One output in GitHub's file format; a value of several lines between a random delimiter."""
    mark = f"dlgen_{uuid.uuid4().hex}"
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{name}<<{mark}\n{value}\n{mark}\n")


def main(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    proc = subprocess.run(lint_argv(env), capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    report = proc.stdout
    if env.get("INPUT_OUTPUT_FILE"):
        Path(env["INPUT_OUTPUT_FILE"]).write_text(report, encoding="utf-8")
    else:
        sys.stdout.write(report)
    if env.get("GITHUB_OUTPUT"):
        write_output(env["GITHUB_OUTPUT"], "results", report.rstrip("\n"))
        write_output(env["GITHUB_OUTPUT"], "exit-code", str(proc.returncode))
    if env.get("GITHUB_STEP_SUMMARY"):
        said = {0: "no findings at the threshold", 1: "findings at or above the threshold",
                2: "bad input: " + (proc.stderr.strip().splitlines() or [""])[-1]}.get(proc.returncode, "failed")
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as out:
            out.write(f"### dlgen lint\n\nexit code {proc.returncode}: {said}\n")
    if proc.returncode == 1 and (env.get("INPUT_NO_FAIL") or "").lower() == "true":
        return 0
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
