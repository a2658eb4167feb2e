"""`dlgen verify DIR --write-timings`: measure the bundle's real start-up on this host and write the
measured timings back into every file that carries them.

The measurement is verify's own (any --target): fetch, container start to first log line, ready
(first 200 from the readiness endpoint), healthy, over ``runs`` starts; the slowest ready time
counts. The new start period is timing.start_period_for(measured load) (margin x load, rounded up,
never below the minimum); every target (dlgen.targets) rewrites the files it owns with its
rendering of that one value (``Target.retime``, beside the code that wrote the file): the
Dockerfile's HEALTHCHECK, compose's and the stack's healthcheck (the stack's plus the download it
does itself, timing.with_download), the startup probes of Kubernetes objects, the README's sentence.

YAML is edited through ruamel's round-trip (comments, quoting and key order kept); every file is
written atomically through textfile.write_text; the measurement goes to timings.json, which `dlgen lint` prefers to the
estimate (DLG012, DLG121). A bundle already carrying a measured start period within
timing.MEASURE_TOLERANCE(_S) of the new one is left as it is.
"""

from __future__ import annotations

import datetime
import difflib
import json
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
from dlgen.targets import image as image_target
from dlgen.targets.image import MEASURED_MARK


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
    """Start the bundle ``runs`` times as `dlgen verify --target TARGET` does and keep each start's phases."""
    from dlgen import targets

    if runs < 1:
        raise DlgenError(f"--runs {runs} is not a number of starts", "give --runs 1 or more")
    chosen = targets.get(target)
    if chosen is None or chosen.verify is None:
        raise DlgenError(f"unknown --target {target!r}", f"use {', '.join(targets.verifiable())}")
    say = progress or (lambda line: None)
    results = []
    for i in range(runs):
        if runs > 1:
            say(f"start {i + 1} of {runs}")
        r = chosen.verify(Path(bundle), targets.VerifyOptions(cpu=cpu, timeout_s=timeout_s, env=dict(env or {}),
                                                              progress=progress, measure=True))
        if r.failure or (r.ready_s is None and r.healthy_s is None):
            failure = r.failure or {}
            raise DlgenError(f"start {i + 1} did not turn ready ({failure.get('stage', 'no readiness')}: "
                             f"{str(failure.get('error') or failure.get('cause') or '')[:200]})",
                             "fix the bundle until `dlgen verify` passes, or give a longer --timeout")
        results.append(r.report)
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
def current_start_period(bundle: Path) -> tuple[int | None, bool]:
    """(the Dockerfile HEALTHCHECK's --start-period, whether it came from a measurement)."""
    return image_target.current_start_period((Path(bundle) / "Dockerfile").read_text())


def stack_download_s(bundle: Path, old_sp: int | None) -> float:
    """The download a stack's first start does itself, as `dlgen new` planned it (the manifest's
    plan). A bundle from a dlgen that kept no plan: what its stack's start period holds beyond the
    Dockerfile's."""
    from dlgen import ownership

    plan = ownership.read_plan(bundle)
    if "stack_download_s" in plan:
        return float(plan["stack_download_s"])
    stack = bundle / "stack.yaml"
    if not stack.is_file():
        return 0.0
    m = re.search(r"^\s+start_period:\s*(\S+)", stack.read_text(), flags=re.M)
    old_stack = timing.parse_duration(m.group(1)) if m else None
    return max(0.0, (old_stack or 0) - (old_sp or 0))


def rewrite(bundle: Path, m: Measurement, margin: float | None = None, dry_run: bool = False,
            accept_test: bool = False) -> TuneResult:
    """Compute the measured start period and have every target rewrite the files it owns (or, with
    ``dry_run``, only say how). A test measurement (CPU, synthetic weights) is only recorded in
    timings.json unless ``accept_test``; then it is written and marked as such."""
    from dlgen import targets

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
    measured = targets.Retime(start_period_s=sp, load_s=m.load_s, margin=consts.margin, note=m.note(),
                              where=m.where(), download_s=stack_download_s(bundle, old_sp))
    before: dict[str, str] = {}   # each file's text as read, for the diff and the manifest
    for target in targets.all_targets() if not out.kept else []:
        retime = target.retime
        if retime is None:
            continue
        for name in target.owns:
            path = bundle / name
            if not path.is_file():
                continue
            old = before[name] = textfile.read_text(path).text
            try:
                new = retime(name, old, measured)
            except Exception as exc:   # a file edited into something its target cannot read
                raise DlgenError(f"{path}: cannot write the measured timings into it ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''})",
                                 "fix the file (or regenerate it with dlgen new --force) and measure again") from None
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
