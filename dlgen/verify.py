"""dlgen verify: build a bundle on a real Docker engine, run it with its own RunSpec, and time
readiness, Docker's health status and a clean stop.

Docker facts used (Docker's `docker container stop` and HEALTHCHECK reference): health states,
stop = SIGTERM then SIGKILL after the grace period, 137 = killed, 143 = SIGTERM honoured. An
engine without an NVIDIA runtime refuses `--gpus` and a daemon with a lower memlock limit
refuses `--ulimit memlock=-1`: `--cpu` drops both.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

from dlgen.engine import MIN_ENGINE, client  # noqa: F401  (re-exported for callers)
from dlgen.errors import DlgenError
from dlgen.runspec import RunSpec
from dlgen.textfile import process_alive

POLL_S = 0.2
STOP_GRACE_S = 10        # docker stop's default grace period (Docker docs, `docker container stop --timeout`)
LOG_LINES = 20
SETTLE_S = 3.0           # a container without a health check or endpoint counts once it runs this long
PROGRESS_S = 10.0        # a progress line at least this often while verify waits


# ---------------------------------------------------------------------------- the bundle
FETCH_LABEL = "ai.dlgen.phase"   # the fetch phase's container carries ai.dlgen.phase=fetch


def bundle_phases(bundle: Path) -> tuple[RunSpec | None, RunSpec]:
    """(the fetch container, the server container) that the bundle's run.sh starts (compose.yaml's
    services when there is no run.sh); no fetch container: None."""
    from dlgen.sources import compose_services, run_lines

    specs: list[RunSpec] = []
    run_sh = bundle / "run.sh"
    if run_sh.is_file():
        specs = run_lines(run_sh.read_text(), "shell")
    if not specs and (bundle / "compose.yaml").is_file():
        from dlgen.sources import SourceError

        try:
            specs = compose_services((bundle / "compose.yaml").read_text())
        except SourceError as exc:
            raise DlgenError(f"{bundle / 'compose.yaml'}: {exc}", "fix compose.yaml or regenerate the bundle") from None
    fetch = [s for s in specs if s.labels.get(FETCH_LABEL) == "fetch"]
    servers = [s for s in specs if s.labels.get(FETCH_LABEL) != "fetch"]
    if not servers:
        raise DlgenError(f"{bundle}: no run.sh or compose.yaml with a container to run",
                         "point dlgen verify at a directory written by dlgen new")
    return (fetch[0] if fetch else None), servers[0]


def bundle_run_spec(bundle: Path) -> RunSpec:
    """The RunSpec of the bundle's server container (run.sh's, else compose.yaml's first service)."""
    return bundle_phases(bundle)[1]


def readiness(bundle: Path) -> tuple[int | None, str | None]:
    """(container port, readiness path) from the Dockerfile's dlgen labels and EXPOSE."""
    from dlgen import reference
    from dlgen.sources import parse_dockerfile

    doc = parse_dockerfile((bundle / "Dockerfile").read_text(), str(bundle / "Dockerfile"))
    labels = doc.labels()
    preset = reference.servers()["servers"].get(labels.get("ai.dlgen.server", ""), {})
    ports = doc.exposed_ports()
    path = labels.get("ai.dlgen.readiness") or preset.get("readiness") or None   # an app's own path first
    port = ports[0] if ports else (preset.get("port") or None)
    return (port, path) if path and port else (None, None)


def run_name(tag: str) -> str:
    """The name of one verify run: its container, compose project and Swarm stack."""
    return f"dlgen-verify-{tag}"


def volume_name(tag: str, key: str) -> str:
    """verify's own volume for the bundle's volume ``key``: never the bundle's (the user's weights)."""
    return f"{run_name(tag)}-{key}"


def image_name(bundle: Path, tag: str) -> str:
    """verify's own tag for the bundle's image, never the bundle's ``<name>:latest`` (maybe the user's)."""
    return f"dlgen-verify/{re.sub(r'[^a-z0-9_.-]', '-', Path(bundle).name.lower()) or 'bundle'}:{tag}"


