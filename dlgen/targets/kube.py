"""The Kubernetes pieces every Kubernetes-shaped target shares (k8s.yaml's workloads, KServe's
predictor, ...): the server's container (probes, GPU limit, secrets by name, the weight claim's
mounts, Pod Security "restricted"), the fetch init container, the pod's volumes, and the claim that
keeps the weights.
"""

from __future__ import annotations

import math
import posixpath
from dataclasses import dataclass, field

from dlgen import timing
from dlgen.spec import APP_UID, CHECKPOINTS, DeploySpec
from dlgen.targets import Retime, yamltext
from dlgen.units import k8s_quantity

# The weight claim: the weights x 1.25 (a revision next to the current one while it downloads,
# tokenizer and config files) plus 5 GiB for compile caches.
PVC_MARGIN = 1.25
PVC_EXTRA_GI = 5
# The fetch init container streams the download to disk; huggingface_hub holds chunks of at most
# a few hundred MB in memory.
FETCH_MEMORY_REQUEST = "256Mi"
FETCH_MEMORY_LIMIT = "2Gi"

# Pod Security Standard "restricted" (kubernetes.io/docs/concepts/security/pod-security-standards):
# non-root with a non-zero uid, the runtime's default seccomp profile, no privilege escalation, no
# capabilities. GPUs need none of these: the device plugin injects the devices. fsGroup makes
# the claims writable by that uid.
RESTRICTED_POD = {"runAsNonRoot": True, "runAsUser": APP_UID, "runAsGroup": APP_UID, "fsGroup": APP_UID,
                  "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER = {"runAsNonRoot": True, "runAsUser": APP_UID, "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
# Secrets named after the variable they fill, the token under the key "token".
SECRET_NAMES = {"HF_TOKEN": "hf-token", "JUPYTER_TOKEN": "jupyter-token"}


def labels(spec: DeploySpec) -> dict:
    return {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/managed-by": "dlgen"}


def env_list(spec: DeploySpec) -> list[dict[str, object]]:
    """The container's environment: plain settings by value, secrets (names without a value) from a
    Secret by name, so no token lands in the manifest."""
    env: list[dict[str, object]] = []
    for name, value in spec.env.items():
        if value is not None:  # a plain setting (DLGEN_GPUS); names without a value are secrets
            env.append({"name": name, "value": value})
            continue
        secret = SECRET_NAMES.get(name, name.lower().replace("_", "-"))
        env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": "token", "optional":
                                                                 name != "JUPYTER_TOKEN"}}})
    return env


def _http_get(path: str, port: int) -> dict:
    return {"httpGet": {"path": path, "port": port}}


@dataclass
class Pod:
    """The server's container and what the pod around it needs."""
    container: dict
    volumes: list[dict]
    cache_mounts: list[dict] = field(default_factory=list)     # the weight claim's mounts (the fetch's too)
    init: dict | None = None                                    # the fetch init container

    def spec(self) -> dict:
        """A pod spec: restricted security context, the containers, the volumes."""
        pod: dict = {"securityContext": dict(RESTRICTED_POD), "containers": [self.container], "volumes": self.volumes,
                     "terminationGracePeriodSeconds": 30}
        if self.init:
            pod["initContainers"] = [self.init]
        return pod


def _mounts(spec: DeploySpec) -> tuple[list[dict], list[dict], list[dict]]:
    """(the container's mounts, the pod's volumes, the weight claim's mounts)."""
    mounts: list[dict] = [{"name": "dshm", "mountPath": "/dev/shm"}]
    volumes: list[dict] = [{"name": "dshm", "emptyDir": {"medium": "Memory",
                                                          "sizeLimit": k8s_quantity(spec.shm_size, "8Gi")}}]
    cache_mounts: list[dict] = []
    for v in spec.volumes:
        if v.kind == "volume" and v.target in spec.cache_paths:  # weights and caches: on the claim
            cache_mounts.append({"name": "cache", "mountPath": v.target, "subPath": posixpath.basename(v.target)})
            continue
        if v.kind == "volume" and v.target == CHECKPOINTS:  # a retried pod resumes from them
            mounts.append({"name": "cache", "mountPath": v.target, "subPath": "checkpoints"})
            continue
        if spec.model_path and v.target == spec.model_mount:  # the user's model files
            mounts.append({"name": "models", "mountPath": v.target, "readOnly": True})
            volumes.append({"name": "models", "persistentVolumeClaim": {"claimName": f"{spec.name}-models",
                                                                         "readOnly": True}})
            continue
        vname = "workspace" if v.source == "." else v.source.strip("./").replace("_", "-") or "data"
        mount: dict[str, object] = {"name": vname, "mountPath": v.target}
        if v.mode == "ro":
            mount["readOnly"] = True
        mounts.append(mount)
        volumes.append({"name": vname, "emptyDir": {}})
    if cache_mounts or any(m["name"] == "cache" for m in mounts):
        mounts += cache_mounts
        volumes.append({"name": "cache", "persistentVolumeClaim": {"claimName": f"{spec.name}-cache"}})
    return mounts, volumes, cache_mounts


