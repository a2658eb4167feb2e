"""kserve.yaml: a serve bundle as a KServe InferenceService (serving.kserve.io/v1beta1).

The predictor is a custom container (``spec.predictor.containers``, named ``kserve-container``, the
name KServe looks for) built by the shared Kubernetes builder (dlgen.targets.kube): the same probes,
GPU limit, secrets by name and Pod Security "restricted" contexts as k8s.yaml.

The weights come from the bundle's own fetch phase, as an init container that fills the weight
claim, not from KServe's storage initializer: the storage initializer downloads ``storageUri`` into
``/mnt/models`` on every pod start (an emptyDir by default), while the bundle's server reads the
Hugging Face cache layout with ``HF_HUB_OFFLINE=1`` and a claim keeps the weights across restarts,
so a restarted predictor loads without downloading. An init container and a claim need KServe's
RawDeployment mode (Knative's serverless mode allows neither by default), which the manifest asks
for with the ``serving.kserve.io/deploymentMode`` annotation. Only serve bundles get one.
"""

from __future__ import annotations

from typing import Any

from dlgen.spec import DeploySpec
from dlgen.targets import Target, kube, register

# The container KServe treats as the predictor (kserve constants.InferenceServiceContainerName).
PREDICTOR_CONTAINER = "kserve-container"
DEPLOYMENT_MODE = {"serving.kserve.io/deploymentMode": "RawDeployment"}


def inference_service(spec: DeploySpec) -> dict:
    pod = kube.pod(spec, name=PREDICTOR_CONTAINER)
    predictor: dict = {
        "minReplicas": 1, "maxReplicas": 1,                 # one GPU-sized replica; scale by hand
        "deploymentStrategy": {"type": "Recreate"},         # the old pod frees its GPUs first
        **pod.spec(),
    }
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": spec.name, "labels": kube.labels(spec), "annotations": dict(DEPLOYMENT_MODE)},
            "spec": {"predictor": predictor}}


def documents(spec: DeploySpec) -> list[dict]:
    """The InferenceService and the claim that keeps the weights."""
    docs = [inference_service(spec)]
    if kube.needs_claim(spec):
        docs.append(kube.cache_claim(spec))
    return docs


def _context(spec: DeploySpec, ctx: dict) -> dict[str, Any]:
    return {"kserve": documents(spec) if spec.kind == "serve" else []}


def _files(spec: DeploySpec, ctx: dict) -> dict[str, str]:
    # over several nodes: k8s.yaml's LeaderWorkerSet (KServe's own multi-node object is LLMInferenceService)
    return {"kserve.yaml": "kserve.yaml.j2"} if spec.kind == "serve" and not spec.group else {}


TARGET = register(Target(key="kserve", title="kubectl apply (kserve.yaml): a KServe InferenceService",
                         files=_files, context=_context, retime=kube.retime, owns=("kserve.yaml",)))