def prepare(spec: RunSpec, image: str, tag: str, cpu: bool, env: dict | None = None,
            labels: dict | None = None, volume_tag: str | None = None,
            name: str | None = None) -> tuple[dict, list[str]]:
    """SDK keyword arguments for a verify container, and the names of the volumes it needs: one per
    volume name in the bundle (the fetch and the server share the cache), ``dlgen-verify-<run>-<name>``
    (``volume_tag`` names an earlier kept run whose volumes are used instead)."""
    if env:
        spec = replace(spec, env={**spec.env, **env})
    if spec.user and "$" in spec.user:  # run.sh's ${RUN_AS:-uid:gid}: verify runs as the default
        spec = replace(spec, user=shell_default(spec.user))
    if cpu:
        spec = spec.without_gpus()
        spec = replace(spec, ulimits={k: v for k, v in spec.ulimits.items() if k != "memlock"})
    volumes, made = [], []
    for i, v in enumerate(spec.volumes):
        key = re.sub(r"[^a-zA-Z0-9_.-]", "-", v.source.strip("./")) or str(i) if v.kind == "volume" else str(i)
        vname = volume_name(volume_tag or tag, key)   # fresh volumes: no state from an earlier run
        made.append(vname)
        volumes.append(replace(v, source=vname, kind="volume"))
    spec = replace(spec, image=image, name=name or run_name(tag), volumes=volumes, remove=False,
                   labels={**spec.labels, "ai.dlgen.test": "1", "ai.dlgen.verify": tag, **(labels or {})})
    kw = spec.sdk_kwargs()
    if spec.ports:  # a free host port on the loopback interface: never collides with a running server
        kw["ports"] = {f"{p.container}/{p.protocol}": ("127.0.0.1", None) for p in spec.ports}
    return kw, made


def shell_default(word: str) -> str:
    """``${VAR:-default}`` as the shell expands it where VAR is unset: the default."""
    m = re.fullmatch(r"\$\{\w+:-([^}]*)\}", word)
    return m.group(1) if m else word


# ---------------------------------------------------------------------------- probing
def http_status(port: int, path: str, timeout: float = 1.0, host: str = "127.0.0.1") -> int | None:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException):
        return None


def host_port(container, port: int) -> int | None:
    ports = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    for binding in ports.get(f"{port}/tcp") or []:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return None


def health_log(state: dict, last: int = 5) -> list[dict]:
    log = ((state.get("Health") or {}).get("Log") or [])[-last:]
    return [{"exit_code": e.get("ExitCode"), "output": (e.get("Output") or "").strip()[-500:]} for e in log]


def diagnosis(container) -> dict:
    """What a failed container tells: exit code, OOM kill, health log, last log lines."""
    container.reload()
    state = container.attrs.get("State") or {}
    try:
        logs = container.logs(tail=LOG_LINES).decode("utf-8", "replace").splitlines()
    except Exception:
        logs = []
    return {"status": state.get("Status"), "exit_code": state.get("ExitCode"), "oom_killed": state.get("OOMKilled"),
            "error": state.get("Error") or None, "restart_count": container.attrs.get("RestartCount", 0),
            "health_status": (state.get("Health") or {}).get("Status"), "health_log": health_log(state),
            "log_tail": logs}