def _probes(spec: DeploySpec) -> dict:
    health = spec.health()
    if not health:
        return {}
    if spec.probe.tool == "heartbeat":
        return health.k8s_probes()
    assert spec.port is not None, "an HTTP probe has a port"
    ready = spec.preset["readiness"]
    live = spec.preset["liveness"] or ready
    return health.k8s_probes(_http_get(ready, spec.port), _http_get(live, spec.port))


def _fetch_init(spec: DeploySpec, image: str, env: list[dict], cache_mounts: list[dict]) -> dict | None:
    fetch = spec.fetch_run_spec()
    if not (fetch and cache_mounts):
        return None
    init: dict = {"name": "fetch", "image": spec.fetch_image or image, "imagePullPolicy": "IfNotPresent",
                  "command": fetch.full_command(),
                  "env": [e for e in env if e["name"] == "HF_TOKEN"]
                  + [{"name": k, "value": v} for k, v in fetch.env.items() if v is not None],
                  "volumeMounts": cache_mounts,
                  # the download streams to disk: a small, fixed memory limit (kserve#5326: 1 GiB
                  # was too small for an 8 GB download through an older downloader)
                  "resources": {"requests": {"memory": FETCH_MEMORY_REQUEST}, "limits": {"memory": FETCH_MEMORY_LIMIT}}}
    init["securityContext"] = dict(RESTRICTED_CONTAINER)
    if not spec.user and not spec.fetch_image:
        init["env"].append({"name": "HOME", "value": "/tmp"})
    return init


def pod(spec: DeploySpec, name: str | None = None) -> Pod:
    """The server's container (named ``name``, default the bundle's) with its pod's volumes and the
    fetch init container that fills the weight claim first."""
    container: dict = {"name": name or spec.name, "image": f"{spec.name}:latest", "imagePullPolicy": "IfNotPresent"}
    if spec.kind == "dev":
        container.update({"command": ["bash"], "stdin": True, "tty": True, "workingDir": "/app"})
    if spec.port and spec.kind != "dev":
        container["ports"] = [{"containerPort": p, "name": f"p{p}"} for p in [spec.port, *spec.extra_ports]]
    env = env_list(spec)
    if env:
        container["env"] = env
    if spec.gpu_count:  # limits alone: request = limit (Kubernetes "Schedule GPUs")
        container["resources"] = {"limits": {"nvidia.com/gpu": spec.gpu_count}}
    mounts, volumes, cache_mounts = _mounts(spec)
    container["volumeMounts"] = mounts
    container.update(_probes(spec))
    container["securityContext"] = dict(RESTRICTED_CONTAINER)
    if not spec.user and not any(e["name"] == "HOME" for e in container.get("env", [])):
        # an image made to run as root, run as APP_UID here: give it a writable home (once)
        container.setdefault("env", []).append({"name": "HOME", "value": "/tmp"})
    return Pod(container, volumes, cache_mounts, _fetch_init(spec, container["image"], env, cache_mounts))


def needs_claim(spec: DeploySpec) -> bool:
    """Whether the pod keeps weights, caches or checkpoints on the claim."""
    return any(v.kind == "volume" and (v.target in spec.cache_paths or v.target == CHECKPOINTS)
               for v in spec.volumes)


def checkpoint_gi(spec: DeploySpec) -> int:
    """A checkpoint folder's size: weights and Adam's two moments (~12 bytes a parameter) twice over (the
    new checkpoint is written beside the last one), plus 5 GiB."""
    return math.ceil(spec.model.params * 12 * 2 / 1.073741824e9) + PVC_EXTRA_GI


def cache_claim(spec: DeploySpec) -> dict:
    """A PersistentVolumeClaim sized for the weights plus margin; the cluster's default storage class
    (set spec.storageClassName to choose one)."""
    size_gi = math.ceil(spec.model.weights_gb * PVC_MARGIN / 1.073741824) + PVC_EXTRA_GI
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{spec.name}-cache", "labels": labels(spec)},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{size_gi}Gi"}}}}


def retime(path: str, text: str, r: Retime) -> str:
    """A Kubernetes manifest with a measured start period: every startupProbe's failureThreshold
    (x periodSeconds covers it) and the header line that states that budget; the rest as it was."""
    docs = yamltext.load_all(text)
    budget = _retime_startup_probes(docs, r.start_period_s)
    return _retime_header(yamltext.dump_all(docs), budget, r.start_period_s, r.note)


def _retime_startup_probes(docs: list, start_period_s: int) -> tuple[int, int] | None:
    """Every startupProbe's failureThreshold so that x periodSeconds covers the start period;
    (failures, period) of the last one, None without any."""
    budget = None
    for doc in docs:
        for holder in yamltext.mappings_with(doc, "startupProbe"):
            probe = holder["startupProbe"]
            period = int(probe.get("periodSeconds", timing.K8S_STARTUP_PERIOD_S))
            failures = timing.k8s_startup_failures(start_period_s, period)
            probe["failureThreshold"] = failures
            budget = (failures, period)
    return budget


def _retime_header(text: str, budget: tuple[int, int] | None, start_period_s: int, note: str) -> str:
    """The header line that states the startup probe's budget."""
    if not budget:
        return text
    failures, period = budget
    return "".join(f"# startupProbe budget {failures * period} s ({failures} x {period} s) covers the "
                   f"{start_period_s} s start period ({note}).\n" if ln.startswith("# startupProbe budget ") else ln
                   for ln in text.splitlines(keepends=True))
