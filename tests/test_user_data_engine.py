"""Nothing a user owns is lost, leaked or overwritten (issue 24), on the engine: what goes into a
built image, what verify leaves on disk, in images and on the engine, on every way out (done,
Ctrl-C, SIGTERM, SIGKILL), and that a user's image of the bundle's own name survives it all.
One small bundle is shared by the verify tests; synthetic weights keep the loads short."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from tests.conftest import run_dlgen
from tests.test_user_data_safety import SECRETS, project_with

pytestmark = pytest.mark.engine
REQS = "fastapi==0.115.12\n"    # the same pin as tests/test_user_app.py: its install layer is cached


def docker(*args, timeout=600, check=True):
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "DOCKER_BUILDKIT": "1"})
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def files_in_image(tag):
    script = ("import os\nfor r, d, fs in os.walk('/app'):\n    for f in fs:\n"
              "        print(os.path.relpath(os.path.join(r, f), '/app'))\n")
    return set(docker("run", "--rm", "--entrypoint", "python", tag, "-c", script).stdout.split())


def test_secrets_stay_out_of_the_image_and_an_allowlist_builds(engine, tmp_path):
    tag = f"dlgen-test-secrets:{uuid.uuid4().hex[:8]}"
    try:
        plain = project_with(tmp_path / "plain", {"requirements.txt": REQS, "model.pt": "weights",
                                                  **{s: "TOKEN-VALUE-123\n" for s in SECRETS}})
        assert run_dlgen("new", plain, "--app", "main:app").returncode == 0
        docker("build", "-t", tag, str(plain))
        inside = files_in_image(tag)
        assert not inside & set(SECRETS), inside & set(SECRETS)
        assert {"main.py", "requirements.txt", "model.pt"} <= inside, "the app's own files, weights too"
        grep = docker("run", "--rm", "--entrypoint", "grep", tag, "-rl", "TOKEN-VALUE-123", "/app", "/opt",
                      check=False)
        assert grep.returncode == 1 and not grep.stdout, grep.stdout
        # an allowlist .dockerignore of the user's: their rules first, dlgen's own files re-included
        allow = project_with(tmp_path / "allow", {"requirements.txt": REQS, "config/app.toml": "x = 1\n",
                                                  "config/.env": "TOKEN-VALUE-123\n", "notes.txt": "no\n",
                                                  ".dockerignore": "*\n!main.py\n!requirements.txt\n!config\n"})
        assert run_dlgen("new", allow, "--app", "main:app").returncode == 0
        docker("build", "-t", tag, str(allow))
        inside = files_in_image(tag)
        assert {"main.py", "requirements.txt", "config/app.toml"} <= inside and "notes.txt" not in inside, inside
        assert "config/.env" not in inside
    finally:
        docker("rmi", "-f", tag, check=False)


# ---------------------------------------------------------------------------- verify
@pytest.fixture(scope="module")
def shared_bundle(tmp_path_factory):
    """One small bundle for every verify test here, and a user's own image under its name."""
    root = tmp_path_factory.mktemp("verify")
    assert run_dlgen("new", root / "b", "--params", "0.05B", "--start-period", "20",
                     "--name", "dlgen-userimg-test").returncode == 0
    docker("tag", "python:3.11-slim-bookworm", "dlgen-userimg-test:latest")   # the user's image of that name
    mine = docker("image", "inspect", "-f", "{{.Id}}", "dlgen-userimg-test:latest").stdout.strip()
    yield root / "b", mine
    docker("rmi", "dlgen-userimg-test:latest", check=False)


