"""stack.yaml: the bundle as a Docker Swarm stack (``docker stack deploy``).

Only keys Swarm honours: GPUs as a generic resource, /dev/shm as a tmpfs mount, the health check with
a start period that also covers the download (a stack cannot run a fetch phase first), rollback on a
failed update. ``verify --target swarm`` deploys it on the engine's swarm (dlgen.verify_targets).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from dlgen import timing, units
from dlgen.spec import DeploySpec
from dlgen.targets import Retime, Target, VerifyOptions, VerifyResult, register, yamltext
from dlgen.targets.compose import named_volumes

# Swarm names GPUs as a generic resource of this kind (the node's daemon.json lists them as
# node-generic-resources; NVIDIA Container Toolkit's swarm-resource setting, docs.docker.com
# "docker service create --generic-resource").
SWARM_GPU_KIND = "NVIDIA-GPU"
# /dev/shm for a kind that asks for the host IPC namespace, which services cannot have.
SWARM_IPC_HOST_SHM = "8g"


def _deploy(spec: DeploySpec) -> dict:
    policy = spec.restart or "no"
    name, _, count = policy.partition(":")
    deploy: dict = {"replicas": 1, "restart_policy": {"condition": {"no": "none", "on-failure": "on-failure"}
                                                      .get(name, "any")}}
    if count:
        deploy["restart_policy"]["max_attempts"] = int(count)
    if spec.kind != "train":  # a failed update (tasks unhealthy within the monitor window) rolls back
        # a task whose probe always fails turns unhealthy after the start period plus `retries`
        # intervals: the monitor window covers that, so such an update is rolled back
        t = spec.timing
        monitor = f"{timing.stack_monitor_s(spec.stack_start_period_s, t.retries, t.interval_s)}s"
        deploy["update_config"] = {"parallelism": 1, "order": "stop-first", "failure_action": "rollback",
                                   "monitor": monitor}
        deploy["rollback_config"] = {"parallelism": 1, "order": "stop-first", "monitor": monitor}
    if spec.gpu_count:
        deploy["resources"] = {"reservations": {"generic_resources": [
            {"discrete_resource_spec": {"kind": SWARM_GPU_KIND, "value": spec.gpu_count}}]}}
    return deploy


def document(spec: DeploySpec) -> dict:
    """The stack's one service."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Quoted

    run = spec.run_spec()
    svc: dict = {"image": run.image}
    env = [k if v is None else f"{k}={v}" for k, v in run.env.items() if k != "HF_HUB_OFFLINE"]
    if env:
        svc["environment"] = env
    if run.user:
        svc["user"] = run.user
    if run.ports and spec.publish_all:  # the routing mesh publishes on every interface of every node
        svc["ports"] = [{"target": p.container, "published": p.host or p.container, "protocol": p.protocol,
                         "mode": "ingress"} for p in run.ports]
    # Without --publish-all nothing is published: Swarm cannot bind a port to 127.0.0.1 (ingress and
    # host mode both listen on every interface), so the loopback-only default of run.sh and compose
    # becomes "reachable on the stack's network only"; the header says how to open it.
    # a bind source must exist on whichever node runs the task: the bundle's own folders
    # (./notebooks, ./runs) become named volumes there
    binds = {v.source: v.source.strip("./").replace("/", "-") for v in run.volumes
             if v.kind == "bind" and v.source.startswith("./")}
    run = replace(run, volumes=[replace(v, source=binds[v.source], kind="volume") if v.source in binds else v
                                for v in run.volumes])
    volumes: list = [Quoted(v.render()) if v.kind == "volume" else v.render() for v in run.volumes]
    shm = spec.shm_size or (SWARM_IPC_HOST_SHM if spec.ipc == "host" else None)
    if shm:  # services have no shm_size or ipc: a tmpfs at /dev/shm of the same size
        volumes.append({"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": int(units.size_bytes(shm) or 0)}})
    if volumes:
        svc["volumes"] = volumes
    if run.ulimits:
        svc["ulimits"] = run.compose_service()["ulimits"]
    health = spec.health()
    if health:
        svc["healthcheck"] = replace(health, start_period=spec.stack_start_period_s).compose()
    svc["deploy"] = _deploy(spec)
    svc["stop_grace_period"] = "30s"
    doc: dict = {"services": {spec.name: svc}}
    doc.update(named_volumes(spec, run.volumes))
    return doc


def _context(spec: DeploySpec, ctx: dict) -> dict[str, Any]:
    return {"stack": document(spec) if spec.kind != "dev" else None}


def _files(spec: DeploySpec, ctx: dict) -> dict[str, str]:
    # a stack gives its tasks no stable rank, which a group over several nodes needs (README)
    return {"stack.yaml": "stack.yaml.j2"} if spec.kind != "dev" and not spec.group else {}


def retime(path: str, text: str, r: Retime) -> str:
    """The start period (the measured one plus the download a stack still does on its first start,
    timing.with_download) and the update/rollback monitor window that follows from it."""
    if path != "stack.yaml":
        return text
    docs = yamltext.load_all(text)
    stack_sp = timing.with_download(r.start_period_s, r.load_s, r.download_s, r.margin)
    what = r.note + (f" + {r.download_s:.0f} s for the download" if r.download_s else "")
    for doc in docs:
        for svc in yamltext.mappings_with(doc, "healthcheck"):
            hc = svc["healthcheck"]
            if not isinstance(hc, dict) or "start_period" not in hc:
                continue
            yamltext.set_with_comment(hc, "start_period", f"{stack_sp}s", what)
            interval = timing.parse_duration(str(hc.get("interval", ""))) or timing.INTERVAL_S
            monitor = f"{timing.stack_monitor_s(stack_sp, int(hc.get('retries', timing.RETRIES)), interval)}s"
            deploy = svc.get("deploy") or {}
            for key in ("update_config", "rollback_config"):
                if isinstance(deploy.get(key), dict) and "monitor" in deploy[key]:
                    deploy[key]["monitor"] = monitor
    return yamltext.dump_all(docs)


def _verify(bundle: Path, o: VerifyOptions) -> VerifyResult:
    from dlgen import verify_targets

    return VerifyResult.from_report(verify_targets.verify_swarm(
        bundle, cpu=o.cpu, keep=o.keep, timeout_s=o.timeout_s, env=o.env, progress=o.progress, measure=o.measure))


TARGET = register(Target(key="swarm", title="docker stack deploy (stack.yaml) on a swarm", files=_files,
                         context=_context, retime=retime, verify=_verify, owns=("stack.yaml",)))
