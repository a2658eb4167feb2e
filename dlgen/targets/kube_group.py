"""A group over several nodes on Kubernetes, for k8s.yaml: one pod per node.

Serving: a LeaderWorkerSet (leaderworkerset.x-k8s.io/v1; kubernetes-sigs/lws) of ``size`` = nodes. The
leader pod runs the API server, the workers join it; LWS injects LWS_LEADER_ADDRESS, LWS_GROUP_SIZE and
LWS_WORKER_INDEX into every container, and Kubernetes expands ``$(VAR)`` in a container's command and
args (not in probes: the worker's probe reads the variable itself). Each pod fetches the weights into
a claim of its own (volumeClaimTemplates) in an init container, before the server starts: a pod
still fetching is Pending, and the group's restart policy, RecreateGroupAfterStart (LWS v0.9+), does
not recreate a group while one of its pods is Pending, so a straggler's download never loops the
group (lws#725), and a recreated group keeps what was downloaded.

Training: a Kubeflow Trainer v2 TrainJob (trainer.kubeflow.org/v1alpha1) that runs a TrainingRuntime
of its own: the runtime holds the pod (the fetch init container, the probes, /dev/shm, the
restricted security context), which a TrainJob cannot add to a shared runtime; its torch policy
gives torchrun the group through PET_* variables. The weights and checkpoints are on one ReadWriteMany
claim every node shares; a failed node restarts the whole group (JobSet failurePolicy), which
torchrun needs.
"""

from __future__ import annotations

import math
from dataclasses import replace

from dlgen.spec import CHECKPOINTS, HF_HOME, DeploySpec, NodeWords
from dlgen.targets import kube

LWS_API = "leaderworkerset.x-k8s.io/v1"
TRAINER_API = "trainer.kubeflow.org/v1alpha1"
# The labels LWS puts on its pods (api/leaderworkerset/v1: SetNameLabelKey, WorkerIndexLabelKey).
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
# How a LeaderWorkerSet names a node's own values: the variables LWS injects.
LWS_WORDS = NodeWords(rank="$(LWS_WORKER_INDEX)", leader="$(LWS_LEADER_ADDRESS)", group_port="")
# Kubeflow Trainer's torch runtimes: the replicated job and its container are both named "node", and
# the node-0 pod is <trainjob>-node-0-0 under the job's headless service (PET_MASTER_ADDR).
TRAINER_JOB = "node"
TRAINER_STEP_LABEL = "trainer.kubeflow.org/trainjob-ancestor-step"
# A new pod's DNS name "may take up to 30 seconds" and a failed TCPStore lookup is fatal (pytorch#73682):
# each node waits for the leader's name before torchrun starts, up to this long.
DNS_WAIT_S = 120


def documents(spec: DeploySpec) -> list[dict]:
    """The group's objects: a LeaderWorkerSet and the leader's Service, or a TrainingRuntime, its
    TrainJob and the shared checkpoint claim."""
    return _train_job(spec) if spec.kind == "train" else _leader_worker_set(spec)


def _with_command(pod: kube.Pod, entry: list[str], args: list[str]) -> dict:
    container = dict(pod.container)
    if entry:
        container["command"] = entry
    container["args"] = args
    return container


def _per_pod_claims(pod: kube.Pod, spec: DeploySpec) -> tuple[list[dict], list[dict]]:
    """(the pod's volumes without the shared claim, the claim as a per-pod template)."""
    shared = next((v for v in pod.volumes if v["name"] == "cache"), None)
    if not shared:
        return pod.volumes, []
    claim = kube.cache_claim(spec)
    return ([v for v in pod.volumes if v is not shared],
            [{"metadata": {"name": "cache"}, "spec": claim["spec"]}])


def _leader_worker_set(spec: DeploySpec) -> list[dict]:
    group = spec.group
    assert group is not None
    words = replace(LWS_WORDS, group_port=str(group.port))
    runs = spec.node_commands(words)
    leader_entry, leader_args = runs.get("leader") or runs["node"]
    worker_entry, worker_args = runs.get("worker") or runs["node"]
    pod = kube.pod(spec)
    volumes, claims = _per_pod_claims(pod, spec)
    env = [{"name": "GROUP_PORT", "value": str(group.port)}]
    if any(m["mountPath"] == HF_HOME for m in pod.cache_mounts):   # the whole command is in the pod: its cache too
        env.append({"name": "HF_HOME", "value": HF_HOME})
    leader = _with_command(pod, leader_entry, leader_args)
    leader["env"] = [*leader.get("env", []), *env]
    worker = _with_command(pod, worker_entry, worker_args)
    worker["env"] = [*worker.get("env", []), *env]
    if not group.workers_serve:   # headless: no API to probe, and no port to serve
        for key in ("startupProbe", "readinessProbe", "livenessProbe", "ports"):
            worker.pop(key, None)
        worker.update(spec.worker_health().k8s_probes())

    def template(container: dict) -> dict:
        pod_spec = {**pod.spec(), "containers": [container], "volumes": volumes}
        return {"metadata": {"labels": kube.labels(spec)}, "spec": pod_spec}

    meta = {"name": spec.name, "labels": kube.labels(spec)}
    lws = {"apiVersion": LWS_API, "kind": "LeaderWorkerSet", "metadata": meta,
           "spec": {"replicas": 1, "startupPolicy": "LeaderCreated",
                    "leaderWorkerTemplate": {"size": spec.nodes, "restartPolicy": "RecreateGroupAfterStart",
                                             "leaderTemplate": template(leader), "workerTemplate": template(worker),
                                             **({"volumeClaimTemplates": claims} if claims else {})}}}
    docs: list[dict] = [lws]
    if spec.port:
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": meta,
                     "spec": {"type": "ClusterIP", "selector": {LWS_NAME_LABEL: spec.name, LWS_INDEX_LABEL: "0"},
                              "ports": [{"name": f"p{spec.port}", "port": spec.port, "targetPort": spec.port}]}})
    return docs


