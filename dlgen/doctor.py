"""Why did my container die: exit codes explained (`dlgen explain 137`) and a container's state
turned into a cause and a concrete change (`dlgen doctor NAME`).

Facts (Docker docs: restart policies and their backoff, the docker run "Exit status" section,
OOMKilled and the child-OOM case, PID 1 and shell form, docker stop, /dev/shm and SIGBUS), each
case also produced for real on Engine 26 in tests/test_doctor.py;
the code table is dlgen/data/exit_codes.yaml.
"""

from __future__ import annotations

import re

from dlgen import reference
from dlgen.errors import DlgenError
from dlgen.units import short_size

DEFAULT_SHM = 64 * 2**20     # Docker docs, docker run --shm-size: 64 MB when unset
LOG_TAIL = 30
PROBE_MISSING = re.compile(r"executable file not found|: not found|No such file or directory|command not found")


# ---------------------------------------------------------------------------- exit codes
def signal_name(n: int) -> str | None:
    return reference.load("exit_codes")["signals"].get(n)


def exit_code_info(code: int) -> dict:
    """Meaning, causes, what to check and what to change for one exit code."""
    if code < 0 or code > 255:
        raise DlgenError(f"exit code {code} is outside 0-255", "container exit codes are 0-255")
    table = reference.load("exit_codes")["codes"]
    info = dict(table.get(code) or {})
    sig = signal_name(code - 128) if code > 128 else None
    if not info:
        if sig:
            info = {"meaning": f"128+{code - 128}, {sig}: the process was ended by signal {code - 128}.",
                    "causes": [f"something sent {sig} to PID 1, or the process raised it itself"],
                    "check": ["docker logs --tail 50 NAME", "docker events --filter container=NAME"],
                    "change": [f"find who sends {sig}; handle it in the process if it is expected"]}
        elif code > 128:
            info = {"meaning": f"128+{code - 128}: signal {code - 128}, which Linux does not name.",
                    "causes": [], "check": ["docker logs --tail 50 NAME"], "change": []}
        else:
            info = {"meaning": f"The program chose exit status {code}; Docker adds no meaning to it.",
                    "causes": ["the program's own convention (see its documentation)"],
                    "check": ["docker logs --tail 50 NAME"], "change": []}
    info["code"] = code
    info["signal"] = sig
    return info


def exit_code_page(code: int) -> str:
    i = exit_code_info(code)
    head = f"exit code {code}" + (f" ({i['signal']})" if i["signal"] else "")
    out = [head, "", i["meaning"]]
    for title, key in (("Deep-learning causes", "causes"), ("Check", "check"), ("Change", "change")):
        if i.get(key):
            out += ["", f"{title}:"] + [f"  - {x}" for x in i[key]]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- diagnosis
def _traceback_last_line(logs: list[str]) -> str | None:
    for i in range(len(logs) - 1, -1, -1):
        if logs[i].startswith("Traceback (most recent call last)"):
            tail = [l for l in logs[i + 1:] if l and not l.startswith((" ", "\t"))]
            return tail[-1].strip() if tail else None
    m = [l for l in logs if re.match(r"^\w+(Error|Exception|Interrupt)\b.*", l)]
    return m[-1].strip() if m else None


def diagnose(attrs: dict, logs: list[str]) -> dict:
    """A container's `docker inspect` data and its last log lines -> facts, cause and fix."""
    state = attrs.get("State") or {}
    host = attrs.get("HostConfig") or {}
    config = attrs.get("Config") or {}
    health = state.get("Health") or {}
    policy = host.get("RestartPolicy") or {}
    code = state.get("ExitCode")
    status = state.get("Status") or ("restarting" if state.get("Restarting") else "unknown")
    restarts = attrs.get("RestartCount", 0) or 0
    max_retries = policy.get("MaximumRetryCount") or 0
    probes = [{"exit_code": e.get("ExitCode"), "output": (e.get("Output") or "").strip()[-400:]}
              for e in (health.get("Log") or [])[-5:]]
    shm = host.get("ShmSize")
    gpu = bool(host.get("DeviceRequests")) or (host.get("Runtime") == "nvidia")
    cmd = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    from dlgen.rulekit import shell_runs_string

    shell_pid1 = shell_runs_string(cmd)
    facts = {
        "name": (attrs.get("Name") or "").lstrip("/"), "image": config.get("Image"), "state": status,
        "exit_code": code if status in ("exited", "dead", "restarting", "created") else None,
        "signal": signal_name(code - 128) if code and code > 128 else None,
        "oom_killed": bool(state.get("OOMKilled")), "error": state.get("Error") or None,
        "restart_policy": (policy.get("Name") or "no") + (f":{max_retries}" if policy.get("Name") == "on-failure"
                                                            and max_retries else ""),
        "restart_count": restarts,
        "retries_left": max(0, max_retries - restarts) if policy.get("Name") == "on-failure" and max_retries else None,
        "health": health.get("Status"), "failing_streak": health.get("FailingStreak"), "probe_log": probes,
        "memory_limit": short_size(host.get("Memory")), "shm_size": short_size(shm), "ipc": host.get("IpcMode"),
        "gpu_request": gpu, "command": cmd, "log_tail": logs[-LOG_TAIL:],
    }
    facts["restart_loop"] = bool(state.get("Restarting")) or (
        policy.get("Name") in ("always", "unless-stopped") and restarts >= 3 and status != "exited") or (
        policy.get("Name") == "on-failure" and restarts >= 3 and status in ("running", "restarting")
        and code not in (0, None))
    cause, why, fix = _cause(facts, shell_pid1, code, status)
    facts.update(cause=cause, explanation=why, fix=fix)
    return facts


