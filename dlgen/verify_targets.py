"""dlgen verify --target compose|swarm: the bundle's compose.yaml through `docker compose`, or its
stack.yaml through `docker stack deploy` on the engine's swarm (a single-node swarm initialised for
the run, and left afterwards, when the engine had none). The same timings as the docker target
(verify.watch); everything the run creates is removed unless --keep.

Facts used: compose merges an override file given with a second -f, and `!reset` / `!override`
drop or replace a value (Compose file merge reference); a stack's containers, networks and
volumes carry the label com.docker.stack.namespace (docker stack deploy); a swarm publishes a
port on every node through the routing mesh, a free one when `published` is left out.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from dlgen.errors import DlgenError
from dlgen.verify import (  # noqa: F401  (remove_stack: the engine tests' name for it)
    STOP_GRACE_S,
    _term_as_interrupt,
    build_image,
    clean,
    diagnosis,
    docker_cli,
    fetch_hint,
    image_name,
    image_start_period,
    readiness,
    remove_run,
    remove_stack,
    run_labels,
    run_name,
    shielded,
    volume_name,
    watch,
)

WARNINGS = re.compile(r"Ignoring unsupported options|not supported|Ignoring deprecated", re.IGNORECASE)


def _result(bundle: Path, target: str, cpu: bool, tag: str) -> dict:
    return {"bundle": str(bundle), "target": target, "image": None, "cpu": cpu, "healthy": False, "ready_s": None,
            "healthy_s": None, "health_lag_s": None, "stop_exit_code": None, "stop_s": None, "build_s": None,
            "fetch_s": None, "fetch_exit_code": None, "readiness_url": None, "failure": None, "run_id": tag,
            "warnings": []}


def _deadline(timeout_s: float | None, start_period: float) -> float:
    return timeout_s or (start_period + 60)


# ---------------------------------------------------------------------------- compose
def _flow(value) -> str:
    return json.dumps(value)


def _scratch() -> Path:
    """A private folder (0700) outside every build context for the files a verify run writes."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="dlgen-verify-"))


def _run(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """A docker command in its own session: Ctrl-C at the terminal reaches verify, which then
    cleans up in order, not the half-done docker command."""
    import os

    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, start_new_session=True,
                          env={**os.environ, **(env or {})})


def compose_override(services: dict, server: str, tag: str, labels: dict, image: str, cpu: bool,
                     env_names: list[str], volumes: list[str], networks: list[str]) -> str:
    """The override verify layers over compose.yaml: verify's own labels and image name (never the
    bundle's own tag, which may be the user's image), environment values passed by name only (their
    values come from verify's environment, never from a file), a free loopback port, and for --cpu
    no GPU reservation or memlock limit."""
    lines = ["services:"]
    for name, svc in services.items():
        lines.append(f"  {name}:")
        lines.append(f"    labels: {_flow(labels)}")
        if svc.get("build"):
            lines.append(f"    image: {_flow(image)}")
            lines.append(f"    build: {{labels: {_flow(labels)}}}")
        if env_names:
            lines.append(f"    environment: {_flow(env_names)}")
        if name != server:
            continue
        lines.append("    container_name: !reset null")
        if svc.get("ports"):  # a free loopback port: never collides with a running server
            loopback = [f"127.0.0.1::{p['target']}" for p in svc["ports"]]
            lines.append(f"    ports: !override {_flow(loopback)}")
        if cpu:
            lines.append("    deploy: !reset {}")
            kept = {k: v for k, v in (svc.get("ulimits") or {}).items() if k != "memlock"}
            if "memlock" in (svc.get("ulimits") or {}):
                lines.append(f"    ulimits: !override {_flow(kept)}" if kept else "    ulimits: !reset {}")
    if volumes:   # verify's own volumes, never the bundle's named ones (the user's downloaded weights)
        lines.append("volumes:")
        lines += [f"  {_flow(n)}: {{name: {_flow(volume_name(tag, n))}, labels: {_flow(labels)}}}"
                  for n in volumes]
    if networks:
        lines.append("networks:")
        lines += [f"  {_flow(n)}: {{labels: {_flow(labels)}}}" for n in networks]
    return "\n".join(lines) + "\n"


