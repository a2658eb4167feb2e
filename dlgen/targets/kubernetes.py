"""k8s.yaml: the bundle on Kubernetes (``kubectl apply -f k8s.yaml``).

A Deployment and its Service for a server, a Job for training, a Pod for a dev container; the
claim that keeps the weights; over several nodes a LeaderWorkerSet or a TrainJob (kube_group);
every container within Pod Security "restricted". The containers come from the shared builder
(dlgen.targets.kube).
"""

from __future__ import annotations

from typing import Any

from dlgen.spec import DeploySpec
from dlgen.targets import Target, kube, kube_group, register


def _workload(spec: DeploySpec) -> list[dict]:
    pod = kube.pod(spec)
    labels = kube.labels(spec)
    pod_spec = pod.spec()
    meta = {"name": spec.name, "labels": labels}
    if spec.kind == "train":
        pod_spec["restartPolicy"] = "Never"
        backoff = int((spec.restart or "on-failure:3").partition(":")[2] or 3)
        return [{"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                 "spec": {"backoffLimit": backoff, "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}]
    if spec.kind == "dev":
        pod_spec["restartPolicy"] = "Never"
        return [{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                  "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                           "selector": {"matchLabels": {"app.kubernetes.io/name": spec.name}},
                           "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}
    docs: list[dict] = [deployment]
    if spec.port:
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": meta,
                     "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": spec.name},
                              "ports": [{"name": f"p{p}", "port": p, "targetPort": p}
                                        for p in [spec.port, *spec.extra_ports]]}})
    return docs


def documents(spec: DeploySpec) -> list[dict]:
    """The workload (Deployment, Job or Pod), its Service, and the claim that keeps the weights; a
    group over several nodes: a LeaderWorkerSet or a TrainJob (dlgen.targets.kube_group)."""
    if spec.group:
        return kube_group.documents(spec)
    docs = _workload(spec)
    if kube.needs_claim(spec):
        docs.append(kube.cache_claim(spec))
    return docs


def _context(spec: DeploySpec, ctx: dict) -> dict[str, Any]:
    return {"k8s": documents(spec)}


def _files(spec: DeploySpec, ctx: dict) -> dict[str, str]:
    return {"k8s.yaml": "k8s.yaml.j2"}


TARGET = register(Target(key="k8s", title="kubectl apply (k8s.yaml): Deployment/Job/Pod, Service, claim; "
                               "LeaderWorkerSet or TrainJob over several nodes",
                         files=_files, context=_context, retime=kube.retime, owns=("k8s.yaml",)))