def shared_claim(spec: DeploySpec) -> dict:
    """One claim every node of the job shares (ReadWriteMany: NFS, CephFS, a cloud file store): the
    weights, fetched once for all of them, and the checkpoints every node writes and resumes from."""
    weights_gi = math.ceil(spec.model.weights_gb * kube.PVC_MARGIN / 1.073741824)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{spec.name}-shared", "labels": kube.labels(spec)},
            "spec": {"accessModes": ["ReadWriteMany"],
                     "resources": {"requests": {"storage": f"{kube.checkpoint_gi(spec) + weights_gi}Gi"}}}}


def _train_job(spec: DeploySpec) -> list[dict]:
    group = spec.group
    assert group is not None and spec.gpu_plan is not None
    pod = kube.pod(spec, name=TRAINER_JOB)
    container = dict(pod.container)
    container["command"] = spec.fill(spec.preset["multinode"]["trainjob_command"])
    # the weights and the checkpoints on one claim every node shares (a ReadWriteOnce claim cannot be):
    # the first fetch downloads, the others find the files (huggingface_hub locks each file it writes)
    shared = [{**m, "name": "shared"} for m in pod.cache_mounts]
    mounts = [m for m in container["volumeMounts"] if m["name"] != "cache"]
    mounts += [*shared, {"name": "shared", "mountPath": CHECKPOINTS, "subPath": "checkpoints"}]
    container["volumeMounts"] = mounts
    volumes = [v for v in pod.volumes if v["name"] != "cache"]
    volumes.append({"name": "shared", "persistentVolumeClaim": {"claimName": f"{spec.name}-shared"}})
    inits = []
    if pod.init:
        inits.append({**pod.init, "volumeMounts": shared})
    leader = f"{spec.name}-{TRAINER_JOB}-0-0.{spec.name}"
    inits.append({"name": "wait-for-leader", "image": container["image"], "imagePullPolicy": "IfNotPresent",
                  "command": [spec.python, "-c", "import socket,sys,time\n"
                              f"for _ in range({DNS_WAIT_S // 2}):\n"
                              "    try:\n        socket.getaddrinfo(sys.argv[1], None); sys.exit(0)\n"
                              "    except OSError:\n        time.sleep(2)\n"
                              "sys.exit(f'no DNS name {sys.argv[1]}')", leader],
                  "securityContext": dict(kube.RESTRICTED_CONTAINER)})
    pod_spec = {**pod.spec(), "containers": [container], "volumes": volumes, "initContainers": inits,
                "restartPolicy": "Never"}
    restarts = int((spec.restart or "on-failure:3").partition(":")[2] or 3)
    labels = kube.labels(spec)
    job_template = {"metadata": {"labels": {TRAINER_STEP_LABEL: "trainer"}},
                    "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}
    runtime = {"apiVersion": TRAINER_API, "kind": "TrainingRuntime",
               "metadata": {"name": spec.name, "labels": {**labels, "trainer.kubeflow.org/framework": "torch"}},
               "spec": {"mlPolicy": {"numNodes": spec.nodes, "torch": {}},
                        # one node fails: the whole group restarts (torchrun cannot take one node back)
                        "template": {"spec": {"failurePolicy": {"maxRestarts": restarts},
                                              "replicatedJobs": [{"name": TRAINER_JOB, "replicas": 1,
                                                                  "template": job_template}]}}}}
    job = {"apiVersion": TRAINER_API, "kind": "TrainJob", "metadata": {"name": spec.name, "labels": kube.labels(spec)},
           "spec": {"runtimeRef": {"name": spec.name, "apiGroup": "trainer.kubeflow.org", "kind": "TrainingRuntime"},
                    "trainer": {"numNodes": spec.nodes, "numProcPerNode": spec.gpu_count,
                                "resourcesPerNode": {"limits": {"nvidia.com/gpu": spec.gpu_count}}}}}
    return [runtime, job, shared_claim(spec)]
