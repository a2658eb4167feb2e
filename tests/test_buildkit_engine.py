"""Every bundle whose base image the test engine has builds with `docker buildx build` (BuildKit)
on an engine that cannot reach a container registry (issue 15: no `# syntax=` frontend to pull);
and verify's progress lines and its no-GPU message, as a user sees them on stderr."""

import json
import subprocess
import uuid

import pytest

from tests.conftest import run_dlgen

# The stand-in bases scripts/test-engine.sh builds: pytorch/pytorch runtime and devel, python slim.
CASES = {
    "serve-python": ["--model", "llama-3.2-1b"],
    "serve-fastapi": ["--model", "llama-3.2-1b", "--server", "fastapi"],
    "train": ["--model", "llama-3.2-1b", "--kind", "train"],
    "notebook": ["--kind", "notebook"],
    "tensorboard": ["--kind", "tensorboard"],
    "dev": ["--kind", "dev"],
    "llamacpp-fetch": ["--model", "llama-3.2-1b", "--server", "llamacpp"],   # only its Dockerfile.fetch
}


def buildx(engine, context, dockerfile, tag):
    import shutil

    docker = shutil.which("docker")
    return subprocess.run([docker, "buildx", "build", "--load", "--progress=plain", "-t", tag,
                           "--label", f"ai.dlgen.test={tag}", "-f", str(context / dockerfile), str(context)],
                          capture_output=True, text=True, timeout=1500)


def run_in(engine, image, code):
    """What ``python -c code`` prints in ``image`` (as root, so every path can be read)."""
    out = engine.containers.run(image, ["-c", code], entrypoint="python", user="0", remove=True,
                                labels={"ai.dlgen.test": "1"}, stderr=False)
    return out.decode().strip().splitlines()[-1]


@pytest.mark.parametrize("name", list(CASES))
def test_every_bundle_builds_with_buildkit_and_no_registry(engine, tmp_path, name):
    path = tmp_path / name
    assert run_dlgen("new", path, *CASES[name]).returncode == 0
    dockerfile = "Dockerfile.fetch" if name == "llamacpp-fetch" else "Dockerfile"
    assert not (path / dockerfile).read_text().lstrip().startswith("# syntax"), "a frontend pulled from a registry"
    tag = f"dlgen-buildx-test/{name}:{uuid.uuid4().hex[:8]}"
    try:
        proc = buildx(engine, path, dockerfile, tag)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "docker/dockerfile" not in proc.stderr, "BuildKit resolved a frontend image"
        assert engine.images.get(tag).labels.get("ai.dlgen.test") == tag
        # uv's cache stayed in its cache mount, not in a layer; the base's torch is the one left
        check = "import os; print(os.path.exists('/root/.cache/uv'))"
        assert run_in(engine, tag, check) == "False"
        base = next(line.split()[1] for line in (path / dockerfile).read_text().splitlines() if line.startswith("FROM"))
        if base.startswith("pytorch/pytorch"):
            torch = "import torch; print(torch.__version__, torch.__file__)"
            assert run_in(engine, tag, torch) == run_in(engine, base, torch), "uv replaced the base image's torch"
    finally:
        for image in engine.images.list(filters={"label": f"ai.dlgen.test={tag}"}):
            engine.images.remove(image.id, force=True)


def test_the_users_app_project_builds_with_buildkit(engine, tmp_path):
    from tests.test_user_app import make_project

    project = tmp_path / "svc"
    make_project(project, "fastapi")
    assert run_dlgen("new", project, "--app", "main:app").returncode == 0
    tag = f"dlgen-buildx-test/app:{uuid.uuid4().hex[:8]}"
    try:
        proc = buildx(engine, project, "Dockerfile", tag)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        for image in engine.images.list(filters={"label": f"ai.dlgen.test={tag}"}):
            engine.images.remove(image.id, force=True)


