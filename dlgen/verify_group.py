"""dlgen verify on a bundle whose run.sh starts one group over several nodes.

Every node runs as its own container on one engine network of this verify run, with the command
run.sh gives that node (its rank, the leader's address and group port filled in as run.sh fills them)
and the interface variables pointing at the network's interface: the group forms the way it forms
across hosts, over TCP between containers. ``-e LEADER_ADDR=HOST[:PORT]`` gives the nodes another
leader address (run.sh's own setting), e.g. to see what a wrong one does: the nodes' join timeout is
verify's short one, so the run fails in seconds with the nodes' own words. The report has one entry
per node (rank, container, healthy, exit code) under ``nodes``; a training group also lists what it
left in its shared checkpoint folder.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import replace
from pathlib import Path

from dlgen import verify as v
from dlgen.errors import DlgenError
from dlgen.runspec import Health, RunSpec
from dlgen.spec import CHECKPOINTS

# The join timeout (torchrun's rendezvous, run.sh's JOIN_TIMEOUT_S) on one engine: the nodes start
# together and nothing is downloaded in between, so a group that has not formed by then never will.
JOIN_TIMEOUT_S = 30
NET_IF = "eth0"          # a container's interface on a user-defined bridge network
_VAR = re.compile(r"\$\{(\w+)\}")
TRAIN_WAIT_S = 120        # from healthy (the first step begun) to the first steps logged
STEP_LINE = re.compile(r"\bstep (\d+) loss\b")
WORLD_LINE = re.compile(r"\brank 0 of (\d+) \(")


def group_size(bundle: Path) -> int | None:
    """The node count of a group bundle (run.sh's NODES=N), None for one host."""
    run_sh = Path(bundle) / "run.sh"
    if not run_sh.is_file():
        return None
    m = re.search(r"^NODES=(\d+)$", run_sh.read_text(), re.M)
    return int(m.group(1)) if m else None


def _group_port(text: str) -> str:
    m = re.search(r'^GROUP_PORT="\$\{GROUP_PORT:-(\d+)\}"$', text, re.M)
    if not m:
        raise DlgenError("run.sh names no group port (GROUP_PORT)", "regenerate the bundle with dlgen new")
    return m.group(1)


def _fill(word: str, values: dict[str, str]) -> str:
    return _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), word)


def node_spec(spec: RunSpec, values: dict[str, str], network: str) -> RunSpec:
    """A node's container as run.sh starts it, run.sh's variables filled in, on verify's network."""
    health = spec.health
    if health and health.test:
        health = replace(health, test=[_fill(w, values) for w in health.test])
    return replace(spec, command=[_fill(w, values) for w in spec.command],
                   entrypoint=[_fill(w, values) for w in spec.entrypoint] if spec.entrypoint else None,
                   env={k: (values.get(k) if val is None and k in values else val) for k, val in spec.env.items()},
                   volumes=[replace(vol, source=_fill(vol.source, values)) for vol in spec.volumes],
                   network=network, health=health)


def _roles(bundle: Path) -> tuple[RunSpec | None, RunSpec, RunSpec, str]:
    """(fetch, the leader's container, a worker's container, the default group port) from run.sh."""
    from dlgen.sources import run_lines

    text = (bundle / "run.sh").read_text()
    specs = run_lines(text, "shell")
    fetch = next((s for s in specs if s.labels.get(v.FETCH_LABEL) == "fetch"), None)
    nodes = [s for s in specs if s.labels.get(v.FETCH_LABEL) != "fetch"]
    if not nodes:
        raise DlgenError(f"{bundle / 'run.sh'}: no docker run for the nodes", "regenerate the bundle with dlgen new")
    return fetch, nodes[0], nodes[-1], _group_port(text)