def verify_compose(bundle: Path, cpu: bool = False, keep: bool = False, timeout_s: float | None = None,
                   env: dict | None = None, progress=None, measure: bool = False) -> dict:
    from dlgen.engine import client

    docker, say, c = docker_cli(), progress or (lambda line: None), client()
    shown, bundle = str(bundle), Path(bundle).resolve()   # resolved once, at the boundary
    tag = uuid.uuid4().hex[:10]
    project = run_name(tag)
    result = _result(Path(shown), "compose", cpu, tag)
    compose = bundle / "compose.yaml"
    if not compose.is_file():
        raise DlgenError(f"{bundle}: no compose.yaml", "point dlgen verify at a directory written by dlgen new")
    read = _run([docker, "compose", "-f", str(compose), "config", "--format", "json"], cwd=bundle)
    if read.returncode != 0:
        raise DlgenError(f"{compose}: docker compose cannot read it: {read.stderr.strip().splitlines()[-1:]}",
                         "fix compose.yaml or regenerate the bundle")
    config = json.loads(read.stdout)
    services = config["services"]
    server = next(n for n in services if not n.endswith("-fetch"))
    fetch = next((n for n in services if n.endswith("-fetch")), None)
    port, path = readiness(bundle)
    clean(c, say=say)
    labels = run_labels(tag, bundle, keep)
    image = image_name(bundle, tag)
    result["image"] = image
    scratch = _scratch()
    override = scratch / "compose.override.yaml"
    override.write_text(compose_override(services, server, tag, labels, image, cpu, sorted(env or {}),
                                         list(config.get("volumes") or {}), list(config.get("networks") or {})))
    base = [docker, "compose", "-p", project, "-f", str(compose), "-f", str(override)]
    restore = _term_as_interrupt()
    try:
        t = time.monotonic()
        built = _run([*base, "build"], cwd=bundle)
        if built.returncode != 0:
            result["failure"] = {"stage": "build", "error": (built.stderr or built.stdout)[-2000:]}
            return result
        result["build_s"] = round(time.monotonic() - t, 2)
        say(f"built in {result['build_s']} s")
        up = _run([*base, "up", "-d", "--no-build"], env=env, cwd=bundle)
        result["warnings"] = [line for line in up.stderr.splitlines() if WARNINGS.search(line)]
        if fetch:
            fc = _one(c, project, fetch)
            if fc is not None:
                fc.reload()
                st = fc.attrs["State"]
                result["fetch_exit_code"] = st.get("ExitCode")
                result["fetch_s"] = _duration(st.get("StartedAt"), st.get("FinishedAt"))
                if st.get("ExitCode"):
                    d = diagnosis(fc)
                    last = next((x for x in reversed(d["log_tail"]) if x.strip()), "")
                    result["failure"] = {**d, "stage": "fetch", "error": f"the fetch exited {st['ExitCode']}: {last}",
                                         **fetch_hint(env)}
                    return result
        if up.returncode != 0:
            result["failure"] = {"stage": "start", "error": up.stderr[-2000:]}
            return result
        container = _one(c, project, server)
        if container is None:
            result["failure"] = {"stage": "start", "error": f"compose started no {server} container"}
            return result
        result["container"] = container.name
        start_period = image_start_period(c, container.attrs["Image"])
        watch(lambda: container, port, path, _deadline(timeout_s, start_period), say, result,
              measure=measure)
        return result
    except KeyboardInterrupt:
        say("interrupted: removing what this verify run created (further Ctrl-C is ignored until done)")
        raise
    finally:
        restore()
        actions = [] if keep else [
            lambda: _run([*base, "down", "-v", "--remove-orphans", "--timeout", str(STOP_GRACE_S)], cwd=bundle),
            lambda: c.images.remove(image, force=True),
            lambda: remove_run(c, tag)]
        shielded(*actions, lambda: shutil.rmtree(scratch, ignore_errors=True))
        if keep:
            say(f"kept: compose project {project} and image {image}; remove them with `dlgen verify --clean`")


def _one(c, project: str, service: str):
    found = c.containers.list(all=True, filters={"label": [f"com.docker.compose.project={project}",
                                                           f"com.docker.compose.service={service}"]})
    return found[0] if found else None


def _duration(start: str | None, end: str | None) -> float | None:
    from datetime import datetime

    def parse(ts: str) -> datetime:
        head, _, frac = ts.rstrip("Z").partition(".")
        return datetime.fromisoformat(f"{head}.{(frac or '0')[:6]}+00:00")

    try:
        return round((parse(end or "") - parse(start or "")).total_seconds(), 2)
    except ValueError:
        return None


