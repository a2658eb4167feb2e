"""DLG134 gpu-request-without-limit.

What it does: reports a container that requests `nvidia.com/gpu` without a limit, or with a limit
different from the request.
Why is this bad: GPUs are an extended resource: Kubernetes takes them from `limits`, a request must
equal the limit, and a pod that gives a request without a limit is refused (Kubernetes docs,
"Schedule GPUs": "You can specify GPU limits without specifying requests ... you cannot specify GPU
requests without specifying limits").
Use instead: `resources: {limits: {nvidia.com/gpu: N}}` (the request follows the limit).
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.kubesource import GPU
from dlgen.runspec import RunSpec

ID = "DLG134"
NAME = "gpu-request-without-limit"
SEVERITY = "error"
TARGET = "kubernetes"
WHY = "Kubernetes takes GPUs from limits: a request without the same limit is refused."
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
          resources: {requests: {nvidia.com/gpu: 1}}
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
""",
]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    if not info or GPU not in info.requests or "gpu_limits" in info.adds:
        return
    asked, limit = info.requests[GPU], info.limits.get(GPU)
    if limit is not None and str(limit) == str(asked):
        return
    what = "no limit" if limit is None else f"a limit of {limit}"
    yield rulekit.Hit(line=spec.line, message=f"{rulekit.k8s_where(spec)} requests {asked} nvidia.com/gpu with {what}: "
                      "Kubernetes takes GPUs from limits and refuses the pod",
                      hint=f"set resources.limits nvidia.com/gpu: {asked} (a request may be left out)")
