"""dlgen doctor and dlgen explain CODE. The doctor cases are real containers on the test engine
(each failure produced for real, no mocks); explain needs no engine."""

import json
import time
import uuid

import pytest

from tests.conftest import assert_one_line_error, run_dlgen

IMAGE = "python:3.11-slim-bookworm"   # a stand-in with python, no curl


def doctor(name):
    proc = run_dlgen("doctor", name, "--format", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, json.loads(proc.stdout)


@pytest.fixture
def make(engine):
    made = []

    def run(name, wait=lambda c: c.status == "exited", timeout=60, stop=None, start=True, **kw):
        name = f"dlgen-doctor-{name}-{uuid.uuid4().hex[:8]}"   # unique: others may share the engine
        try:
            engine.containers.get(name).remove(force=True)
        except Exception:
            pass
        kw.setdefault("image", IMAGE)
        c = engine.containers.create(name=name, labels={"ai.dlgen.test": "1"}, **kw)
        made.append(c)
        if start:
            try:
                c.start()
            except Exception:
                pass  # exec form with a missing program: the container stays "created"
        if stop is not None:
            time.sleep(stop[0])
            c.stop(timeout=stop[1])
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            c.reload()
            if wait(c):
                break
            time.sleep(0.3)
        return name

    yield run
    for c in made:
        try:
            c.remove(force=True)
        except Exception:
            pass


def test_python_traceback(make):
    name = make("traceback", command=["python", "-c", "import json\nraise ValueError('weights not found: /models/x')"])
    proc, d = doctor(name)
    assert proc.returncode == 1 and d["exit_code"] == 1 and d["cause"] == "python-exception"
    assert "ValueError: weights not found: /models/x" in d["explanation"]


def test_oom_killed(make):
    name = make("oom", command=["python", "-c", "b = bytearray(512 * 1024 * 1024); print(len(b))"],
                mem_limit="64m", memswap_limit="64m")
    _, d = doctor(name)
    assert d["exit_code"] == 137 and d["oom_killed"] and d["cause"] == "oom"
    assert d["memory_limit"] == "64m" and any("--memory" in f for f in d["fix"])


def test_only_a_child_was_oom_killed(make):
    child = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'b = bytearray(512 * 1024 * 1024)'])"
    name = make("childoom", command=["python", "-c", child], mem_limit="64m", memswap_limit="64m")
    proc, d = doctor(name)
    assert d["exit_code"] == 0 and d["oom_killed"] and d["cause"] == "child-oom" and proc.returncode == 1


def test_stop_timeout_with_shell_form(make):
    name = make("stoptimeout", command=["/bin/sh", "-c", "python -c 'import time; time.sleep(600)'"],
                stop=(1.5, 1))
    _, d = doctor(name)
    assert d["exit_code"] == 137 and not d["oom_killed"] and d["cause"] == "stop-timeout"
    assert any("exec form" in f for f in d["fix"])


@pytest.mark.parametrize("init,code", [(True, 143), (False, 0)])
def test_graceful_stop(make, init, code):
    handler = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); time.sleep(600)"
    cmd = ["python", "-c", "import time; time.sleep(600)"] if init else ["python", "-c", handler]
    name = make(f"graceful{code}", command=cmd, init=init, stop=(1.5, 10))
    proc, d = doctor(name)
    assert d["exit_code"] == code and d["cause"] == "stopped" and proc.returncode == 0


def test_segfault(make):
    name = make("segv", command=["python", "-c", "import ctypes; ctypes.string_at(0)"])
    _, d = doctor(name)
    assert d["exit_code"] == 139 and d["signal"] == "SIGSEGV" and d["cause"] == "segfault"


def test_sigbus_from_small_shm(make):
    code = ("import mmap, os\nn = 200 << 20\nfd = os.open('/dev/shm/x', os.O_CREAT | os.O_RDWR)\n"
            "os.ftruncate(fd, n)\nm = mmap.mmap(fd, n)\nfor i in range(0, n, 4096):\n    m[i] = 1\n")
    name = make("sigbus", command=["python", "-c", code])
    _, d = doctor(name)
    assert d["exit_code"] == 135 and d["signal"] == "SIGBUS" and d["cause"] == "shm-sigbus"
    assert d["shm_size"] == "64m" and any("--shm-size" in f for f in d["fix"])


def test_command_not_found(make):
    name = make("notfound", command=["torchrun-missing", "train.py"], wait=lambda c: True, timeout=1)
    _, d = doctor(name)
    assert d["cause"] == "command-not-found" and d["exit_code"] == 127
    assert "executable file not found" in d["explanation"]


def test_unhealthy_probe_tool_missing(make):
    hc = {"test": ["CMD", "curl", "-fsS", "http://127.0.0.1:8000/ready"], "interval": 500_000_000,
          "timeout": 400_000_000, "retries": 2, "start_period": 0}
    name = make("probe", command=["python", "-m", "http.server", "8000"], healthcheck=hc,
                wait=lambda c: (c.attrs["State"].get("Health") or {}).get("Status") == "unhealthy")
    proc, d = doctor(name)
    assert d["health"] == "unhealthy" and d["cause"] == "probe-tool-missing" and proc.returncode == 1
    assert "curl" in d["explanation"]


def test_restart_loop(make):
    name = make("loop", command=["python", "-c", "raise SystemExit(1)"], restart_policy={"Name": "always"},
                wait=lambda c: c.attrs["RestartCount"] >= 3)
    _, d = doctor(name)
    assert d["restart_loop"] and d["cause"] == "restart-loop" and d["restart_count"] >= 3
    assert any("on-failure" in f for f in d["fix"])


def test_on_failure_retries_left(make):
    name = make("retries", command=["python", "-c", "raise SystemExit(2)"],
                restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
                wait=lambda c: c.attrs["RestartCount"] >= 2 and c.status == "exited")
    _, d = doctor(name)
    assert d["restart_policy"] == "on-failure:2" and d["retries_left"] == 0 and d["exit_code"] == 2


def test_doctor_without_name_lists_failed_containers(make):
    bad = make("listed", command=["python", "-c", "raise SystemExit(3)"])
    proc = run_dlgen("doctor", "--format", "json")
    names = [d["name"] for d in json.loads(proc.stdout)]
    assert bad in names and proc.returncode == 1


def test_unknown_container_is_one_line(engine):
    assert_one_line_error(run_dlgen("doctor", "dlgen-no-such-container"), "no container named")


# ---------------------------------------------------------------------------- explain CODE (no engine)
@pytest.mark.parametrize("code,needle", [(0, "Success"), (1, "traceback"), (2, "argparse"), (125, "NVIDIA"),
                                         (126, "permission"), (127, "not found"), (130, "SIGINT"),
                                         (134, "SIGABRT"), (135, "shm"), (137, "OOMKilled"), (139, "SIGSEGV"),
                                         (143, "SIGTERM"), (129, "SIGHUP"), (159, "SIGSYS")])
def test_explain_exit_codes(code, needle):
    out = run_dlgen("explain", str(code)).stdout
    assert out.startswith(f"exit code {code}") and needle.lower() in out.lower(), out


def test_explain_bad_code():
    assert_one_line_error(run_dlgen("explain", "300"), "0-255")
