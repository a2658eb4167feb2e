"""Kubernetes manifests as run configurations: every container of every pod template, in the built-in
workloads and in the CRDs people serve and train with (dlgen/data/kube_workloads.yaml says where each
kind keeps its pods), becomes one RunSpec, the value the compose and `docker run` readers produce, so
the run rules apply where their meaning carries over. What only Kubernetes has (probes, the pod's
volumes, GPU requests and limits, the group a pod belongs to, the operator that adds to it) rides
along as ``KubePod`` in ``RunSpec.extra["k8s"]`` for the Kubernetes rules. Line numbers are the YAML's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dlgen.runspec import RunSpec, Volume
from dlgen.sources import NotCompose, SourceError

GPU = "nvidia.com/gpu"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
SERVING_GROUPS = ("LeaderWorkerSet", "LLMInferenceService")   # a leader serves, workers join it
_TOP = re.compile(r"^(apiVersion|kind):\s*\S", re.M)


def looks_like(text: str) -> bool:
    """A YAML text with a top-level apiVersion and kind (in some document): a Kubernetes manifest."""
    keys = {m.group(1) for m in _TOP.finditer(text)}
    return keys == {"apiVersion", "kind"}


@dataclass
class KubePod:
    """What a Kubernetes container has beyond a run configuration."""
    kind: str                       # the object's kind: Deployment, LeaderWorkerSet, ...
    name: str                       # the object's name
    container: str                  # the container's name
    role: str = ""                  # its pod's part of a group: leader, worker, head, master, ...
    replicas: int | None = None     # pods of this template
    group: int | None = None        # pods that form one group (LWS size, numNodes)
    operator: str = ""              # the operator that runs the kind (kube_workloads.yaml)
    adds: tuple[str, ...] = ()      # what that operator adds to the pod (shm, probes, group, gpu_limits)
    probes: dict[str, dict] = field(default_factory=dict)        # startupProbe, readinessProbe, livenessProbe
    probe_lines: dict[str, int] = field(default_factory=dict)
    volumes: list[dict] = field(default_factory=list)             # the pod's volumes
    volume_lines: dict[str, int] = field(default_factory=dict)
    requests: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    init_containers: list[dict] = field(default_factory=list)
    restart_policy: str | None = None   # the group's (LWS leaderWorkerTemplate.restartPolicy)
    secret_lines: dict[str, int] = field(default_factory=dict)    # env name -> line of its literal value
    node_selector: dict[str, str] = field(default_factory=dict)   # the pod's nodeSelector
    # the pod's required node affinity: label -> the values an `In` expression allows (each term's)
    node_affinity: dict[str, list[str]] = field(default_factory=dict)
    image_line: int = 0

    @property
    def headless(self) -> bool:
        """A worker of a serving group: it joins the leader, which serves the API."""
        return self.role == "worker" and self.kind in SERVING_GROUPS


def _line(node, key=None) -> int:
    try:
        return (node.lc.key(key)[0] if key is not None else node.lc.line) + 1
    except Exception:
        return 1


def _walk(node, path: str):
    """Every (value, key) a dotted path reaches; `[*]` every list item, `*` every mapping value."""
    found = [(node, "")]
    for part in path.split("."):
        nxt = []
        each = part.endswith("[*]")
        key = part[:-3] if each else part
        for value, label in found:
            if not isinstance(value, dict):
                continue
            if key == "*":
                nxt += [(v, str(k)) for k, v in value.items()]
                continue
            child = value.get(key)
            if each:
                if isinstance(child, list):
                    nxt += [(item, str(item.get("name", i)) if isinstance(item, dict) else str(i))
                            for i, item in enumerate(child)]
            elif child is not None:
                nxt.append((child, label))
        found = nxt
    return found


def _int(value) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _first(doc, path: str | None):
    if not path:
        return None
    hits = _walk(doc, path)
    return hits[0][0] if hits else None


def _at(doc, path: str | None, key: str):
    """The value at ``path`` for the list item or map entry labelled ``key`` (a path with a wildcard:
    the replicas or resources beside the pod spec it was walked to), or at a plain path (key "")."""
    if not path:
        return None
    return next((value for value, label in _walk(doc, path) if label == key), None)


def workloads() -> dict[str, dict]:
    from dlgen import reference

    data = reference.load("kube_workloads")
    out = {}
    for entry in data["workloads"]:
        for kind in entry["kinds"]:
            out[kind] = {**entry, "adds": tuple((data["operators"].get(entry.get("operator") or "") or {})
                                                .get("adds") or ())}
    return out


def documents(text: str) -> list:
    from dlgen import yamlload

    try:
        return [d for d in yamlload.load_all(text) if d is not None]
    except yamlload.YamlProblem as exc:
        raise SourceError(str(exc), exc.line) from None


def containers(text: str) -> list[RunSpec]:
    """Every container of every pod template in a multi-document manifest, as a RunSpec."""
    docs = documents(text)
    if not any(isinstance(d, dict) and d.get("kind") and d.get("apiVersion") for d in docs):
        raise NotCompose("not a Kubernetes manifest: no document with apiVersion and kind", 1)
    known = workloads()
    out: list[RunSpec] = []
    for doc in docs:
        if not isinstance(doc, dict) or str(doc.get("kind")) not in known:
            continue
        entry = known[str(doc["kind"])]
        name = str((doc.get("metadata") or {}).get("name") or "")
        group = _int(_first(doc, entry.get("group")))
        policy = entry.get("group_restart") or {}
        restart = _first(doc, policy.get("path")) or policy.get("default")
        base = dict(kind=str(doc["kind"]), name=name, group=group, operator=entry.get("operator") or "",
                    adds=entry["adds"], restart_policy=str(restart) if restart else None)
        for pod_entry in entry.get("pods") or []:
            for pod, key in _walk(doc, pod_entry["path"]):
                if not isinstance(pod, dict) or not isinstance(pod.get("containers"), list):
                    continue
                role = str(pod_entry.get("role") or "").replace("{key}", key)
                reps = _int(_at(doc, pod_entry.get("replicas"), key))
                out += _pod(pod, KubePod(container="", role=role, replicas=reps, **base), entry)
        for c_entry in entry.get("containers") or []:
            for c, key in _walk(doc, c_entry["path"]):
                if not isinstance(c, dict) or not c.get("image"):   # no image: the runtime's pod runs it
                    continue
                role = str(c_entry.get("role") or "").replace("{key}", key)
                info = KubePod(container=str(c.get("name") or role or "main"), role=role, **base)
                info.group = _int(_at(doc, c_entry.get("group"), key)) or info.group
                resources = _at(doc, c_entry.get("resources"), key) or c.get("resources") or c.get("resourcesPerNode")
                out.append(_container(c, info, {}, resources, restart=entry.get("restart")))
    return out


def _required_affinity(pod: dict) -> dict[str, list[str]]:
    """label -> values of the `In` expressions of the pod's required node affinity (any term may place it)."""
    affinity = _plain(pod.get("affinity")) if isinstance(pod.get("affinity"), dict) else {}
    required = ((affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    out: dict[str, list[str]] = {}
    terms = required.get("nodeSelectorTerms") if isinstance(required, dict) else None
    for term in terms if isinstance(terms, list) else []:
        for expr in (term.get("matchExpressions") or []) if isinstance(term, dict) else []:
            if isinstance(expr, dict) and expr.get("operator") == "In" and isinstance(expr.get("values"), list):
                out.setdefault(str(expr.get("key")), []).extend(str(v) for v in expr["values"])
    return out


def _pod(pod: dict, info: KubePod, entry: dict) -> list[RunSpec]:
    volumes = [v for v in pod.get("volumes") or [] if isinstance(v, dict)]
    info.volumes = [_plain(v) for v in volumes]
    info.volume_lines = {str(v.get("name")): _line(v) for v in volumes}
    info.init_containers = [_plain(c) for c in pod.get("initContainers") or [] if isinstance(c, dict)]
    if isinstance(pod.get("nodeSelector"), dict):
        info.node_selector = {str(k): str(v) for k, v in _plain(pod["nodeSelector"]).items()}
    info.node_affinity = _required_affinity(pod)
    restart = entry.get("restart") or {"Always": "always", "OnFailure": "on-failure"}.get(str(pod.get("restartPolicy")))
    out = []
    for c in pod["containers"]:
        if not isinstance(c, dict):
            continue
        one = KubePod(**{**info.__dict__, "container": str(c.get("name") or ""), "probes": {}, "probe_lines": {},
                         "secret_lines": {}, "node_selector": dict(info.node_selector)})
        out.append(_container(c, one, pod, c.get("resources"), restart=restart))
    return out


def _plain(node):
    from dlgen import yamlload

    return yamlload.plain(node)


def _container(c: dict, info: KubePod, pod: dict, resources, restart: str | None) -> RunSpec:
    res = _plain(resources) if isinstance(resources, dict) else {}
    info.requests = dict(res.get("requests") or {})
    info.limits = dict(res.get("limits") or {})
    if "gpu" in info.limits and GPU not in info.limits:   # Dynamo's resources.limits.gpu
        info.limits[GPU] = info.limits["gpu"]
    for key in PROBES:
        if isinstance(c.get(key), dict):
            info.probes[key] = _plain(c[key])
            info.probe_lines[key] = _line(c, key)
    info.image_line = _line(c, "image") if "image" in c else _line(c)
    env: dict[str, str | None] = {}
    for item in c.get("env") or []:
        if not isinstance(item, dict) or "name" not in item:
            continue
        value = item.get("value")
        env[str(item["name"])] = None if value is None else str(value)
        if value is not None:
            info.secret_lines[str(item["name"])] = _line(item, "value")
    mounts = [m for m in c.get("volumeMounts") or [] if isinstance(m, dict)]
    by_name = {str(v.get("name")): v for v in info.volumes}
    vols, shm = [], None
    for m in mounts:
        source = by_name.get(str(m.get("name"))) or {}
        kind = "volume" if source.get("persistentVolumeClaim") or source.get("ephemeral") else \
            "bind" if source.get("hostPath") else "emptydir" if "emptyDir" in source else "other"
        path = str(m.get("mountPath") or "")
        vols.append(Volume(str(m.get("name")), path, "ro" if m.get("readOnly") else "", kind))
        if path.rstrip("/") == "/dev/shm" and "emptyDir" in source:   # no sizeLimit: bounded by the pod's memory
            shm = str((source.get("emptyDir") or {}).get("sizeLimit") or "") or "pod-memory"
    if "shm" in info.adds:
        shm = shm or "operator"   # a size the run rules cannot read, so they do not judge it
    sec = _plain(c.get("securityContext")) if isinstance(c.get("securityContext"), dict) else {}
    gpus = info.limits.get(GPU)
    command = [str(w) for w in c.get("command") or []]
    return RunSpec(image=str(c.get("image") or ""), entrypoint=command or None,
                   command=[str(w) for w in c.get("args") or []], name=info.container,
                   gpus=str(gpus) if gpus is not None else None, restart=restart,
                   shm_size=shm, ipc="host" if pod.get("hostIPC") else None,
                   network="host" if pod.get("hostNetwork") else None, privileged=bool(sec.get("privileged")),
                   cap_add=[str(x) for x in (sec.get("capabilities") or {}).get("add") or []],
                   volumes=vols, env=env, origin="kubernetes", line=_line(c),
                   service=f"{info.kind}/{info.name} container {info.container}", extra={"k8s": info})
