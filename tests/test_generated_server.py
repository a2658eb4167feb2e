"""The generated servers, run as plain processes: liveness at once, readiness after a slow load,
clean exit on SIGTERM, exit 1 when the load fails."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from dlgen import bundle
from dlgen import spec as spec_mod

pytest.importorskip("torch", reason="the generated server loads a model with torch (pip install torch==2.13.0)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except (urllib.error.URLError, OSError):
        return None, None


def wait_for(url, deadline):
    while time.monotonic() < deadline:
        status, _ = get(url)
        if status is not None:
            return status
        time.sleep(0.05)
    return None


def start(tmp_path, server, **env_extra):
    spec = spec_mod.build(model="resnet50", server=server)
    bundle.write(bundle.render(spec, "test"), tmp_path)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "MODEL_SOURCE": "synthetic", "DLGEN_SYNTHETIC_DELAY_S": "4",
           "DLGEN_DEVICE": "cpu", **env_extra}
    proc = subprocess.Popen([sys.executable, "server.py"], cwd=tmp_path / "app", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("server", ["python", "fastapi"])
def test_health_ready_sigterm(tmp_path, server):
    if server == "fastapi":
        pytest.importorskip("fastapi")
        pytest.importorskip("uvicorn")
    proc, base = start(tmp_path, server)
    try:
        t0 = time.monotonic()
        assert wait_for(base + "/health", t0 + 15) == 200
        first_health = time.monotonic() - t0
        status, body = get(base + "/ready")
        assert status == 503 and body["status"] == "loading"
        assert first_health < 4, "liveness must not wait for the model"
        while time.monotonic() < t0 + 60:
            status, body = get(base + "/ready")
            if status == 200:
                break
            assert status == 503
            time.sleep(0.1)
        assert status == 200 and body["status"] == "ready"
        # the probe the HEALTHCHECK runs agrees
        probe = subprocess.run([sys.executable, str(tmp_path / "app" / "probe.py"), "--url", base + "/ready"],
                               capture_output=True, text=True)
        assert probe.returncode == 0, probe.stdout
        req = urllib.request.Request(base + "/predict", data=json.dumps({"inputs": [[0.0] * 512]}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert len(json.loads(r.read())["outputs"][0]) == 512
        t_stop = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - t_stop < 2.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("server", ["python", "fastapi"])
def test_sigterm_during_load_exits_0_quickly(tmp_path, server):
    if server == "fastapi":
        pytest.importorskip("fastapi")
    proc, base = start(tmp_path, server, DLGEN_SYNTHETIC_DELAY_S="30")
    try:
        assert wait_for(base + "/health", time.monotonic() + 15) == 200
        t = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - t < 2.0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_failed_load_exits_1_with_traceback(tmp_path):
    proc, base = start(tmp_path, "python", MODEL_SOURCE="nosuchmodule:load")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "ModuleNotFoundError" in out


def test_probe_fails_when_nothing_listens(tmp_path):
    spec = spec_mod.build(model="resnet50")
    bundle.write(bundle.render(spec, "test"), tmp_path)
    proc = subprocess.run([sys.executable, str(tmp_path / "app" / "probe.py"), "--url",
                           f"http://127.0.0.1:{free_port()}/ready"], capture_output=True, text=True)
    assert proc.returncode == 1 and "refused" in proc.stdout.lower()


def test_heartbeat_probe(tmp_path):
    spec = spec_mod.build(model="resnet50", kind="train")
    bundle.write(bundle.render(spec, "test"), tmp_path)
    probe = str(tmp_path / "app" / "probe.py")
    hb = tmp_path / "hb"
    assert subprocess.run([sys.executable, probe, "--heartbeat", str(hb)], capture_output=True).returncode == 1
    hb.touch()
    assert subprocess.run([sys.executable, probe, "--heartbeat", str(hb), "--max-age", "60"]).returncode == 0
    old = time.time() - 120
    os.utime(hb, (old, old))
    assert subprocess.run([sys.executable, probe, "--heartbeat", str(hb), "--max-age", "60"],
                          capture_output=True).returncode == 1


def test_max_new_tokens_is_bounded(tmp_path, monkeypatch):
    spec = spec_mod.build(model="llama-3.2-1b")
    bundle.write(bundle.render(spec, "test"), tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "app"))
    monkeypatch.setenv("DLGEN_MAX_NEW_TOKENS", "256")
    import importlib

    import model as model_lib

    model_lib = importlib.reload(model_lib)
    loaded = model_lib.Loaded(module=None, device="cpu", processor=object())
    for wanted in (10**9, 0, -5, 257):
        with pytest.raises(ValueError, match="max_new_tokens must be 1-256"):
            model_lib.predict(loaded, {"prompt": "hi", "max_new_tokens": wanted})


def test_training_heartbeat_starts_with_the_first_step_not_before(tmp_path):
    spec = spec_mod.build(model="resnet50", kind="train")
    bundle.write(bundle.render(spec, "test"), tmp_path)
    hb, ck = tmp_path / "hb", tmp_path / "ck"
    hb.touch()   # a stale heartbeat of an earlier run must not count
    env = dict(os.environ, MODEL_SOURCE="synthetic", DLGEN_DEVICE="cpu", DLGEN_HEARTBEAT=str(hb),
               CHECKPOINT_DIR=str(ck), TRAIN_STEPS="100000", NUM_WORKERS="0", DLGEN_STEP_SLEEP_S="0.01",
               DLGEN_SYNTHETIC_DELAY_S="4")
    old = time.time() - 100
    os.utime(hb, (old, old))
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "train.py"], cwd=tmp_path / "app", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = None
        while time.time() - t0 < 60 and first is None:
            try:
                if hb.stat().st_mtime >= t0:   # touched by this run
                    first = time.time() - t0
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        assert first is not None and first >= 4, f"heartbeat at {first} s, before the 4 s load had finished"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    # stopped while loading: it says nothing was saved, and nothing was
    ck2 = tmp_path / "ck2"
    env.update(CHECKPOINT_DIR=str(ck2), DLGEN_SYNTHETIC_DELAY_S="30")
    proc = subprocess.Popen([sys.executable, "train.py"], cwd=tmp_path / "app", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "no checkpoint written" in out and not ck2.exists(), out


def test_training_loop_beats_checkpoints_and_stops_cleanly(tmp_path):
    spec = spec_mod.build(model="resnet50", kind="train")
    bundle.write(bundle.render(spec, "test"), tmp_path)
    hb, ck = tmp_path / "hb", tmp_path / "ck"
    env = dict(os.environ, MODEL_SOURCE="synthetic", DLGEN_DEVICE="cpu", DLGEN_HEARTBEAT=str(hb),
               CHECKPOINT_DIR=str(ck), TRAIN_STEPS="100000", NUM_WORKERS="0", DLGEN_STEP_SLEEP_S="0.01")
    proc = subprocess.Popen([sys.executable, "train.py"], cwd=tmp_path / "app", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "step 10 " not in (proc.stdout.readline() or ""):
            pass
        assert hb.exists() and time.time() - hb.stat().st_mtime < 5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert (ck / "last.pt").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
    # a restart resumes from the checkpoint
    env["TRAIN_STEPS"] = "1"
    again = subprocess.run([sys.executable, "train.py"], cwd=tmp_path / "app", env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and "resumed from step" in again.stdout + again.stderr