# ---------------------------------------------------------------------------- verify
def verify(bundle: Path, cpu: bool = False, keep: bool = False, timeout_s: float | None = None,
           progress=None, env: dict | None = None, volumes_of: str | None = None,
           fetch_timeout_s: float = 3600, measure: bool = False) -> dict:
    """Build, fetch, run, time and stop one bundle; the result dict is what --format json prints.
    ``volumes_of``: the run id of an earlier ``--keep`` run whose volumes (the cache) this run uses."""
    shown, bundle = str(bundle), Path(bundle).resolve()   # resolved once: nothing below depends on the cwd
    if not (bundle / "Dockerfile").is_file():
        raise DlgenError(f"{bundle}: no Dockerfile", "point dlgen verify at a directory written by dlgen new")
    if volumes_of is not None and not re.fullmatch(r"[0-9a-f]{10}", volumes_of):
        raise DlgenError(f"--volumes-of {volumes_of!r} is not a verify run id",
                         "give the run_id an earlier `dlgen verify --keep` printed")
    fetch_spec, spec = bundle_phases(bundle)
    port, path = readiness(bundle)
    c = client()
    say = progress or (lambda line: None)
    tag = uuid.uuid4().hex[:10]
    image = image_name(bundle, tag)
    result: dict = {"bundle": shown, "image": image, "cpu": cpu, "healthy": False, "ready_s": None,
                    "healthy_s": None, "health_lag_s": None, "stop_exit_code": None, "stop_s": None,
                    "build_s": None, "fetch_s": None, "fetch_exit_code": None, "readiness_url": None,
                    "failure": None}
    clean(c, say=say)   # what a killed run (SIGKILL: no clean-up of its own) left behind
    owned = Owned(c, tag, bundle, image, keep)
    result["run_id"] = tag
    with cleaned_up(owned, keep, say, "container and volumes"):
        t = time.monotonic()
        error = build_image(bundle, image, owned.labels, say)
        if error is None and fetch_spec is not None and (bundle / FETCH_DOCKERFILE).is_file():
            fetch_image = fetch_image_name(image)   # the server's image has no Python: a small image fetches
            error = build_image(bundle, fetch_image, owned.labels, say, FETCH_DOCKERFILE)
        else:
            fetch_image = image
        if error is not None:
            result["failure"] = {"stage": "build", "error": error}
            return result
        result["build_s"] = round(time.monotonic() - t, 2)
        kw, volumes = prepare(spec, image, tag, cpu, env, owned.labels, volumes_of)
        if volumes_of is None:
            for name in volumes:   # created here, labelled, so a failed run cannot leave an unlabelled one
                c.volumes.create(name=name, labels=owned.labels)
        else:
            missing = [v for v in volumes if not c.volumes.list(filters={"name": f"^{v}$"})]
            if missing:
                raise DlgenError(f"--volumes-of {volumes_of}: volume {missing[0]} is not on this engine",
                                 "keep the earlier run with --keep, or leave --volumes-of out")
        if fetch_spec is not None:
            fetched = run_fetch(c, fetch_spec, fetch_image, tag, cpu, env, owned.labels, volumes_of, fetch_timeout_s,
                                say)
            result.update(fetched)
            if fetched.get("failure"):
                return result
        deadline_s = timeout_s or (image_start_period(c, image) + 60)
        try:
            container = c.containers.run(**kw)   # a container created but not started is found by its label
        except Exception as exc:  # docker refuses the run configuration (exit 125 territory)
            error = str(getattr(exc, "explanation", exc))
            result["failure"] = {"stage": "run", "error": error}
            if "could not select device driver" in error:
                result["failure"]["error"] = f"no GPU runtime on this host: use --cpu to test without GPUs ({error})"
                result["failure"]["hint"] = ("use --cpu to test without GPUs, or run on a GPU host with the "
                                             "NVIDIA Container Toolkit")
            return result
        result["container"] = container.name
        watch(lambda: container, port, path, deadline_s, say, result, measure=measure)
    return result


def fetch_hint(env: dict | None) -> dict:
    """The way out of a failed download on a machine that cannot reach the model hub."""
    if (env or {}).get("MODEL_SOURCE"):
        return {}
    return {"hint": "the download failed: on a machine without the weights or the model hub, add "
                    "-e MODEL_SOURCE=synthetic (random weights, nothing downloaded); for a gated model set HF_TOKEN"}


FETCH_DOCKERFILE = "Dockerfile.fetch"   # the fetch image, for servers whose image has no Python


def fetch_image_name(image: str) -> str:
    """verify's tag for the bundle's fetch image, beside the server's."""
    repo, _, tag = image.rpartition(":")
    return f"{repo}-fetch:{tag}"