def verify_group(bundle: Path, nodes: int, cpu: bool = False, keep: bool = False, timeout_s: float | None = None,
                 progress=None, env: dict | None = None, fetch_timeout_s: float = 3600,
                 leader_first: bool = True) -> dict:
    """Build once, fetch once, start every node, wait until each is healthy (or one fails), stop them
    one after another (``leader_first`` or last); the result is what --format json prints, with
    ``nodes``."""
    shown, bundle = str(bundle), Path(bundle).resolve()
    if not (bundle / "Dockerfile").is_file():
        raise DlgenError(f"{bundle}: no Dockerfile", "point dlgen verify at a directory written by dlgen new")
    fetch_spec, leader_spec, worker_spec, port = _roles(bundle)
    env = dict(env or {})
    leader_addr = env.pop("LEADER_ADDR", None)
    c = v.client()
    say = progress or (lambda line: None)
    tag = uuid.uuid4().hex[:10]
    image = v.image_name(bundle, tag)
    names = [f"{v.run_name(tag)}-node{r}" for r in range(nodes)]
    host, _, given_port = (leader_addr or names[0]).partition(":")
    result: dict = {"bundle": shown, "image": image, "cpu": cpu, "healthy": False, "ready_s": None, "healthy_s": None,
                    "health_lag_s": None, "stop_exit_code": None, "stop_s": None, "build_s": None, "fetch_s": None,
                    "fetch_exit_code": None, "readiness_url": None, "failure": None, "run_id": tag,
                    "leader_addr": f"{host}:{given_port or port}", "nodes": []}
    v.clean(c, say=say)
    owned = v.Owned(c, tag, bundle, image, keep)
    with v.cleaned_up(owned, keep, say, "containers, network and volumes"):
        t = time.monotonic()
        error = v.build_image(bundle, image, owned.labels, say)
        if error is not None:
            result["failure"] = {"stage": "build", "error": error}
            return result
        result["build_s"] = round(time.monotonic() - t, 2)
        network = c.networks.create(v.run_name(tag), labels=owned.labels).name
        common = {"LEADER_HOST": host, "GROUP_PORT": given_port or port, "JOIN_TIMEOUT_S": str(JOIN_TIMEOUT_S),
                  "NCCL_SOCKET_IFNAME": NET_IF, "GLOO_SOCKET_IFNAME": NET_IF, "CHECKPOINTS": CHECKPOINTS,
                  "NODES": str(nodes)}
        specs = [node_spec(leader_spec if r == 0 else worker_spec,
                           {**common, "NODE_RANK": str(r), "IS_HOST": "1" if r == 0 else "0"}, network)
                 for r in range(nodes)]
        volumes = sorted({name for s in specs for name in v.prepare(s, image, tag, cpu, env, owned.labels)[1]})
        for name in volumes:
            c.volumes.create(name=name, labels=owned.labels)
        if fetch_spec is not None:   # once: on one engine the nodes share the cache volume
            fetched = v.run_fetch(c, fetch_spec, image, tag, cpu, env, owned.labels, None, fetch_timeout_s, say)
            result.update(fetched)
            if fetched.get("failure"):
                return result
        deadline_s = timeout_s or (v.image_start_period(c, image) + 60)
        containers = []
        for r, s in enumerate(specs):
            kw, _ = v.prepare(s, image, tag, cpu, env, owned.labels, name=names[r])
            kw.pop("ports", None)
            kw["hostname"] = names[r]
            say(f"starting node {r} of {nodes} ({names[r]})")
            try:
                containers.append(c.containers.run(**kw))
            except Exception as exc:
                result["failure"] = {"stage": "run", "node": r, "error": str(getattr(exc, "explanation", exc))}
                return result
        _watch(containers, deadline_s, say, result)
        training = any(vol.target == CHECKPOINTS for vol in leader_spec.volumes)
        if result["failure"] is None and training:
            _trained(containers[0], say, result)
        _stop_all(containers, say, result, leader_first)
        if result["failure"] is None and training:
            result["checkpoints"] = _listing(c, image, specs[0], tag, cpu, owned.labels)
    return result


def _watch(containers: list, deadline_s: float, say, result: dict) -> None:
    """Until every node is healthy, or one ends, restarts or turns unhealthy: the group fails with it."""
    t0 = time.monotonic()
    nodes = result["nodes"] = [{"rank": r, "container": ct.name, "healthy": False, "healthy_s": None,
                                "exit_code": None} for r, ct in enumerate(containers)]
    next_note = v.PROGRESS_S
    while time.monotonic() - t0 < deadline_s:
        elapsed = time.monotonic() - t0
        for node, ct in zip(nodes, containers, strict=True):
            ct.reload()
            state = ct.attrs.get("State") or {}
            status = (state.get("Health") or {}).get("Status")
            if status == "healthy" and node["healthy_s"] is None:
                node["healthy"], node["healthy_s"] = True, round(elapsed, 2)
                say(f"node {node['rank']} healthy after {node['healthy_s']} s")
            if state.get("Status") in ("exited", "dead") or state.get("Restarting") or ct.attrs.get("RestartCount"):
                node["exit_code"] = state.get("ExitCode")   # now: a restart policy may start it again
                result["failure"] = _node_failure(node, ct, "start", result)
                return
            if status == "unhealthy":
                result["failure"] = _node_failure(node, ct, "health", result)
                return
        if all(n["healthy"] for n in nodes):
            result["healthy_s"] = max(n["healthy_s"] for n in nodes)
            result["healthy"] = True
            return
        if elapsed >= next_note:
            say(f"waiting {elapsed:.0f} s of {deadline_s:.0f} s: "
                f"{sum(n['healthy'] for n in nodes)} of {len(nodes)} nodes healthy")
            next_note += v.PROGRESS_S
        time.sleep(v.POLL_S)
    result["failure"] = {"stage": "timeout", "timeout_s": deadline_s,
                         "error": f"{sum(n['healthy'] for n in nodes)} of {len(nodes)} nodes healthy after "
                                  f"{deadline_s:.0f} s"}


