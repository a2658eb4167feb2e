"""Generated bundles on a real Docker engine (scripts/test-engine.sh up): build, boot, health,
stop, compose --wait, restart policies, and a probe that can never pass. No mocks.

Without an engine these tests skip with the reason; with DLGEN_REQUIRE_ENGINE=1 (set by .ci/run
after it brought the engine up) a missing engine fails instead."""

import json
import os
import subprocess
import time
import uuid

import pytest

from dlgen import bundle
from dlgen import spec as spec_mod
from tests.conftest import assert_one_line_error, run_dlgen

SYNTHETIC = ["-e", "MODEL_SOURCE=synthetic", "-e", "DLGEN_SYNTHETIC_DELAY_S=5"]
TRAIN_LOAD_S = 15


def make_bundle(path, **opts):
    spec = spec_mod.build(**opts)
    files = bundle.render(spec, "dlgen new (test)")
    bundle.write(files, path)
    return path


def verify(path, *extra, timeout=600):
    proc = run_dlgen("verify", path, "--cpu", "--format", "json", *extra, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def verified(engine, tmp_path_factory):
    """Each kind built and booted once: {name: (bundle, result)}."""
    out = {}
    root = tmp_path_factory.mktemp("bundles")
    cases = {
        "serve-python": dict(model="llama-8b", kind="serve", server="python"),
        "serve-fastapi": dict(model="llama-8b", kind="serve", server="fastapi"),
        "train": dict(model="llama-8b", kind="train"),
        "notebook": dict(kind="notebook"),
    }
    for name, opts in cases.items():
        path = make_bundle(root / name, **opts)
        # training loads for 15 s: its heartbeat, and so healthy, must come after that, never before
        extra = SYNTHETIC + (["-e", "DLGEN_STEP_SLEEP_S=0.05", "-e", "TRAIN_STEPS=100000",
                              "-e", f"DLGEN_SYNTHETIC_DELAY_S={TRAIN_LOAD_S}"] if name == "train" else [])
        proc, result = verify(path, *extra)
        out[name] = (path, proc, result)
    return out


@pytest.mark.parametrize("name", ["serve-python", "serve-fastapi", "train", "notebook"])
def test_bundle_builds_turns_healthy_and_stops_cleanly(verified, name):
    path, proc, r = verified[name]
    assert proc.returncode == 0 and r["healthy"], json.dumps(r, indent=2)[-3000:]
    assert r["healthy_s"] is not None and r["failure"] is None
    if name != "train":  # HTTP readiness; the training job's probe is its heartbeat
        assert r["ready_s"] is not None
        # --start-interval=0.5s and a socket probe: Docker reports healthy within 1 s of the first 200
        assert r["healthy_s"] - r["ready_s"] <= 1.0, r
    else:   # the heartbeat begins with the first step, after the 15 s load
        assert r["healthy_s"] >= TRAIN_LOAD_S, r
    assert r["stop_exit_code"] in (0, 143), r
    assert r["stop_s"] < 2.0, r


def left_by(engine, bundle_dir):
    """What carries the verify label of this bundle (only what this test's run created)."""
    label = f"ai.dlgen.verify.bundle={os.path.realpath(bundle_dir)}"
    return {"containers": [c.name for c in engine.containers.list(all=True, filters={"label": label})],
            "volumes": [v.name for v in engine.volumes.list(filters={"label": label})],
            "images": [i.id for i in engine.images.list(all=True, filters={"label": label})]}


def assert_nothing_left(engine, bundle_dir, result=None):
    import docker

    assert left_by(engine, bundle_dir) == {"containers": [], "volumes": [], "images": []}
    if result and result.get("image"):
        with pytest.raises(docker.errors.ImageNotFound):
            engine.images.get(result["image"])


def test_verify_cleans_up(engine, verified):
    for path, _proc, result in verified.values():
        assert_nothing_left(engine, path, result)


def test_verify_removes_everything_when_the_build_fails(engine, tmp_path):
    path = make_bundle(tmp_path / "b", model="llama-8b")
    df = path / "Dockerfile"
    df.write_text(df.read_text().replace("\nCMD ", "\nRUN echo a-layer-of-its-own > /tmp/x\nRUN false\nCMD ", 1))
    proc, r = verify(path)
    assert proc.returncode == 1 and r["failure"]["stage"] == "build", r
    assert "false" in r["failure"]["error"] and "exit code: 1" in r["failure"]["error"], r["failure"]
    # BuildKit, as run.sh builds: its step lines, and no intermediate image left behind
    assert "#1 [internal] load build definition from Dockerfile" in proc.stderr, proc.stderr[-2000:]
    assert_nothing_left(engine, path, r)


def test_verify_removes_everything_when_the_run_is_refused(engine, tmp_path):
    """Without --cpu the GPU request fails on this engine: the container was created, not started."""
    path = make_bundle(tmp_path / "b", model="llama-8b")
    proc = run_dlgen("verify", path, "--format", "json", "-e", "MODEL_SOURCE=synthetic", timeout=600)
    r = json.loads(proc.stdout)
    assert proc.returncode == 1 and r["failure"]["stage"] == "run", r
    assert r["fetch_exit_code"] == 0, "the fetch phase ran first (nothing to fetch for a synthetic model)"
    assert "--cpu" in r["failure"]["hint"]
    assert_nothing_left(engine, path, r)


def test_verify_removes_everything_when_never_ready(engine, tmp_path):
    path = make_bundle(tmp_path / "b", model="llama-8b")
    proc, r = verify(path, "-e", "MODEL_SOURCE=synthetic", "-e", "DLGEN_SYNTHETIC_DELAY_S=1000", "--timeout", "8")
    assert proc.returncode == 1 and r["failure"]["stage"] == "timeout", r
    assert_nothing_left(engine, path, r)


def test_verify_removes_everything_when_the_server_crashes_at_start(engine, tmp_path):
    path = make_bundle(tmp_path / "b", model="llama-8b")
    proc, r = verify(path, "-e", "MODEL_SOURCE=no_such_module:load")
    assert proc.returncode == 1 and r["failure"]["stage"] in ("start", "health"), r
    assert_nothing_left(engine, path, r)


@pytest.mark.parametrize("interrupts", [1, 2])
def test_verify_removes_everything_on_ctrl_c(engine, tmp_path, interrupts):
    import signal
    import sys

    path = make_bundle(tmp_path / "b", model="llama-8b")
    # one Ctrl-C to a verify started with SIGINT ignored (as `cmd &` in a script without job control
    # starts it): verify still stops and cleans up; two Ctrl-C to one started normally
    ignored = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if interrupts == 1 else None
    p = subprocess.Popen([sys.executable, "-m", "dlgen", "verify", str(path), "--cpu", "-e", "MODEL_SOURCE=synthetic",
                          "-e", "DLGEN_SYNTHETIC_DELAY_S=1000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=ignored)
    label = f"ai.dlgen.verify.bundle={os.path.realpath(path)}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and p.poll() is None:
        if [c for c in engine.containers.list(filters={"label": label, "status": "running"})
                if not c.name.endswith("-fetch")]:   # the server is loading (the fetch phase is done)
            break
        time.sleep(0.5)
    assert p.poll() is None, p.communicate()
    p.send_signal(signal.SIGINT)
    for _ in range(interrupts - 1):
        time.sleep(0.3)   # the second Ctrl-C lands while verify removes what it made
        p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, (p.returncode, err[-2000:])
    assert "interrupted" in err and "Traceback" not in err, err[-2000:]
    assert_nothing_left(engine, path)


def test_compose_up_wait_reaches_healthy(engine, tmp_path):
    name = f"dlgen-compose-test-{uuid.uuid4().hex[:8]}"   # its own names: others may share the engine
    path = make_bundle(tmp_path / "b", model="llama-8b", kind="serve", name=name)
    # The CPU host's override: reset the GPU reservation, start a synthetic model, free host port.
    (path / "compose.cpu.yaml").write_text(
        f"services:\n  {name}:\n    deploy:\n      resources: !reset {{}}\n"
        "    environment: [MODEL_SOURCE=synthetic, DLGEN_SYNTHETIC_DELAY_S=3]\n"
        "    ports: !override ['127.0.0.1::8000']\n"
        f"  {name}-fetch:\n    environment: [MODEL_SOURCE=synthetic]\n")
    cmd = ["docker", "compose", "-p", name, "-f", "compose.yaml", "-f", "compose.cpu.yaml"]
    # BuildKit, as compose uses by default: the Dockerfile has no `# syntax=` directive, so nothing is
    # pulled from a registry (this host reaches none)
    env = dict(os.environ)
    try:
        up = subprocess.run(cmd + ["up", "-d", "--build", "--wait", "--wait-timeout", "300"], cwd=path, env=env,
                            capture_output=True, text=True, timeout=900)
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        state = engine.containers.get(name).attrs["State"]
        assert state["Health"]["Status"] == "healthy"
    finally:
        subprocess.run(cmd + ["down", "-v", "--rmi", "all", "-t", "5"], cwd=path, capture_output=True, timeout=300)


def _run_and_wait(engine, kwargs, until, timeout=180):
    c = engine.containers.run(**kwargs)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            c.reload()
            if until(c):
                return c.attrs
            time.sleep(0.5)
        return c.attrs
    finally:
        c.remove(force=True)


@pytest.fixture(scope="module")
def train_image(engine, tmp_path_factory):
    path = make_bundle(tmp_path_factory.mktemp("train") / "b", model="llama-8b", kind="train")
    tag = "dlgen-test/train:restart"
    from dlgen.verify import build_image  # BuildKit, as run.sh builds (the legacy builder has no RUN --mount)

    assert build_image(path, tag, {"ai.dlgen.test": "1"}, lambda line: None) is None
    yield path, tag
    engine.images.remove(tag, force=True)


def test_failing_training_job_restarts_exactly_three_times(engine, train_image):
    from dlgen import verify as verify_mod

    path, tag = train_image
    spec = verify_mod.bundle_run_spec(path)
    assert spec.restart == "on-failure:3"
    kw, _ = verify_mod.prepare(spec, tag, "restart3", cpu=True)
    kw["command"] = ["python", "-c", "import sys; print('boom'); sys.exit(3)"]
    kw["volumes"] = {}

    def done(c):
        s = c.attrs["State"]
        return s["Status"] == "exited" and not s["Restarting"] and c.attrs["RestartCount"] >= 3

    attrs = _run_and_wait(engine, kw, done)
    time.sleep(3)  # would a fourth restart come? (backoff after 3 failures is well under 3 s)
    assert attrs["RestartCount"] == 3 and attrs["State"]["Status"] == "exited", attrs["State"]
    assert attrs["State"]["ExitCode"] == 3


def test_crashing_server_is_restarted(engine, train_image, tmp_path):
    from dlgen import verify as verify_mod

    path = make_bundle(tmp_path / "serve", model="llama-8b", kind="serve")
    spec = verify_mod.bundle_run_spec(path)
    assert spec.restart == "unless-stopped" and not spec.remove
    _, tag = train_image  # same stand-in base; the restart policy is what is tested
    kw, _ = verify_mod.prepare(spec, tag, "crash", cpu=True)
    kw["command"] = ["python", "-c", "raise SystemExit(1)"]
    kw["volumes"] = {}
    kw.pop("healthcheck", None)
    attrs = _run_and_wait(engine, kw, lambda c: c.attrs["RestartCount"] >= 2, timeout=60)
    assert attrs["RestartCount"] >= 2 and attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def test_rm_with_restart_is_refused_by_the_engine_and_never_generated(engine, tmp_path):
    proc = subprocess.run(["docker", "run", "--rm", "--restart", "always", "dlgen-standin/debian:bookworm", "true"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 125 and "conflicting options" in proc.stderr.lower()
    from dlgen import verify as verify_mod

    for kind in spec_mod.kinds():
        spec = verify_mod.bundle_run_spec(make_bundle(tmp_path / kind, model="llama-8b", kind=kind))
        assert not (spec.remove and spec.restart not in (None, "no")), kind


def test_probe_tool_missing_reported_unhealthy_with_the_probe_error(engine, tmp_path):
    path = make_bundle(tmp_path / "b", model="llama-8b", kind="serve")
    docker_file = path / "Dockerfile"
    text = docker_file.read_text()
    start = text.index("HEALTHCHECK")
    end = text.index("\n", text.index("CMD [", start))
    docker_file.write_text(text[:start] + 'HEALTHCHECK --interval=2s --timeout=1s --start-period=1s --retries=2 '
                           'CMD ["curl", "-fsS", "http://127.0.0.1:8000/ready"]' + text[end:])
    proc, r = verify(path, *SYNTHETIC, "--timeout", "120")
    assert proc.returncode == 1 and not r["healthy"]
    f = r["failure"]
    assert f["stage"] == "health" and f["health_status"] == "unhealthy"
    assert any("curl" in e["output"] and "not found" in e["output"] for e in f["health_log"]), f["health_log"]
    text_proc = run_dlgen("verify", path, "--cpu", *SYNTHETIC, "--timeout", "120", timeout=600)
    assert text_proc.returncode == 1 and "FAILED at health" in text_proc.stdout and "curl" in text_proc.stdout


def test_no_engine_is_one_line(tmp_path):
    path = make_bundle(tmp_path / "b", model="llama-8b", kind="serve")
    env = dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert_one_line_error(run_dlgen("verify", path, "--cpu", env=env), "no Docker engine")


def test_verify_bad_input_is_one_line(tmp_path):
    assert_one_line_error(run_dlgen("verify", tmp_path / "nope"), "not a directory")
    assert_one_line_error(run_dlgen("verify", tmp_path), "no Dockerfile")
    path = make_bundle(tmp_path / "b", model="llama-8b", kind="serve")
    assert_one_line_error(run_dlgen("verify", path, "--env", "NOEQUALS"), "KEY=VALUE")