# ---------------------------------------------------------------------------- swarm
def verify_swarm(bundle: Path, cpu: bool = False, keep: bool = False, timeout_s: float | None = None,
                 env: dict | None = None, progress=None, measure: bool = False) -> dict:
    from ruamel.yaml import YAML

    from dlgen.engine import client

    docker, say, c = docker_cli(), progress or (lambda line: None), client()
    shown, bundle = str(bundle), Path(bundle).resolve()   # resolved once, at the boundary
    stack_file = bundle / "stack.yaml"
    if not stack_file.is_file():
        raise DlgenError(f"{bundle}: no stack.yaml", "regenerate the bundle with this dlgen (dev bundles have none)")
    tag = uuid.uuid4().hex[:10]
    stack = run_name(tag)
    result = _result(Path(shown), "swarm", cpu, tag)
    image = image_name(bundle, tag)
    result["image"] = image
    clean(c, say=say)
    labels = run_labels(tag, bundle, keep)
    created_swarm = False
    yaml = YAML(typ="safe", pure=True)
    doc = yaml.load(stack_file.read_text())
    (name, svc), = doc["services"].items()
    port, path = readiness(bundle)
    scratch = _scratch()   # the stack file verify deploys: outside the build context, values by name only
    tmp = scratch / "stack.yaml"
    restore = _term_as_interrupt()
    try:
        if (c.info().get("Swarm") or {}).get("LocalNodeState") != "active":
            init = _run([docker, "swarm", "init", "--advertise-addr", "127.0.0.1"])
            if init.returncode != 0:
                result["failure"] = {"stage": "swarm", "error": init.stderr.strip()[-1000:]}
                return result
            created_swarm = True
            say("initialised a single-node swarm for this run")
        t = time.monotonic()
        error = build_image(bundle, image, labels, say)
        if error is not None:
            result["failure"] = {"stage": "build", "error": error}
            return result
        result["build_s"] = round(time.monotonic() - t, 2)
        svc["image"] = image
        svc["labels"] = {**(svc.get("labels") or {}), **labels}
        svc.setdefault("deploy", {})["labels"] = {**(svc["deploy"].get("labels") or {}), **labels}
        if env:
            given = svc.get("environment") or []
            if isinstance(given, dict):
                given = [f"{k}={v}" if v is not None else k for k, v in given.items()]
            svc["environment"] = [*(e for e in given if str(e).partition("=")[0] not in env), *sorted(env)]
        if svc.get("ports"):  # published on this node only (host mode), on free ports: no collision, no mesh
            svc["ports"] = [{**p, "published": _free_port(), "mode": "host"} for p in svc["ports"]]
        elif port:   # the stack publishes nothing (the default): verify needs the readiness port for the run
            svc["ports"] = [{"target": port, "published": _free_port(), "protocol": "tcp", "mode": "host"}]
        if cpu:
            (svc.get("deploy") or {}).pop("resources", None)
            if svc.get("ulimits"):
                svc["ulimits"].pop("memlock", None)
                if not svc["ulimits"]:
                    del svc["ulimits"]
        for key, vol in list((doc.get("volumes") or {}).items()):   # verify's own volumes, never the bundle's
            doc["volumes"][key] = {**(vol or {}), "name": volume_name(tag, key),
                                   "labels": {**((vol or {}).get("labels") or {}), **labels}}
        with open(tmp, "w") as fh:
            yaml.dump(doc, fh)
        deploy = _run([docker, "stack", "deploy", "--detach=true", "-c", str(tmp), stack], env=env, cwd=bundle)
        result["warnings"] = [line for line in (deploy.stdout + deploy.stderr).splitlines() if WARNINGS.search(line)]
        if deploy.returncode != 0:
            result["failure"] = {"stage": "deploy", "error": deploy.stderr.strip()[-2000:]}
            return result
        service = f"{stack}_{name}"
        if port:
            result["published_port"] = next((p["published"] for p in svc.get("ports") or [] if p["target"] == port),
                                             None)
        start_period = float(re.sub(r"s$", "", str((svc.get("healthcheck") or {}).get("start_period") or "0s")))

        def current():
            for task in c.api.tasks(filters={"service": service, "desired-state": "running"}):
                cid = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
                if cid:
                    try:
                        return c.containers.get(cid)
                    except Exception:
                        return None
            return None

        watch(current, port, path, _deadline(timeout_s, start_period), say, result, measure=measure)
        return result
    except KeyboardInterrupt:
        say("interrupted: removing what this verify run created (further Ctrl-C is ignored until done)")
        raise
    finally:
        restore()
        actions = [] if keep else [lambda: remove_stack(c, docker, stack),
                                   lambda: c.images.remove(image, force=True),
                                   lambda: remove_run(c, tag)]
        if created_swarm and not keep:
            actions.append(lambda: _run([docker, "swarm", "leave", "--force"]))
        shielded(*actions, lambda: shutil.rmtree(scratch, ignore_errors=True))
        if keep:
            say(f"kept: stack {stack} and image {image}; remove them with `dlgen verify --clean`")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def left_by_stack(c, stack: str) -> dict:
    label = f"com.docker.stack.namespace={stack}"
    try:
        services = [s.name for s in c.services.list(filters={"label": label})]
    except Exception:  # not a swarm manager (any more): no services
        services = []
    return {"services": services,
            "containers": [x.name for x in c.containers.list(all=True, filters={"label": label})],
            "volumes": [v.name for v in c.volumes.list(filters={"label": label})],
            "networks": [n.name for n in c.networks.list(filters={"label": label})]}
