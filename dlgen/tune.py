"""`dlgen verify DIR --write-timings`: measure the bundle's real start-up on this host and write the
measured timings back into every file that carries them.

The measurement is verify's own (any --target): fetch, container start to first log line, ready
(first 200 from the readiness endpoint), healthy, over ``runs`` starts; the slowest ready time
counts. The new start period is timing.start_period_for(measured load) (margin x load, rounded up,
never below the minimum); every target gets its rendering of that one value:

- Dockerfile: HEALTHCHECK --start-period and the comment above it;
- compose.yaml: the healthcheck's start_period;
- stack.yaml: start_period (plus the download budget it already carried) and the update/rollback
  monitor window (timing.stack_monitor_s);
- k8s.yaml: the startupProbe's failureThreshold (x periodSeconds covers the start period) and the
  header line that states the budget;
- README.md (DEPLOY.md in a user's project): the sentence that states the start period.

Edits are line edits in place (comments and formatting kept), written atomically through
textfile.write_text; the measurement goes to timings.json, which `dlgen lint` prefers to the
estimate (DLG012, DLG121). A bundle already carrying a measured start period within
timing.MEASURE_TOLERANCE(_S) of the new one is left as it is.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dlgen import __version__, textfile, timing
from dlgen.errors import DlgenError
from dlgen.measured import TIMINGS_FILE
from dlgen.measured import read as read_timings  # noqa: F401  (the one reader, re-exported)

MEASURED_MARK = "measured on"


@dataclass
class Measurement:
    runs: list[dict]                      # verify results, one per start
    host: dict
    when: str
    target: str
    device: str = "gpu"                   # gpu, or cpu (verify --cpu: GPU requests dropped)
    model_source: str = "auto"            # MODEL_SOURCE of the runs: auto (the real model), synthetic, module:fn

    @property
    def load_s(self) -> float:
        """The slowest start to ready (or to healthy, for a bundle whose server has no readiness path)."""
        return max(r["ready_s"] if r.get("ready_s") is not None else r["healthy_s"] for r in self.runs)

    @property
    def real(self) -> bool:
        """The real model on a GPU: the only measurement a bundle's timings may follow by default."""
        return self.device == "gpu" and self.model_source != "synthetic"

    def test_kind(self) -> str:
        """What makes it a test measurement ('' for a real one)."""
        why = [w for w, on in (("on the CPU", self.device == "cpu"),
                               ("with synthetic weights", self.model_source == "synthetic")) if on]
        return " and ".join(why)

    def where(self) -> str:
        """measured on <GPU>, <date> (and what made it a test, if it was one)"""
        gpu = self.host.get("gpu") or "no GPU"
        test = f", a test run {self.test_kind()}" if not self.real else ""
        return f"{MEASURED_MARK} {gpu}, {self.when}{test}"

    def note(self) -> str:
        return f"{self.where()}: {self.load_s:.1f} s"


@dataclass
class TuneResult:
    measurement: Measurement
    start_period_s: int
    previous_s: int | None
    changed: dict[str, str] = field(default_factory=dict)     # file -> new text (what was or would be written)
    diffs: list[str] = field(default_factory=list)
    kept: bool = False                                         # within tolerance of an earlier measurement
    refused: str = ""                                          # why the bundle's files were left alone