def _trained(leader, say, result: dict, wait_s: float = TRAIN_WAIT_S) -> None:
    """A healthy training group has begun its first step: wait for the leader's first logged steps
    (train.py logs every tenth), so the stop that follows checkpoints what the group trained."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < wait_s:
        logs = leader.logs().decode("utf-8", "replace")
        found = STEP_LINE.findall(logs)
        if found:
            result["steps"] = int(found[-1])
            world = WORLD_LINE.search(logs)   # train.py: "rank 0 of N (backend)" once the group has formed
            result["world_size"] = int(world.group(1)) if world else None
            say(f"the group trains: step {result['steps']} logged")
            return
        leader.reload()
        if not (leader.attrs.get("State") or {}).get("Running"):
            break
        time.sleep(v.POLL_S)
    result["failure"] = {"stage": "train", **v.diagnosis(leader),
                         "error": f"the leader logged no training step within {wait_s:.0f} s of turning healthy"}
    result["healthy"] = False


def _node_failure(node: dict, container, stage: str, result: dict) -> dict:
    d = v.diagnosis(container)
    if node["exit_code"] is None:
        node["exit_code"] = d["exit_code"]
    last = next((line for line in reversed(d["log_tail"]) if line.strip()), "")
    what = "turned unhealthy" if stage == "health" else f"exited with code {node['exit_code']}" + (
        " (its restart policy starts it again)" if d["restart_count"] or d["status"] == "restarting" else "")
    return {**d, "stage": stage, "node": node["rank"],
            "error": f"node {node['rank']} {what} before the group of {len(result['nodes'])} was healthy: {last}",
            "hint": f"every node must reach the leader at {result['leader_addr']} (LEADER_ADDR, the same on every "
                    "node); check the address, the port and the network interface (NET_IF)"}


def _stop_all(containers: list, say, result: dict, leader_first: bool = True) -> None:
    """docker stop on one node after another, each waiting for that node to end, as a person stopping
    node by node does: the leader first (its torchrun holds the rendezvous store the others lose), or
    the others first (the leader's workers end before its own stop comes). Either way each node
    checkpoints or ends with the group and exits 0."""
    t = time.monotonic()
    for ct in containers:
        ct.reload()
    running = [ct for ct in containers if (ct.attrs.get("State") or {}).get("Running")]
    for ct in running if leader_first else running[::-1]:
        ct.stop(timeout=v.STOP_GRACE_S)
    codes = []
    for node, ct in zip(result["nodes"], containers, strict=True):
        ct.reload()
        if node["exit_code"] is None:   # a node that failed keeps the code it failed with
            node["exit_code"] = (ct.attrs.get("State") or {}).get("ExitCode")
        codes.append(node["exit_code"])
    if running:
        result["stop_s"] = round(time.monotonic() - t, 2)
        result["stop_exit_code"] = max(codes, key=lambda code: code != 0)
        say(f"stopped {len(running)} nodes in {result['stop_s']} s, exit codes {codes}")
        bad = [n for n in result["nodes"] if n["exit_code"] not in (0, 143)]
        if bad and result["failure"] is None:
            result["failure"] = {**v.diagnosis(containers[bad[0]["rank"]]), "stage": "stop", "node": bad[0]["rank"],
                                 "error": f"node {bad[0]['rank']} ended with exit code {bad[0]['exit_code']} on "
                                          "docker stop (0 or 143 expected)"}
            result["healthy"] = False


def _listing(c, image: str, spec: RunSpec, tag: str, cpu: bool, labels: dict) -> list[str]:
    """What the group left in its shared checkpoint folder."""
    code = f"import os; print(*sorted(os.listdir({CHECKPOINTS!r})))"
    look = replace(spec, entrypoint=["python"], command=["-c", code], health=Health(disabled=True), restart=None,
                   network=None)
    kw, _ = v.prepare(look, image, tag, cpu, None, labels, name=f"{v.run_name(tag)}-listing")
    kw.pop("ports", None)
    kw["detach"] = False
    out = c.containers.run(**kw)
    return out.decode().split()