NO_GPU_RUNTIME = re.compile(r"could not select device driver|nvidia-container-cli|unknown or invalid runtime name: "
                            r"nvidia|no NVIDIA GPU device|NVIDIA driver on your system", re.IGNORECASE)


def _cause(f: dict, shell_pid1: bool, code, status: str) -> tuple[str, str, list[str]]:
    probe_out = " ".join(p["output"] for p in f["probe_log"])
    if f["error"] and NO_GPU_RUNTIME.search(f["error"]):
        return "no-gpu-runtime", f"Docker could not start it: the container asks for GPUs and this host's Docker " \
            f"has no NVIDIA runtime or no GPU ({f['error']})", \
            ["install the NVIDIA Container Toolkit and restart Docker (nvidia-ctk runtime configure --runtime=docker)",
             "on a host without a GPU, try the bundle's CPU path: dlgen verify DIR --cpu -e MODEL_SOURCE=synthetic"]
    if status == "created" and code in (126, 127) or (f["error"] and "executable file not found" in f["error"]):
        if code == 126 or (f["error"] and "permission denied" in f["error"]):
            return "not-executable", f"the command cannot be executed: {f['error']}", \
                ["RUN chmod +x the script, or call it through its interpreter"]
        return "command-not-found", f"the command does not exist in the image: {f['error'] or 'exit 127'}", \
            ["use a command the image has (python vs python3), or install it"]
    if f["health"] == "unhealthy" and status == "running":
        if PROBE_MISSING.search(probe_out) or any(p["exit_code"] == 127 for p in f["probe_log"]):
            return "probe-tool-missing", "the health probe runs a program the image does not have: " + \
                next((p["output"] for p in reversed(f["probe_log"]) if p["output"]), ""), \
                ["use a standard-library python probe (dlgen new writes one), or install the tool in the image"]
        return "unhealthy", f"the health probe failed {f['failing_streak']} times in a row", \
            ["check the readiness endpoint and port; raise --start-period if the model is still loading"]
    if f["restart_loop"]:
        inner = _exit_cause(f, shell_pid1, code)
        return "restart-loop", f"restarted {f['restart_count']} times ({f['restart_policy']}); each run ended: " \
            f"{inner[1]}", inner[2] + (["use --restart on-failure:3 so a broken job stops retrying"]
                                       if f["restart_policy"] in ("always", "unless-stopped") else [])
    if status == "created" and f["error"]:
        return "start-failed", f"Docker could not start it (exit code {code}): {f['error']}", \
            ["fix what the error names (a device, mount, network or runtime of this host), then docker start it"]
    if status in ("running", "paused", "created") and not f["oom_killed"]:
        return "none", f"the container is {status}" + (f" and {f['health']}" if f["health"] else ""), []
    return _exit_cause(f, shell_pid1, code)


