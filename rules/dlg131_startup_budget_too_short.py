"""DLG131 startup-budget-too-short.

What it does: compares how long Kubernetes lets a model server start before it restarts it (the
startupProbe's initialDelaySeconds + failureThreshold x periodSeconds; without a startupProbe, the
livenessProbe's, which then runs from the start) with the model's load time: the same estimate
DLG012 uses for a Dockerfile's start period (server boot + weights / disk speed + warm-up), or the
load measured by `dlgen verify --write-timings` (timings.json beside the file). The model comes
from the command (`--model`, `vllm serve MODEL`, `--model-id`) or `dlgen lint --model`.
Why is this bad: a probe that fails for longer than that budget restarts the container while it
is still loading the weights, and the next start loads them again: the pod never becomes Ready
(CrashLoopBackOff; Kubernetes docs, "Protect slow starting containers with startup probes").
Use instead: a startupProbe with failureThreshold x periodSeconds at least the load time (dlgen new
writes twice the estimate).
"""

from collections.abc import Iterator

from dlgen import rulekit, timing
from dlgen.runspec import RunSpec

ID = "DLG131"
NAME = "startup-budget-too-short"
SEVERITY = "warning"
TARGET = "kubernetes"
WHY = "A startup budget shorter than the model's load restarts the server while it loads, for ever."
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
          startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 3}
""",
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
          livenessProbe: {httpGet: {path: /health, port: 8000}, initialDelaySeconds: 60}
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
          startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 40}
""",
]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    server = rulekit.k8s_server(spec)
    if not info or not server:
        return
    budget = rulekit.k8s_startup_budget_s(info.probes)
    if budget is None:
        return
    found = rulekit.find_model(ctx, words=rulekit.k8s_words(spec), env=spec.env)
    measured = rulekit.measured_timings(ctx)
    if not found and not measured:
        return
    t = rulekit.timing_for(found, server, ctx)
    if budget >= t.load_s:
        return
    which = "startupProbe" if "startupProbe" in info.probes else "livenessProbe"
    what = f"{found.model.name} with {server}" if found else "the measured start-up"
    failures = timing.k8s_startup_failures(t.start_period_s, rulekit.K8S_PROBE_PERIOD_S)
    yield rulekit.Hit(line=info.probe_lines.get(which, spec.line),
                      message=f"{rulekit.k8s_where(spec)}: the {which} restarts it after {budget:.0f} s, before "
                              f"{what} has loaded ({t.load_s:.0f} s, {rulekit.load_source(ctx)})",
                      hint=f"give a startupProbe periodSeconds: 10 and failureThreshold: {failures} "
                           f"({t.start_period_s} s, what dlgen new writes)")