def build_image(bundle: Path, image: str, labels: dict, say, dockerfile: str = "Dockerfile") -> str | None:
    """Build as run.sh builds: `docker build` with BuildKit (which leaves no intermediate images; a
    `# syntax=` directive would make it pull a frontend). None, or the build's error lines."""
    import os
    import shutil
    import subprocess

    docker = shutil.which("docker")
    if not docker:
        raise DlgenError("the docker CLI is not installed", "install Docker (verify builds as run.sh does, "
                                                            "with docker build)")
    cmd = [docker, "build", "--progress=plain", "-t", image, "-f", str(bundle / dockerfile),
           *(f"--label={k}={v}" for k, v in labels.items()), str(bundle)]
    tail: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                          env={**os.environ, "DOCKER_BUILDKIT": "1"}) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                say(line.rstrip())
                tail = [*tail[-29:], line.rstrip()]
        except BaseException:  # Ctrl-C: the client ends, and BuildKit cancels the build with it
            proc.kill()
            raise
    if proc.returncode == 0:
        return None
    errors = [line for line in tail if "ERROR" in line or "error" in line.lower()]
    return "\n".join(errors[-8:] or tail[-8:]) or f"docker build exited {proc.returncode}"


def stop_signal_number(container) -> int:
    """The signal `docker stop` sends this container (its StopSignal, SIGTERM by default)."""
    import signal

    name = str((container.attrs.get("Config") or {}).get("StopSignal") or "SIGTERM").upper()
    try:
        return int(name) if name.isdigit() else int(signal.Signals[name if name.startswith("SIG") else f"SIG{name}"])
    except (KeyError, ValueError):
        return int(signal.SIGTERM)


def progress_line(state: dict, hp: int | None, path: str | None, result: dict) -> str:
    """Where a waiting run stands: Docker's health status, the last probe, the readiness endpoint."""
    health = state.get("Health") or {}
    parts = [f"health {health.get('Status') or state.get('Status') or 'unknown'}"]
    log = health.get("Log") or []
    if log:
        last = log[-1]
        out = (last.get("Output") or "").strip().splitlines()
        parts.append(f"last probe exit {last.get('ExitCode')}" + (f" ({out[-1][:120]})" if out else ""))
    else:
        parts.append("no probe run yet")
    if hp and path:
        code = http_status(hp, path)
        parts.append(f"{path} {'answered ' + str(code) if code else 'not answering'}"
                     if result.get("ready_s") is None else f"{path} ready")
    return "; ".join(parts)