# ------------------------------------------------------------------------------------ measure
def host_facts() -> dict:
    """What the measurement ran on: CPU, memory, GPU (nvidia-smi, else torch), Docker's disk."""
    # what the load time depends on (CPU, memory, GPU and driver, disk), not who ran it: no host
    # name or kernel goes into a file that people commit
    facts: dict = {"machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
        mem = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if mem:
            facts["memory_gb"] = round(int(mem.group(1)) / 2**20, 1)
    except OSError:
        pass
    facts["gpu"] = _gpu()
    facts["disk"] = _docker_disk()
    return facts


def _gpu() -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
            if out:
                name, _, rest = out[0].strip().partition(",")
                memory, _, driver = rest.partition(",")
                return f"{len(out)} x {name.strip()}, {memory.strip()}, driver {driver.strip()}"
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        import importlib.util

        if importlib.util.find_spec("torch") is not None:
            import torch

            if torch.cuda.is_available():
                p = torch.cuda.get_device_properties(0)
                return f"{torch.cuda.device_count()} x {p.name}, {p.total_memory / 2**30:.0f} GiB"
    except Exception:   # a broken torch install says nothing about the GPU
        pass
    return None


def _docker_disk() -> dict | None:
    """The file system Docker keeps images and volumes on (where the weights are read from)."""
    docker = shutil.which("docker")
    if not docker:
        return None
    try:
        root = subprocess.run([docker, "info", "--format", "{{.DockerRootDir}}"], capture_output=True, text=True,
                              timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    best = ("", "")
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and root.startswith(parts[1]) and len(parts[1]) > len(best[0]):
                best = (parts[1], parts[2])
    except OSError:
        pass
    return {"docker_root": root, "mount": best[0] or None, "fs": best[1] or None} if root else None


def measure(bundle: Path, runs: int = 1, target: str = "docker", cpu: bool = False, env: dict | None = None,
            timeout_s: float | None = None, progress=None) -> Measurement:
    """Start the bundle ``runs`` times as verify does and keep each start's phases."""
    from dlgen import verify as verify_mod

    if runs < 1:
        raise DlgenError(f"--runs {runs} is not a number of starts", "give --runs 1 or more")
    say = progress or (lambda line: None)
    results = []
    for i in range(runs):
        if runs > 1:
            say(f"start {i + 1} of {runs}")
        if target == "docker":
            r = verify_mod.verify(bundle, cpu=cpu, timeout_s=timeout_s, env=env, progress=progress, measure=True)
        else:
            from dlgen import verify_targets

            run = verify_targets.verify_compose if target == "compose" else verify_targets.verify_swarm
            r = run(bundle, cpu=cpu, timeout_s=timeout_s, env=env, progress=progress, measure=True)
        if r.get("failure") or (r.get("ready_s") is None and r.get("healthy_s") is None):
            failure = r.get("failure") or {}
            raise DlgenError(f"start {i + 1} did not turn ready ({failure.get('stage', 'no readiness')}: "
                             f"{str(failure.get('error') or failure.get('cause') or '')[:200]})",
                             "fix the bundle until `dlgen verify` passes, or give a longer --timeout")
        results.append(r)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    source = (env or {}).get("MODEL_SOURCE") or _bundle_env(bundle, "MODEL_SOURCE") or "auto"
    return Measurement(results, host_facts(), when, target, device="cpu" if cpu else "gpu", model_source=source)


def _bundle_env(bundle: Path, key: str) -> str | None:
    """An ENV the bundle's Dockerfile sets (the value every run gets unless verify overrides it)."""
    from dlgen.sources import parse_dockerfile

    try:
        return parse_dockerfile((Path(bundle) / "Dockerfile").read_text()).env().get(key)
    except Exception:
        return None


# ------------------------------------------------------------------------------------ rewrite
def _seconds(text: str) -> float | None:
    return timing.parse_duration(text.strip())


def current_start_period(bundle: Path) -> tuple[int | None, bool]:
    """(the Dockerfile HEALTHCHECK's --start-period, whether it came from a measurement)."""
    lines = (bundle / "Dockerfile").read_text().splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"^HEALTHCHECK\b.*?--start-period=(\S+)", line)
        if m:
            value = _seconds(m.group(1))
            above = "\n".join(lines[max(0, i - 3):i])
            return (int(value) if value is not None else None), MEASURED_MARK in above
    return None, False


def _dockerfile(text: str, sp: int, m: Measurement, margin: float) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith("# Start period = "):
            line = f"# Start period = {sp} s: {m.load_s:.1f} s load x margin {margin:g}, {m.where()} " \
                   "(dlgen verify --write-timings).\n"
        elif line.startswith("HEALTHCHECK") and "--start-period=" in line:
            line = re.sub(r"--start-period=\S+", f"--start-period={sp}s", line, count=1)
        out.append(line)
    return "".join(out)


def _compose(text: str, sp: int, note: str) -> str:
    return re.sub(r"^(\s+start_period:\s*)\S+.*$", lambda m: f"{m.group(1)}{sp}s   # {note}", text, flags=re.M)


def _stack(text: str, sp: int, old_sp: int | None, note: str) -> str:
    cur = re.search(r"^\s+start_period:\s*(\S+)", text, flags=re.M)
    old_stack = _seconds(cur.group(1)) if cur else None
    download = max(0.0, (old_stack or 0) - (old_sp or 0))   # the budget a stack keeps for the download
    stack_sp = int(math.ceil(sp + download))
    interval = re.search(r"^\s+interval:\s*(\S+)", text, flags=re.M)
    retries = re.search(r"^\s+retries:\s*(\d+)", text, flags=re.M)
    monitor = timing.stack_monitor_s(stack_sp, int(retries.group(1)) if retries else timing.RETRIES,
                                     (_seconds(interval.group(1)) or timing.INTERVAL_S) if interval
                                     else timing.INTERVAL_S)
    what = note + (f" + {download:.0f} s for the download" if download else "")
    text = re.sub(r"^(\s+start_period:\s*)\S+.*$", lambda m: f"{m.group(1)}{stack_sp}s   # {what}", text, flags=re.M)
    return re.sub(r"^(\s+monitor:\s*)\S+.*$", lambda m: f"{m.group(1)}{monitor}s", text, flags=re.M)


def _k8s(text: str, sp: int, note: str) -> str:
    lines = text.splitlines(keepends=True)
    budget = None
    for i, line in enumerate(lines):
        if line.strip() == "startupProbe:":
            indent = len(line) - len(line.lstrip())
            block = []
            for j in range(i + 1, len(lines)):
                inner = lines[j]
                if inner.strip() and len(inner) - len(inner.lstrip()) <= indent:
                    break
                block.append(j)
            period = next((int(m.group(1)) for j in block
                           if (m := re.match(r"\s+periodSeconds:\s*(\d+)", lines[j]))), timing.K8S_STARTUP_PERIOD_S)
            failures = timing.k8s_startup_failures(sp, period)
            budget = (failures, period)
            for j in block:
                lines[j] = re.sub(r"^(\s+failureThreshold:\s*)\d+", rf"\g<1>{failures}", lines[j])
    if budget:
        failures, period = budget
        lines = [f"# startupProbe budget {failures * period} s ({failures} x {period} s) covers the {sp} s start "
                 f"period ({note}).\n" if ln.startswith("# startupProbe budget ") else ln for ln in lines]
    return "".join(lines)


def _readme(text: str, sp: int, note: str) -> str:
    return re.sub(rf"the start period is \d+ s( \({MEASURED_MARK} [^)]*\))?", f"the start period is {sp} s ({note})",
                  text, count=1)


def rewrite(bundle: Path, m: Measurement, margin: float | None = None, dry_run: bool = False,
            accept_test: bool = False) -> TuneResult:
    """Compute the measured start period and rewrite every file that carries it (or, with
    ``dry_run``, only say how). A test measurement (CPU, synthetic weights) is only recorded in
    timings.json unless ``accept_test``; then it is written and marked as such."""
    bundle = Path(bundle)
    consts = timing.Constants().override(margin=margin)
    sp = timing.start_period_for(m.load_s, consts)
    old_sp, measured_before = current_start_period(bundle)
    if old_sp is None:
        raise DlgenError(f"{bundle / 'Dockerfile'} has no HEALTHCHECK --start-period to size",
                         "this bundle kind has no health check (dev); nothing to write")
    out = TuneResult(m, sp, old_sp)
    if measured_before and abs(sp - old_sp) <= max(timing.MEASURE_TOLERANCE_S, timing.MEASURE_TOLERANCE * old_sp):
        out.kept = True
    elif not m.real and not accept_test:
        out.kept = True
        out.refused = (f"measured {m.test_kind()}: not the real model's start-up on a GPU, so no file of the bundle "
                       "changes (pass --accept-test-timings to write it anyway, marked as a test)")
    note = m.note()
    edits = {"Dockerfile": lambda t: _dockerfile(t, sp, m, consts.margin),
             "compose.yaml": lambda t: _compose(t, sp, note),
             "stack.yaml": lambda t: _stack(t, sp, old_sp, note),
             "k8s.yaml": lambda t: _k8s(t, sp, note),
             "README.md": lambda t: _readme(t, sp, note),
             "DEPLOY.md": lambda t: _readme(t, sp, note)}
    before: dict[str, str] = {}   # each file's text as read, for the diff and the manifest
    if not out.kept:
        for name, edit in edits.items():
            path = bundle / name
            if not path.is_file():
                continue
            old = before[name] = textfile.read_text(path).text
            new = edit(old)
            if new != old:
                out.changed[name] = new
                out.diffs.append("".join(difflib.unified_diff(old.splitlines(keepends=True),
                                                              new.splitlines(keepends=True), f"a/{name}", f"b/{name}")))
    record = timings_record(m, sp if not out.kept else old_sp, consts.margin,
                            accepted=accept_test and not m.real and not out.kept)
    out.changed[TIMINGS_FILE] = json.dumps(record, indent=2) + "\n"
    if not dry_run:
        from dlgen import ownership

        for name, text in out.changed.items():
            textfile.write_text(bundle / name, text)
            if name in before:   # still dlgen's file (where it was), for --force
                ownership.edited(bundle, name, before[name], text)
    return out


def timings_record(m: Measurement, start_period_s: int, margin: float, accepted: bool = False) -> dict:
    """timings.json: the phases of each start, what they ran on (device, model source, GPU, disk),
    whether it is a real measurement, what was written, and by which dlgen."""
    phases = ("build_s", "fetch_s", "first_log_s", "ready_s", "healthy_s", "failing_streak_max")
    return {"dlgen": __version__, "measured": m.when, "target": m.target, "device": m.device,
            "model_source": m.model_source, "real": m.real, **({"accepted": True} if accepted else {}),
            "host": m.host, "runs": [{k: r.get(k) for k in phases} for r in m.runs],
            "load_s": round(m.load_s, 2), "margin": margin, "start_period_s": start_period_s}


def report(made: TuneResult, dry_run: bool = False) -> str:
    """What --write-timings measured and wrote, for a person."""
    m = made.measurement
    runs = ", ".join(f"{r.get('ready_s') if r.get('ready_s') is not None else r.get('healthy_s')} s" for r in m.runs)
    lines = [f"measured load {m.load_s:.1f} s ({len(m.runs)} start{'s' if len(m.runs) > 1 else ''}: {runs}; "
             f"{m.where()})"]
    if made.refused:
        lines.append(f"start period stays {made.previous_s} s: {made.refused}; only {TIMINGS_FILE} records the runs")
    elif made.kept:
        lines.append(f"start period stays {made.previous_s} s: the new {made.start_period_s} s is within "
                     f"{timing.MEASURE_TOLERANCE_S} s / {timing.MEASURE_TOLERANCE:.0%} of the earlier measurement "
                     f"(only {TIMINGS_FILE} records the new runs)")
    else:
        lines.append(f"start period {made.previous_s} s -> {made.start_period_s} s")
    if dry_run:
        lines += [d.rstrip("\n") for d in made.diffs] or ["(no change)"]
        lines.append("dry run: nothing written")
    else:
        lines.append("wrote " + ", ".join(sorted(made.changed)))
    return "\n".join(lines)
