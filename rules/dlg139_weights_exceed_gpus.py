"""DLG139 weights-exceed-gpus.

What it does: where a pod says which GPU it runs on (a nodeSelector, or the `In` values of its required
node affinity, the smallest of them, on NVIDIA GPU Feature Discovery's `nvidia.com/gpu.product`,
GKE's `cloud.google.com/gke-accelerator`, or Karpenter's `karpenter.k8s.aws/instance-gpu-name`,
matched to dlgen/data/gpus.yaml), compares the model's
weights (from the command, or `dlgen lint --model`) with the memory of every GPU the pod gets,
times the pods of its group, at vLLM's default 90 % use.
Why is this bad: the weights alone do not fit: the server fails at load with CUDA out of memory,
after the image pull and the download, on every restart.
Use instead: more GPUs (a larger `nvidia.com/gpu` limit, or a group over more nodes), larger GPUs,
or a smaller dtype or quantized checkpoint (`dlgen new --model ID` sizes it).
"""

import re
from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG139"
NAME = "weights-exceed-gpus"
SEVERITY = "error"
TARGET = "kubernetes"
WHY = "Weights larger than the pod's (or group's) GPU memory fail at load, after the whole download."
GPU_LABELS = ("nvidia.com/gpu.product", "cloud.google.com/gke-accelerator", "karpenter.k8s.aws/instance-gpu-name")
FAIL = [
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      nodeSelector: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-40GB}
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-70B-Instruct, --tensor-parallel-size, "2"]
          resources: {limits: {nvidia.com/gpu: 2}}
""",
    # required node affinity that allows a 40 GB A100: the scheduler may place it there
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - {key: nvidia.com/gpu.product, operator: In, values: [NVIDIA-H100-80GB-HBM3, NVIDIA-A100-SXM4-40GB]}
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-70B-Instruct, --tensor-parallel-size, "2"]
          resources: {limits: {nvidia.com/gpu: 2}}
""",
]
PASS = [
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      nodeSelector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-70B-Instruct, --tensor-parallel-size, "4"]
          resources: {limits: {nvidia.com/gpu: 4}}
""",
]


def gpu_named(value: str) -> tuple[str, float] | None:
    """(name, GB) of the GPU a node label's value names: the most specific gpus.yaml entry that matches."""
    # the GPU table only where a pod names a GPU: lint's start-up stays light
    from dlgen import gpuplan

    tokens = set(re.split(r"[^a-z0-9]+", value.lower()))
    best = None
    for entry in gpuplan.table()["gpus"]:
        for name in [entry["name"], *entry.get("aliases", [])]:
            parts = str(name).split("-")
            if all(p in tokens for p in parts) and (best is None or len(parts) > best[0]):
                best = (len(parts), entry["name"], float(entry["memory_gb"]))
    return (best[1], best[2]) if best else None


def gpu_of(selector: dict[str, str], affinity: dict[str, list[str]] | None = None) -> tuple[str, float] | None:
    """(name, GB) of the GPU a pod is placed on: its nodeSelector's, else the smallest of those its required
    node affinity allows (the scheduler may pick any of them)."""
    for label in GPU_LABELS:
        values = [selector[label]] if selector.get(label) else (affinity or {}).get(label, [])
        named = [g for g in (gpu_named(v) for v in values) if g]
        if named and len(named) == len(values):   # every allowed value known: judge by the smallest
            return min(named, key=lambda g: g[1])
    return None


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    if not info or not spec.gpus or not str(spec.gpus).isdigit():
        return
    gpu = gpu_of(info.node_selector, info.node_affinity)
    found = rulekit.find_model(ctx, words=rulekit.k8s_words(spec), env=spec.env)
    if not gpu or not found:
        return
    from dlgen import gpuplan

    count = int(spec.gpus) * (info.group or 1)
    usable = count * gpu[1] * float(gpuplan.table()["memory_utilization"])
    weights = found.model.gpu_gb
    if weights <= usable:
        return
    yield rulekit.Hit(line=spec.line, message=f"{rulekit.k8s_where(spec)}: {found.model.name}'s weights "
                      f"({weights:.0f} GB) exceed {count} x {gpu[0]} ({usable:.0f} GB usable): it fails at load",
                      hint=f"give it more or larger GPUs (dlgen new --model {found.model.name} --gpu {gpu[0]} sizes it)")