def watch(current, port: int | None, path: str | None, deadline_s: float, say, result: dict,
          host: str = "127.0.0.1", measure: bool = False) -> None:
    """Poll the running container (``current()``: it, or None while an orchestrator has not started
    it yet) until Docker reports it healthy and the readiness endpoint answers 200, it fails, or the
    deadline passes; then stop it and time the stop. Fills ``result``, also with the first log line's
    time (``first_log_s``) and the longest run of failed probes Docker counted (``failing_streak_max``:
    0 when every failure fell inside the start period). ``measure``: a start-up is being measured
    (verify --write-timings), so an unhealthy status while it loads is noted, not the end."""
    t0 = time.monotonic()
    hp = None
    container = None
    next_note = PROGRESS_S
    result.setdefault("first_log_s", None)
    result["failing_streak_max"] = 0
    while time.monotonic() - t0 < deadline_s:
        container = current()
        if container is None:
            if time.monotonic() - t0 >= next_note:
                say(f"waiting {time.monotonic() - t0:.0f} s of {deadline_s:.0f} s: no container started yet")
                next_note += PROGRESS_S
            time.sleep(POLL_S)
            continue
        container.reload()
        state = container.attrs.get("State") or {}
        elapsed = time.monotonic() - t0
        if elapsed >= next_note:
            say(f"waiting {elapsed:.0f} s of {deadline_s:.0f} s: {progress_line(state, hp, path, result)}")
            next_note += PROGRESS_S
        if port and hp is None:
            hp = result.get("published_port") or host_port(container, port)
            if hp:
                result["readiness_url"] = f"http://{host}:{hp}{path}"
        if hp and path and result["ready_s"] is None and http_status(hp, path, host=host) == 200:
            result["ready_s"] = round(time.monotonic() - t0, 2)
            say(f"ready after {result['ready_s']} s ({path} answered 200)")
        if result["first_log_s"] is None and container.logs(tail=1):
            result["first_log_s"] = round(elapsed, 2)
        status = (state.get("Health") or {}).get("Status")
        result["failing_streak_max"] = max(result["failing_streak_max"],
                                           int((state.get("Health") or {}).get("FailingStreak") or 0))
        if status == "healthy" and result["healthy_s"] is None:
            result["healthy_s"] = round(elapsed, 2)
            say(f"healthy after {result['healthy_s']} s")
        if status == "unhealthy" and measure:
            if not result.get("unhealthy_while_loading_s"):
                result["unhealthy_while_loading_s"] = round(elapsed, 2)
                say(f"unhealthy after {elapsed:.0f} s, still loading: the start period is too short (measuring on)")
            if result["ready_s"] is not None:
                break
        elif status == "unhealthy":
            result["failure"] = {"stage": "health", **diagnosis(container)}
            break
        if state.get("Status") in ("exited", "dead") or (state.get("Restarting")):
            result["failure"] = {"stage": "start", **diagnosis(container)}
            break
        if result["healthy_s"] is not None and (result["ready_s"] is not None or not hp):
            break
        if not state.get("Health") and not path and state.get("Running") and elapsed >= SETTLE_S:
            # nothing to probe (a dev shell): it counts once it has kept running this long
            result["running_s"] = round(elapsed, 2)
            say(f"no health check: still running after {result['running_s']} s")
            break
        time.sleep(POLL_S)
    else:
        result["failure"] = {"stage": "timeout", "timeout_s": deadline_s,
                             **(diagnosis(container) if container is not None else {"error": "never started"})}
    if measure and result["failure"] is None and result["ready_s"] is None and result.get("unhealthy_while_loading_s"):
        result["failure"] = {"stage": "health", **diagnosis(container)}
    result["healthy"] = (result["healthy_s"] is not None or result.get("running_s") is not None) \
        and result["failure"] is None
    if result["ready_s"] is not None and result["healthy_s"] is not None:
        result["health_lag_s"] = round(result["healthy_s"] - result["ready_s"], 2)
    if container is None:
        return
    container.reload()
    if (container.attrs.get("State") or {}).get("Running"):
        t = time.monotonic()
        container.stop(timeout=STOP_GRACE_S)
        result["stop_s"] = round(time.monotonic() - t, 2)
        container.reload()
        result["stop_exit_code"] = (container.attrs.get("State") or {}).get("ExitCode")
        say(f"stopped in {result['stop_s']} s, exit code {result['stop_exit_code']}")
        expected = {0, 143, 128 + stop_signal_number(container)}   # ended by the signal docker stop sent
        if result["stop_exit_code"] not in expected and result["failure"] is None:
            result["failure"] = {"stage": "stop", "error": f"docker stop ended with exit code "
                                 f"{result['stop_exit_code']} (0 or 143 expected: SIGTERM not handled?)"}
            result["healthy"] = False


def image_start_period(c, image: str) -> float:
    """The HEALTHCHECK start period (seconds) an image carries, 0 without one."""
    health = c.api.inspect_image(image)["Config"].get("Healthcheck") or {}
    return (health.get("StartPeriod") or 0) / 1e9


def run_fetch(c, fetch_spec: RunSpec, image: str, tag: str, cpu: bool, env: dict | None, labels: dict,
              volumes_of: str | None, timeout_s: float, say) -> dict:
    """Run the bundle's fetch container to completion: its duration and exit code, or a failure
    (with the hint on a model hub that cannot be reached)."""
    out = _fetch(c, fetch_spec, image, tag, cpu, env, labels, volumes_of, timeout_s, say)
    if out.get("failure"):
        out["failure"] = {**out["failure"], **fetch_hint(env)}
    return out


