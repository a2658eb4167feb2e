"""The `dlgen new` and `dlgen models` command line, run as a user runs it."""

import json

import pytest

from tests.conftest import assert_one_line_error


def test_version_and_help(dlgen):
    v = dlgen("--version")
    assert v.returncode == 0 and v.stdout.startswith("dlgen ")
    for cmd in ([], ["new"], ["models"]):
        h = dlgen(*cmd, "--help")
        assert h.returncode == 0 and "Usage" in h.stdout


def test_new_writes_bundle(tmp_path, dlgen):
    proc = dlgen("new", tmp_path / "b", "--model", "llama-8b")
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in (tmp_path / "b").iterdir()}
    assert {"Dockerfile", ".dockerignore", "run.sh", "compose.yaml", "k8s.yaml", "README.md", "app"} <= names
    assert {p.name for p in (tmp_path / "b" / "app").iterdir()} == {"server.py", "model.py", "probe.py"}


def test_params_and_hf_id(tmp_path, dlgen):
    a = dlgen("new", tmp_path / "a", "--params", "8B", "--dtype", "bf16")
    b = dlgen("new", tmp_path / "b", "--model", "meta-llama/Llama-3.1-8B-Instruct")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert 'MODEL_ID="meta-llama/Llama-3.1-8B-Instruct"' in (tmp_path / "b" / "Dockerfile").read_text()


def test_stdout_prints_dockerfile(dlgen):
    proc = dlgen("new", "--model", "resnet50", "--stdout")
    assert proc.returncode == 0 and proc.stdout.startswith("# syntax=docker/dockerfile:1")


def test_no_overwrite_without_force(tmp_path, dlgen):
    d = tmp_path / "b"
    assert dlgen("new", d, "--model", "resnet50").returncode == 0
    (d / "Dockerfile").write_text("# mine\n")
    proc = dlgen("new", d, "--model", "resnet50")
    assert_one_line_error(proc, "already exists", "--force")
    assert (d / "Dockerfile").read_text() == "# mine\n"
    assert dlgen("new", d, "--model", "resnet50", "--force").returncode == 0
    assert (d / "Dockerfile").read_text() != "# mine\n"


@pytest.mark.parametrize("args,needles", [
    (["--model", "lama-8b"], ["unknown model", "did you mean", "llama-8b"]),
    (["--model", "llama-8b", "--torch", "2.9.1", "--cuda", "11.8"], ["no CUDA 11.8"]),
    (["--model", "llama-8b", "--torch", "9.9"], ["unknown torch"]),
    (["--model", "llama-8b", "--port", "0"], ["invalid port"]),
    (["--model", "llama-8b", "--port", "70000"], ["invalid port"]),
    (["--model", "llama-8b", "--port", "abc"], ["port"]),
    (["--model", "llama-8b", "--name", "bad\nname"], ["invalid --name", "U+000A"]),
    (["--model", "llama-8b", "--name", 'bad"name'], ["invalid --name", "not allowed"]),
    (["--model", "llama-8b", "--name", "Bad_Name"], ["invalid name"]),
    (["--model", 'llama"8b'], ["invalid --model", "not allowed"]),
    (["--model", "x\ny"], ["invalid --model", "U+000A"]),
    # characters YAML or a shell reads as a line end (issue 10, class 4): never rendered
    (["--model", "meta-llama/x-8b\u2028name: pwned"], ["invalid --model", "U+2028"]),
    (["--model", "meta-llama/x-8b\u0085name: pwned"], ["invalid --model", "U+0085"]),
    (["--model", "meta-llama/x-8b\u2029x"], ["invalid --model", "U+2029"]),
    (["--model", "llama-8b", "--name", "ok\n"], ["invalid --name", "U+000A"]),
    (["--model", "llama-8b", "--shm-size", "8g\n"], ["invalid --shm-size", "U+000A"]),
    (["--model", "llama-8b", "--restart", "always\n"], ["invalid --restart", "U+000A"]),
    (["--model", "llama-8b", "--gpus", "\u00b2"], ["invalid --gpus", "U+00B2"]),
    (["--model", "llama-8b", "--image", "repo/x:1\u2028a: b"], ["invalid --image", "U+2028"]),
    (["--model", "llama-8b", "--image", "repo/x:1;rm"], ["invalid --image"]),
    (["--model", "llama-8b", "--torch", "2.6\u0085"], ["invalid --torch", "U+0085"]),
    # found by the long fuzz run: options whose bundle its own linter would reject
    (["--model", "llama-8b", "--start-period", "1"], ["--start-period 1", "below the estimated load"]),
    (["--kind", "tensorboard", "--gpus", "all"], ["runs without a GPU"]),
    (["--model", "llama-8b", "--kind", "batch"], ["unknown kind"]),
    (["--model", "llama-8b", "--server", "vllm", "--kind", "train"], ["does not run kind"]),
    (["--model", "llama-8b", "--restart", "sometimes"], ["restart policy"]),
    (["--kind", "dev", "--restart", "always"], ["--rm"]),
    (["--model", "llama-8b", "--gpus", "many"], ["--gpus"]),
    (["--model", "llama-8b", "--dtype", "fp12"], ["dtype"]),
    (["--model", "llama-8b", "--docker-version", "new"], ["docker-version"]),
    (["--model", "llama-8b", "--nope"], ["no such option"]),
    ([], ["no model"]),
])
def test_bad_input_one_line_exit_2(tmp_path, dlgen, args, needles):
    proc = dlgen("new", tmp_path / "out", *args)
    assert_one_line_error(proc, *needles)
    assert not (tmp_path / "out").exists()


def test_models_lists_catalog_with_timings(dlgen):
    proc = dlgen("models", "--format", "json")
    assert proc.returncode == 0
    rows = json.loads(proc.stdout)
    assert len(rows) >= 30
    by = {r["model"]: r for r in rows}
    assert by["resnet50"]["start_period_s"] < by["llama-8b"]["start_period_s"] < by["llama-70b"]["start_period_s"]
    text = dlgen("models")
    assert text.returncode == 0 and "llama-8b" in text.stdout and "start period" in text.stdout


def test_models_bad_server(dlgen):
    assert_one_line_error(dlgen("models", "--server", "nginx"), "unknown server")