def test_verify_says_where_it_stands_at_least_every_10_s(engine, tmp_path):
    path = tmp_path / "slow"
    assert run_dlgen("new", path, "--params", "0.05B").returncode == 0
    proc = run_dlgen("verify", path, "--cpu", "--format", "json", "-e", "MODEL_SOURCE=synthetic",
                     "-e", "DLGEN_SYNTHETIC_DELAY_S=25", timeout=900)
    r = json.loads(proc.stdout)
    assert proc.returncode == 0 and r["healthy"] and r["ready_s"] >= 25, r
    waits = [line for line in proc.stderr.splitlines() if line.startswith("waiting ")]
    # one line per 10 s while it loads, each with the elapsed time, the budget and the last probe
    assert len(waits) >= int(r["ready_s"] // 10), proc.stderr[-2000:]
    assert all(" s of " in w and ("probe" in w) for w in waits), waits
    assert any("/ready" in w for w in waits), waits


def test_no_gpu_runtime_names_cpu_and_leaves_nothing(engine, tmp_path):
    from tests.test_engine import assert_nothing_left

    path = tmp_path / "gpu"
    assert run_dlgen("new", path, "--params", "0.05B").returncode == 0
    proc = run_dlgen("verify", path, "--format", "json", "-e", "MODEL_SOURCE=synthetic", timeout=600)
    r = json.loads(proc.stdout)
    assert proc.returncode == 1 and r["failure"]["stage"] == "run", r
    assert r["failure"]["error"].startswith("no GPU runtime on this host: use --cpu to test without GPUs"), r
    assert "Traceback" not in proc.stderr
    assert_nothing_left(engine, path, r)
    text = run_dlgen("verify", path, "-e", "MODEL_SOURCE=synthetic", timeout=600)   # what a person reads
    assert text.returncode == 1 and "no GPU runtime on this host: use --cpu" in text.stdout + text.stderr
    assert_nothing_left(engine, path)


def test_uv_installs_through_the_engines_proxy_ca(engine, tmp_path):
    """The test engine reaches the package index only through a proxy that signs with this
    machine's own CA (the stand-in base sets PIP_CERT to it, as a company image would): uv must
    trust it, with the layer rebuilt from nothing, and its cache must stay out of the image."""
    import shutil

    path = tmp_path / "proxied"
    assert run_dlgen("new", path, *CASES["serve-fastapi"]).returncode == 0
    tag = f"dlgen-buildx-test/proxied:{uuid.uuid4().hex[:8]}"
    docker = shutil.which("docker")
    try:
        proc = subprocess.run([docker, "buildx", "build", "--load", "--no-cache", "--progress=plain", "-t", tag,
                               "--label", f"ai.dlgen.test={tag}", str(path)], capture_output=True, text=True,
                              timeout=1500)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "uv pip install --system" in proc.stderr and "Installed" in proc.stderr, proc.stderr[-3000:]
        assert "certificate" not in proc.stderr.lower(), proc.stderr[-3000:]
        assert run_in(engine, tag, "import fastapi, uvicorn; print('ok')") == "ok"
    finally:
        for image in engine.images.list(filters={"label": f"ai.dlgen.test={tag}"}):
            engine.images.remove(image.id, force=True)


# DLG040's scope model, against what BuildKit expands: a global ARG not declared again and an ARG of an
# unrelated stage are empty; an ARG of the stage built FROM is passed on.
SCOPES = {
    "global-arg": ("ARG G=7\nFROM python:3.11-slim-bookworm\nENV Y=v${G}v\n", True),
    "other-stage-arg": ("FROM python:3.11-slim-bookworm AS a\nARG X=12\nFROM python:3.11-slim-bookworm\n"
                        "ENV Y=v${X}v\n", True),
    "parent-stage-arg": ("FROM python:3.11-slim-bookworm AS a\nARG X=12\nFROM a\nENV Y=v${X}v\n", False),
    "declared-again": ("ARG G=7\nFROM python:3.11-slim-bookworm\nARG G\nENV Y=v${G}v\n", False),
}


@pytest.mark.parametrize("name", list(SCOPES))
def test_dlg040_reports_exactly_what_buildkit_expands_to_nothing(engine, tmp_path, name):
    from dlgen import lint

    text, empty = SCOPES[name]
    (tmp_path / "Dockerfile").write_text(text)
    tag = f"dlgen-buildx-test/argscope:{uuid.uuid4().hex[:8]}"
    try:
        proc = buildx(engine, tmp_path, "Dockerfile", tag)
        assert proc.returncode == 0, proc.stderr[-3000:]
        built = run_in(engine, tag, "import os; print(os.environ['Y'])")
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    rules = [r for r in lint.load_rules() if r.id == "DLG040"]
    found = lint.lint_paths([str(tmp_path / "Dockerfile")], rules, lint.Context()).findings
    assert (built == "vv") is empty, built
    assert bool(found) is empty, [f.message for f in found]