def _fetch(c, fetch_spec: RunSpec, image: str, tag: str, cpu: bool, env: dict | None, labels: dict,
           volumes_of: str | None, timeout_s: float, say) -> dict:
    kw, _ = prepare(fetch_spec, image, tag, cpu, env, labels, volumes_of, name=f"{run_name(tag)}-fetch")
    kw.pop("ports", None)
    kw["healthcheck"] = {"test": ["NONE"]}   # the image's HEALTHCHECK probes a server the fetch does not run
    say("fetching the weights into the cache volume")
    t0 = time.monotonic()
    try:
        container = c.containers.run(**kw)
    except Exception as exc:
        return {"failure": {"stage": "fetch", "error": str(getattr(exc, "explanation", exc))}}
    try:
        code = container.wait(timeout=timeout_s).get("StatusCode")
    except Exception:  # the wait timed out: a stalled download that its own timeouts did not end
        container.kill()
        return {"fetch_s": round(time.monotonic() - t0, 2),
                "failure": {**diagnosis(container), "stage": "fetch",
                            "error": f"the fetch did not finish in {timeout_s:.0f} s"}}
    out = {"fetch_s": round(time.monotonic() - t0, 2), "fetch_exit_code": code}
    say(f"fetch finished in {out['fetch_s']} s, exit code {code}")
    if code != 0:
        d = diagnosis(container)
        last = next((line for line in reversed(d["log_tail"]) if line.strip()), "")
        out["failure"] = {**d, "stage": "fetch", "error": f"the fetch exited {code}: {last}"}
    return out


class Owned:
    """Everything one verify run puts on the engine, and its removal on every way out.

    The image, the container and the volumes carry the labels ``ai.dlgen.verify=<run id>`` and
    ``ai.dlgen.verify.bundle=<bundle path>`` (BuildKit builds leave no intermediate images).
    Removal finds containers and volumes by label, so one created by a run that then failed to
    start is removed too, and it runs with Ctrl-C and SIGTERM ignored so a second interrupt cannot
    cut it short. Nothing another run or user made is touched."""

    def __init__(self, client, tag: str, bundle: Path, image: str, keep: bool = False):
        self.client, self.tag, self.image = client, tag, image
        self.labels = run_labels(tag, bundle, keep)

    def remove_all(self, say=None) -> None:
        shielded(*self._actions(f"ai.dlgen.verify={self.tag}"))

    def _actions(self, label: str):
        c = self.client
        yield lambda: [ct.remove(force=True, v=True) for ct in c.containers.list(all=True, filters={"label": label})]
        # a create that an interrupt cut off on this side can still finish on the engine's: look again
        yield lambda: time.sleep(1)
        yield lambda: [ct.remove(force=True, v=True) for ct in c.containers.list(all=True, filters={"label": label})]
        yield lambda: [n.remove() for n in c.networks.list(filters={"label": label})]
        yield lambda: c.images.remove(self.image, force=True)
        yield lambda: [v.remove(force=True) for v in c.volumes.list(filters={"label": label})]
        yield lambda: [i.id and c.images.remove(i.id, force=True)
                       for i in c.images.list(all=True, filters={"label": label})]

    def left(self) -> dict:
        """What of this run is still on the engine (empty after remove_all)."""
        c, label = self.client, f"ai.dlgen.verify={self.tag}"
        return {"containers": [x.name for x in c.containers.list(all=True, filters={"label": label})],
                "volumes": [v.name for v in c.volumes.list(filters={"label": label})],
                "images": [i.id for i in c.images.list(all=True, filters={"label": label})],
                "networks": [n.name for n in c.networks.list(filters={"label": label})]}


@contextlib.contextmanager
def cleaned_up(owned: Owned, keep: bool, say, kept: str):
    """What a verify run made is removed on every way out (Ctrl-C and SIGTERM included), unless kept."""
    restore = _term_as_interrupt()
    try:
        yield
    except KeyboardInterrupt:
        say("interrupted: removing what this verify run created (further Ctrl-C is ignored until done)")
        raise
    finally:
        restore()
        if not keep:
            owned.remove_all(say)
        else:
            say(f"kept: image {owned.image}, {kept} of run {owned.tag} (label ai.dlgen.verify={owned.tag}); "
                "remove them with `dlgen verify --clean`")