def _exit_cause(f: dict, shell_pid1: bool, code) -> tuple[str, str, list[str]]:
    if f["oom_killed"] and code == 137:
        limit = f["memory_limit"] or "host RAM"
        return "oom", f"out of memory: the kernel killed PID 1 at the memory limit ({limit})", \
            [f"raise --memory (now {f['memory_limit']})" if f["memory_limit"] else "give the host more RAM",
             "load weights with safetensors mmap / low_cpu_mem_usage; fewer DataLoader workers"]
    if f["oom_killed"]:
        return "child-oom", f"a child process was OOM-killed while PID 1 exited {code} (DataLoader workers?)", \
            [f"raise --memory (now {f['memory_limit']})" if f["memory_limit"] else "give the host more RAM",
             "lower num_workers or the batch size"]
    if code == 137:
        if shell_pid1:
            return "stop-timeout", "SIGKILL without OOM: PID 1 is a shell (shell-form CMD), so docker stop's SIGTERM " \
                                   "never reached the program and it was killed after the grace period", \
                ['use exec form: CMD ["python", "server.py"] (dlgen lint DLG004)', "or run with --init"]
        return "killed", "SIGKILL without OOM: docker kill, or docker stop after the grace period (PID 1 ignored " \
                         "SIGTERM)", ["handle SIGTERM in PID 1 or run with --init; raise --stop-timeout if needed"]
    if code == 135:
        return "shm-sigbus", f"SIGBUS: /dev/shm is {f['shm_size'] or '64m'} (ipc {f['ipc']}); DataLoader workers " \
                             "and NCCL need more", ["--shm-size=8g (compose shm_size: 8g) or --ipc=host"]
    if code == 139:
        return "segfault", "SIGSEGV: a segmentation fault in native code", \
            ["rebuild native extensions against the image's torch/CUDA", "PYTHONFAULTHANDLER=1 shows the call"]
    if code in (0, 143):
        return "stopped", "a clean exit" + (" on SIGTERM" if code == 143 else ""), []
    if code == 1:
        last = _traceback_last_line(f["log_tail"])
        if last:
            return "python-exception", f"the program raised: {last}", ["fix what the traceback names (docker logs)"]
        return "error", "the program exited with status 1", ["read docker logs for the error"]
    if code == 127:
        return "command-not-found", "a command was not found (exit 127)", ["install it or fix the name"]
    if code is None:
        return "unknown", f"state {f['state']}", []
    info = exit_code_info(code)
    return f"exit-{code}", info["meaning"], list(info.get("change") or [])


# ---------------------------------------------------------------------------- the engine
def doctor(name: str | None = None) -> list[dict]:
    from dlgen.engine import client

    c = client(min_engine=0)
    import docker

    if name:
        try:
            containers = [c.containers.get(name)]
        except docker.errors.NotFound:
            raise DlgenError(f"no container named {name!r}", "see `docker ps -a` for the names") from None
    else:
        containers = c.containers.list(all=True)
    out = []
    for ct in containers:
        try:   # containers come and go while doctor reads them: one gone meanwhile is skipped
            ct.reload()
            logs = [printable(line) for line in ct.logs(tail=LOG_TAIL).decode("utf-8", "replace").splitlines()]
        except docker.errors.NotFound:
            if name:
                raise DlgenError(f"container {name!r} was removed while doctor read it", "run doctor again") from None
            continue
        except Exception:
            logs = []
        d = diagnose(ct.attrs, logs)
        if name or d["cause"] not in ("none", "stopped"):
            out.append(d)
    return out


_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(line: str) -> str:
    """A container's log line without terminal escape sequences or control characters: a log
    cannot move the cursor, retitle the terminal or hide text in doctor's output."""
    return _CONTROL.sub("", line)


def text_report(d: dict) -> str:
    lines = [f"{d['name']} ({d['image']}): {d['state']}"]
    if d["exit_code"] is not None:
        lines[0] += f", exit code {d['exit_code']}" + (f" ({d['signal']})" if d["signal"] else "")
    if d["oom_killed"]:
        lines[0] += ", OOMKilled"
    restart = f"restart {d['restart_policy']}, restarted {d['restart_count']} times"
    if d["retries_left"] is not None:
        restart += f", {d['retries_left']} retries left"
    if d["restart_loop"]:
        restart += " (restart loop)"
    lines.append("  " + restart)
    if d["health"]:
        lines.append(f"  health {d['health']}, failing streak {d['failing_streak']}")
        for p in d["probe_log"][-3:]:
            lines.append(f"    probe exit {p['exit_code']}: {p['output'].splitlines()[-1] if p['output'] else ''}")
    lines.append(f"  memory limit {d['memory_limit'] or 'none'}, shm {d['shm_size'] or '64m'}, ipc {d['ipc']}, "
                 f"GPU request {'yes' if d['gpu_request'] else 'no'}")
    if d.get("error"):
        lines.append(f"  engine error: {printable(d['error'])}")
    lines.append(f"  cause: {d['cause']}: {d['explanation']}")
    for f in d["fix"]:
        lines.append(f"  fix: {f}")
    if d["log_tail"]:
        lines.append("  last log lines:")
        lines += [f"    | {l}" for l in d["log_tail"][-8:]]
    return "\n".join(lines)
