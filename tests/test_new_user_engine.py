"""What new users hit (issue 25), on the engine, as they meet it: a project pinning its own
uvicorn, a host without a GPU runtime (run.sh, doctor), and the generated servers under load (a
64 MB body, /health while predictions run, SIGTERM with requests in flight)."""

import http.client
import json
import os
import socket
import subprocess
import threading
import time
import uuid

import pytest

from tests.conftest import run_dlgen
from tests.test_engine import make_bundle
from tests.test_user_data_safety import project_with

pytestmark = pytest.mark.engine


def docker(*args, check=True, timeout=600):
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "DOCKER_BUILDKIT": "1"})
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_app_with_the_users_own_uvicorn_pin_builds_and_turns_healthy(engine, tmp_path):
    project = project_with(tmp_path / "pinned", {"requirements.txt": "fastapi==0.115.12\nuvicorn[standard]==0.30.6\n"})
    made = run_dlgen("new", project, "--app", "main:app")
    assert made.returncode == 0 and "uvicorn" not in (project / "requirements-dlgen.txt").read_text(), made.stderr
    proc = run_dlgen("verify", project.name, "--cpu", "--format", "json", cwd=project.parent, timeout=900)
    r = json.loads(proc.stdout)
    assert proc.returncode == 0 and r["healthy"], json.dumps(r, indent=2)[-3000:]


def test_run_sh_on_a_host_without_a_gpu_runtime_stops_before_anything(engine, tmp_path):
    bundle = make_bundle(tmp_path / "gpu", model="llama-3.2-1b")
    name = "llama-3-2-1b-serve"   # dots are not valid in Kubernetes names: one derived name everywhere
    proc = subprocess.run(["bash", str(bundle / "run.sh")], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "DLGEN_SKIP_GPU_CHECK"})
    assert proc.returncode == 1 and "no NVIDIA runtime" in proc.stderr and "--cpu" in proc.stderr, proc.stderr
    assert not docker("ps", "-aq", "--filter", f"name={name}").stdout.strip(), "no container was created"
    assert docker("images", "-q", f"{name}:latest").stdout.strip() == "", "nothing was built"


def test_doctor_names_a_missing_gpu_runtime(engine):
    name = f"dlgen-test-nogpu-{uuid.uuid4().hex[:8]}"
    docker("create", "--name", name, "--label", "ai.dlgen.test=1", "--gpus", "1", "python:3.11-slim-bookworm", "true")
    try:
        assert docker("start", name, check=False).returncode != 0
        proc = run_dlgen("doctor", name, "--format", "json")
        d = json.loads(proc.stdout)
        assert proc.returncode == 1 and d["cause"] == "no-gpu-runtime" and d["exit_code"] == 128, d
        assert any("NVIDIA Container Toolkit" in f for f in d["fix"]) and any("--cpu" in f for f in d["fix"])
        text = run_dlgen("doctor", name).stdout
        assert "engine error: could not select device driver" in text
        assert "Docker could not start the container" in run_dlgen("explain", "128").stdout
    finally:
        docker("rm", "-f", name, check=False)


# ---------------------------------------------------------------------------- the servers under load
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def huge_body_status(port, size=64 * 2**20):
    """Announce a 64 MB body and send as much of it as the server takes: its answer (413)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        sock.settimeout(0.2)
        sent, chunk, answer = 0, b"[" * 2**16, b""
        while sent < size:
            try:
                answer += sock.recv(4096)
                if b"\r\n" in answer:
                    break
            except (TimeoutError, BlockingIOError):
                pass
            except OSError:
                break
            try:
                sock.sendall(chunk)
                sent += len(chunk)
            except OSError:
                break
        sock.settimeout(10)
        while b"\r\n" not in answer:
            try:
                more = sock.recv(4096)
            except OSError:
                break
            if not more:
                break
            answer += more
    line = answer.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 else None


@pytest.fixture(scope="module", params=["python", "fastapi"])
def loaded_server(engine, tmp_path_factory, request):
    server = request.param
    root = tmp_path_factory.mktemp(f"load-{server}")
    bundle = make_bundle(root / "b", model="llama-8b", server=server)
    tag = f"dlgen-test-load/{server}:{uuid.uuid4().hex[:8]}"
    docker("build", "-t", tag, str(bundle))
    port = free_port()
    name = f"dlgen-test-load-{server}-{uuid.uuid4().hex[:6]}"
    docker("run", "-d", "--name", name, "--label", "ai.dlgen.test=1", "--memory", "2g", "-p", f"127.0.0.1:{port}:8000",
           "-e", "MODEL_SOURCE=synthetic", "-e", "DLGEN_SYNTHETIC_PREDICT_S=3", tag)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if request_ready(port):
                    break
            except OSError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(docker("logs", name, check=False).stderr[-2000:])
        yield name, port
    finally:
        docker("rm", "-f", name, check=False)
        docker("rmi", "-f", tag, check=False)


def request_ready(port):
    try:
        return request(port, "GET", "/ready", timeout=2)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


PREDICT = {"inputs": [[0.0] * 512]}


def test_a_64_mb_body_gets_413_and_the_server_stays_up(loaded_server):
    name, port = loaded_server
    assert huge_body_status(port) == 413
    assert request(port, "GET", "/health")[0] == 200
    state = json.loads(docker("inspect", name).stdout)[0]["State"]
    assert state["Running"] and not state["OOMKilled"]
    assert request(port, "POST", "/predict", PREDICT)[0] == 200, "still serving"
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert request(port, "GET", path)[0] == 404, path


def test_health_answers_while_predicts_run_and_a_stop_drains_them(loaded_server):
    name, port = loaded_server
    results = []

    def one():
        try:
            results.append(request(port, "POST", "/predict", PREDICT, timeout=60)[0])
        except Exception as exc:   # noqa: BLE001 - the failure is the result
            results.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    slowest = 0.0
    for _ in range(5):   # 8 predictions of 3 s each are running
        t0 = time.monotonic()
        assert request(port, "GET", "/health", timeout=10)[0] == 200
        slowest = max(slowest, time.monotonic() - t0)
        time.sleep(0.2)
    assert slowest < 2.0, f"/health took {slowest:.2f} s under load"
    for t in threads:
        t.join(timeout=60)
    assert results == [200] * 8, results
    # SIGTERM (docker stop) with requests in flight: they complete, then the server exits 0
    results.clear()
    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    docker("stop", name)
    for t in threads:
        t.join(timeout=60)
    assert results == [200] * 4, results
    assert json.loads(docker("inspect", name).stdout)[0]["State"]["ExitCode"] == 0