def run_labels(tag: str, bundle: Path, keep: bool = False) -> dict[str, str]:
    """The labels on everything one verify run creates: its run id, the bundle, and who runs it
    (this host's name and the verify process), so a run killed before its clean-up (SIGKILL) is
    found and removed by the next verify or `dlgen verify --clean`; ``keep``: left on purpose."""
    import os
    import socket

    return {"ai.dlgen.test": "1", "ai.dlgen.verify": tag, "ai.dlgen.verify.bundle": str(Path(bundle).resolve()),
            "ai.dlgen.verify.host": socket.gethostname(), "ai.dlgen.verify.pid": str(os.getpid()),
            **({"ai.dlgen.verify.keep": "1"} if keep else {})}


def shielded(*actions) -> None:
    """Run clean-up actions to the end with Ctrl-C and SIGTERM ignored (a second interrupt cannot
    cut a clean-up short); an action that fails does not stop the others."""
    import signal
    import threading

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, signal.SIG_IGN)
    try:
        for action in actions:
            try:
                action()
            except Exception:
                pass
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def stale_runs(c, include_kept: bool = False) -> set[str]:
    """Run ids of verify runs on this engine whose verify process on this host is gone (killed
    before its clean-up); ``include_kept``: also the runs left with --keep."""
    import socket

    host = socket.gethostname()
    found: dict[str, dict] = {}
    listings = [lambda: c.containers.list(all=True, filters={"label": "ai.dlgen.verify"}),
                lambda: c.volumes.list(filters={"label": "ai.dlgen.verify"}),
                lambda: c.images.list(all=True, filters={"label": "ai.dlgen.verify"}),
                lambda: c.networks.list(filters={"label": "ai.dlgen.verify"})]
    for listing in listings:
        try:
            items = listing()
        except Exception:
            continue
        for item in items:
            labels = (item.attrs.get("Config") or {}).get("Labels") or item.attrs.get("Labels") or {}
            tag = labels.get("ai.dlgen.verify")
            if tag:
                found.setdefault(tag, labels)
    stale = set()
    for tag, labels in found.items():
        if labels.get("ai.dlgen.verify.host") != host or not str(labels.get("ai.dlgen.verify.pid", "")).isdigit():
            continue   # another machine's run, or one made before runs carried their process
        if labels.get("ai.dlgen.verify.keep") == "1" and not include_kept:
            continue
        if not process_alive(int(labels["ai.dlgen.verify.pid"])):
            stale.add(tag)
    return stale


def docker_cli() -> str:
    docker = shutil.which("docker")
    if not docker:
        raise DlgenError("the docker CLI is not installed", "install Docker (the CLI with compose) on this host")
    return docker


def remove_stack(c, docker: str, stack: str, wait_s: float = 60) -> None:
    """docker stack rm, then wait until its containers are gone and remove its volumes and networks."""
    subprocess.run([docker, "stack", "rm", stack], capture_output=True)
    label = f"com.docker.stack.namespace={stack}"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and c.containers.list(all=True, filters={"label": label}):
        time.sleep(0.5)
    for container in c.containers.list(all=True, filters={"label": label}):
        container.remove(force=True, v=True)
    for volume in c.volumes.list(filters={"label": label}):
        for _ in range(20):
            try:
                volume.remove(force=True)
                break
            except Exception:
                time.sleep(0.5)
    for network in c.networks.list(filters={"label": label}):
        try:
            network.remove()
        except Exception:
            pass


