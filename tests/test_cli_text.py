"""What the CLI says: help without markup escapes, one meaning of --kind per command, summary
lines and comments that are true for the bundle they describe."""

import pytest

from dlgen import verify

COMMANDS = ["new", "models", "lint", "explain", "verify", "doctor"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_markup_escapes(dlgen, command):
    proc = dlgen(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "\\[" not in proc.stdout and "[/" not in proc.stdout, proc.stdout
    if command == "lint":
        assert "[required]" in proc.stdout and "--file-kind" in proc.stdout


def test_top_level_help_names_every_command(dlgen):
    proc = dlgen("--help")
    for command in COMMANDS:
        assert f"  {command} " in proc.stdout, (command, proc.stdout)


@pytest.mark.parametrize("flag", ["--file-kind", "--kind"])
def test_lint_file_kind_and_its_old_spelling(dlgen, tmp_path, flag):
    f = tmp_path / "launch.txt"
    f.write_text("docker run -d --gpus all vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-8B-Instruct\n")
    proc = dlgen("lint", str(f), flag, "run", "--format", "json")
    assert "DLG112" in proc.stdout, (proc.stdout, proc.stderr)


def test_new_says_the_start_period_only_where_there_is_one(dlgen, tmp_path):
    dev = dlgen("new", str(tmp_path / "dev"), "--kind", "dev")
    assert dev.returncode == 0 and "start period" not in dev.stdout, dev.stdout
    nb = dlgen("new", str(tmp_path / "nb"), "--kind", "notebook")
    assert "start period 20s" in nb.stdout and "HEALTHCHECK" in (tmp_path / "nb" / "Dockerfile").read_text()


def test_a_given_start_period_is_not_called_an_estimate(dlgen, tmp_path):
    proc = dlgen("new", str(tmp_path / "b"), "--model", "llama-8b", "--start-period", "300")
    assert "start period 300s (--start-period)" in proc.stdout, proc.stdout
    text = (tmp_path / "b" / "Dockerfile").read_text()
    assert "300 s, set by --start-period" in text and "x margin" not in text
    plain = dlgen("new", str(tmp_path / "c"), "--model", "llama-8b")
    assert "estimated load x margin" in (tmp_path / "c" / "Dockerfile").read_text(), plain.stdout


def test_verify_report_names_the_bundle_once():
    r = {"bundle": "bundle", "cpu": True, "build_s": 1.0, "healthy": True, "ready_s": 1, "healthy_s": 2,
         "health_lag_s": 1, "stop_exit_code": 0, "stop_s": 0.5, "failure": None}
    first = verify.text_report(r).splitlines()[0]
    assert first.startswith("dlgen verify bundle (CPU") and "bundle bundle" not in first, first