def tree_digest(path):
    out = {}
    for here, _d, files in os.walk(path):
        for name in files:
            p = os.path.join(here, name)
            out[os.path.relpath(p, path)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


def left_by(pid: int) -> dict:
    """Everything on the engine labelled as made by the verify process ``pid``."""
    label = f"ai.dlgen.verify.pid={pid}"
    out = {kind: docker(kind, "ls", "-q", *(["-a"] if kind == "container" else []), "--filter", f"label={label}")
           .stdout.split() for kind in ("container", "volume", "network")}
    out["image"] = docker("images", "-q", "--filter", f"label={label}").stdout.split()
    return {k: v for k, v in out.items() if v}


def scratch_dirs():
    return {d for d in os.listdir(tempfile.gettempdir()) if d.startswith("dlgen-verify-")}


SYNTHETIC = ["--cpu", "-e", "MODEL_SOURCE=synthetic"]


def test_compose_verify_keeps_tokens_off_disk_and_out_of_images(engine, shared_bundle):
    bundle, mine = shared_bundle
    before, scratch = tree_digest(bundle), scratch_dirs()
    token = f"hf_{uuid.uuid4().hex}"
    proc = run_dlgen("verify", bundle.name, "--target", "compose", "--keep", "--format", "json", *SYNTHETIC,
                     "-e", f"HF_TOKEN={token}", cwd=bundle.parent, timeout=600)   # a relative DIR, as READMEs say
    r = json.loads(proc.stdout)
    try:
        assert proc.returncode == 0 and r["healthy"], proc.stderr[-3000:]
        assert tree_digest(bundle) == before, "verify wrote nothing into the bundle (the build context)"
        assert scratch_dirs() == scratch, "its private override folder is gone"
        assert r["image"].startswith("dlgen-verify/") and "kept:" in proc.stderr and "--clean" in proc.stderr
        found = docker("run", "--rm", "-u", "0", "--entrypoint", "grep", r["image"], "-rl", token, "/app", "/etc",
                       check=False)
        assert found.returncode == 1 and not found.stdout, "the token is in no file of the image"
        assert token not in docker("image", "inspect", r["image"]).stdout
        env = json.loads(docker("inspect", r["container"]).stdout)[0]["Config"]["Env"]
        assert f"HF_TOKEN={token}" in env, "passed by name, the value still reaches the container"
    finally:
        clean = run_dlgen("verify", "--clean", timeout=300)
    assert clean.returncode == 0 and r["run_id"] in clean.stdout, clean.stdout + clean.stderr
    label = f"ai.dlgen.verify={r['run_id']}"
    assert not docker("ps", "-aq", "--filter", f"label={label}").stdout.strip()
    assert not docker("images", "-q", "--filter", f"label={label}").stdout.strip()
    assert docker("image", "inspect", "-f", "{{.Id}}", "dlgen-userimg-test:latest").stdout.strip() == mine


def start_verify(bundle, *extra):
    return subprocess.Popen([sys.executable, "-m", "dlgen", "verify", str(bundle), *SYNTHETIC,
                             "-e", "DLGEN_SYNTHETIC_DELAY_S=40", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_running(pid, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if docker("ps", "-q", "--filter", f"label=ai.dlgen.verify.pid={pid}", "--filter", "status=running").stdout:
            return
        time.sleep(0.3)
    raise AssertionError("the verify container never ran")


@pytest.mark.parametrize("sig,moment", [(signal.SIGINT, "build"), (signal.SIGTERM, "loading"),
                                        (signal.SIGINT, "loading")])
def test_an_interrupted_compose_verify_leaves_nothing(engine, shared_bundle, sig, moment):
    bundle, mine = shared_bundle
    before, scratch = tree_digest(bundle), scratch_dirs()
    proc = start_verify(bundle, "--target", "compose")
    if moment == "build":
        time.sleep(1.0)
    else:
        wait_running(proc.pid)
    # Ctrl-C reaches the whole foreground process group, as a terminal sends it; SIGTERM the process
    (os.killpg if sig == signal.SIGINT else os.kill)(proc.pid if sig != signal.SIGINT else os.getpgid(proc.pid), sig)
    _out, err = proc.communicate(timeout=180)
    assert "Traceback" not in err, err[-2000:]
    assert left_by(proc.pid) == {}, left_by(proc.pid)
    assert not docker("ps", "-aq", "--filter", "name=dlgen-userimg-test").stdout.strip()
    assert docker("image", "inspect", "-f", "{{.Id}}", "dlgen-userimg-test:latest").stdout.strip() == mine
    assert tree_digest(bundle) == before and scratch_dirs() == scratch


def test_a_killed_verify_is_swept_by_the_next_clean(engine, shared_bundle):
    bundle, mine = shared_bundle
    proc = start_verify(bundle)   # --target docker
    wait_running(proc.pid)
    proc.kill()                   # SIGKILL: no clean-up of its own
    proc.communicate(timeout=60)
    left = left_by(proc.pid)
    assert left.get("container") and left.get("image"), "a killed run leaves its container and image behind"
    clean = run_dlgen("verify", "--clean", timeout=300)
    assert clean.returncode == 0, clean.stderr
    assert left_by(proc.pid) == {}
    assert docker("image", "inspect", "-f", "{{.Id}}", "dlgen-userimg-test:latest").stdout.strip() == mine