def remove_run(c, tag: str) -> None:
    """Remove everything of one verify run: its containers, swarm stack, images, volumes, networks."""
    label = f"ai.dlgen.verify={tag}"
    project = {"label": f"com.docker.compose.project={run_name(tag)}"}
    stack = run_name(tag)

    def services():
        try:
            if c.services.list(filters={"label": f"com.docker.stack.namespace={stack}"}):
                remove_stack(c, docker_cli(), stack)
        except Exception:
            pass

    shielded(
        services,
        lambda: [x.remove(force=True, v=True) for x in c.containers.list(all=True, filters={"label": label})],
        lambda: [x.remove(force=True, v=True) for x in c.containers.list(all=True, filters=project)],
        lambda: [c.images.remove(i.id, force=True) for i in c.images.list(all=True, filters={"label": label})],
        lambda: [v.remove(force=True) for v in c.volumes.list(filters={"label": label})],
        lambda: [v.remove(force=True) for v in c.volumes.list(filters=project)],
        lambda: [n.remove() for n in c.networks.list(filters={"label": label})],
        lambda: [n.remove() for n in c.networks.list(filters=project)],
    )


def clean(c, include_kept: bool = False, say=None) -> list[str]:
    """Remove the leftovers of verify runs whose process is gone; the run ids removed."""
    say = say or (lambda line: None)
    gone = sorted(stale_runs(c, include_kept))
    for tag in gone:
        remove_run(c, tag)
        say(f"removed what verify run {tag} left (its process is gone)")
    return gone


def _term_as_interrupt():
    """Turn SIGTERM and SIGINT into KeyboardInterrupt while verify runs (so its clean-up runs); returns
    the undo. SIGINT too: a process started in the background by a shell without job control
    (`cmd &` in a script, CI runners) inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt, so Ctrl-C (or `kill -INT`) would not stop verify at all."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_term(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term)
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)

    def undo():
        signal.signal(signal.SIGTERM, old)
        signal.signal(signal.SIGINT, old_int)
    return undo


def text_report(r: dict) -> str:
    lines = [f"dlgen verify {r['bundle']} ({'CPU, GPU requests dropped' if r['cpu'] else 'as generated'}"
             f"{', ' + r['target'] if r.get('target') else ''})"]
    for warning in r.get("warnings") or []:
        lines.append(f"  warning from the engine: {warning}")
    if r["build_s"] is not None:
        lines.append(f"  built in {r['build_s']} s")
    if r.get("fetch_s") is not None:
        lines.append(f"  fetched the weights in {r['fetch_s']} s (exit code {r['fetch_exit_code']})")
    fmt = lambda v: "-" if v is None else f"{v} s"  # noqa: E731
    if r.get("running_s") is not None:
        lines.append(f"  no health check; running after:   {r['running_s']} s")
    else:
        lines.append(f"  ready (first 200 from readiness): {fmt(r['ready_s'])}")
        lines.append(f"  healthy (Docker):                 {fmt(r['healthy_s'])}")
    if r["health_lag_s"] is not None:
        lines.append(f"  healthy - ready:                  {r['health_lag_s']} s")
    for node in r.get("nodes") or []:
        lines.append(f"  node {node['rank']} ({node['container']}): "
                     + (f"healthy after {node['healthy_s']} s" if node["healthy"] else "not healthy")
                     + (f", exit code {node['exit_code']}" if node["exit_code"] is not None else ""))
    if r.get("checkpoints") is not None:
        lines.append(f"  checkpoint folder: {' '.join(r['checkpoints']) or 'empty'}")
    if r["stop_s"] is not None:
        lines.append(f"  stop: exit code {r['stop_exit_code']} after {r['stop_s']} s")
    f = r.get("failure")
    if f:
        lines.append(f"  FAILED at {f['stage']}: " + (f.get("error") or f"status {f.get('status')}, exit code "
                                                     f"{f.get('exit_code')}, OOMKilled {f.get('oom_killed')}"))
        if f.get("hint"):
            lines.append(f"  hint: {f['hint']}")
        for e in f.get("health_log") or []:
            lines.append(f"    probe exit {e['exit_code']}: {e['output'].splitlines()[-1] if e['output'] else ''}")
        for line in (f.get("log_tail") or [])[-10:]:
            lines.append(f"    | {line}")
    else:
        ok = "runs" if r.get("running_s") is not None else "turns healthy"
        lines.append(f"  OK: builds, {ok}, stops cleanly" if r["healthy"] else "  not healthy")
    return "\n".join(lines)


def progress_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
