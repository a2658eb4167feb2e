"""DLG130 server-without-probe.

What it does: reports a Kubernetes container that serves a model (vLLM, SGLang, TGI, Triton,
TorchServe, llama.cpp, dlgen's servers: servers.yaml `serves_model`) with neither a startupProbe nor
a readinessProbe, where no operator adds them (KubeRay, KServe's LLMInferenceService and Dynamo do:
dlgen/data/kube_workloads.yaml). Headless workers of a group are DLG136's.
Why is this bad: without a readiness probe the pod is Ready, and its Service sends it requests, as
soon as the process starts, minutes before the model is loaded; without a startup probe nothing
tells a slow load from a hung one (Kubernetes docs, "Configure Liveness, Readiness and Startup Probes").
Use instead: a startupProbe on the server's health endpoint whose budget covers the load (DLG131),
and a readinessProbe on the same endpoint.
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG130"
NAME = "server-without-probe"
SEVERITY = "warning"
TARGET = "kubernetes"
WHY = "A model server without a startup or readiness probe is sent requests before its model is loaded."
FAIL = [
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          resources: {limits: {nvidia.com/gpu: 1}}
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
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          resources: {limits: {nvidia.com/gpu: 1}}
          startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 60}
          readinessProbe: {httpGet: {path: /health, port: 8000}}
""",
    """\
apiVersion: ray.io/v1
kind: RayService
metadata: {name: llm}
spec:
  rayClusterConfig:
    headGroupSpec:
      template:
        spec:
          containers:
            - name: ray-head
              image: vllm/vllm-openai:v0.11.0
              args: [--model, meta-llama/Llama-3.1-8B-Instruct]
""",
]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    server = rulekit.k8s_server(spec)
    if not info or not server or info.headless or "probes" in info.adds:
        return
    if info.probes.get("startupProbe") or info.probes.get("readinessProbe"):
        return
    path = rulekit.preset(server).get("readiness") or "/health"
    yield rulekit.Hit(line=spec.line, message=f"{rulekit.k8s_where(spec)} serves a model ({server}) with no startup "
                      "or readiness probe: it is Ready, and sent requests, before the model is loaded",
                      hint=f"add a startupProbe and a readinessProbe: httpGet {path} on the server's port")
