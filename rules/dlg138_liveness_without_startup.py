"""DLG138 liveness-without-startup.

What it does: reports a model server container with a livenessProbe but no startupProbe.
Why is this bad: without a startup probe the liveness probe runs from the container's start, so the
whole model load must fit its budget (initialDelaySeconds + failureThreshold x periodSeconds); a
budget long enough for the load is then also how long a hung server goes unnoticed later. A
startup probe holds the liveness probe back until the first success (Kubernetes docs, "Protect slow
starting containers with startup probes"). DLG131 reports a budget shorter than the load.
Use instead: a startupProbe sized for the load, and a short livenessProbe for after it.
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG138"
NAME = "liveness-without-startup"
SEVERITY = "info"
TARGET = "kubernetes"
WHY = "Without a startupProbe the liveness probe must allow the whole load, and so misses a later hang as long."
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
          livenessProbe: {httpGet: {path: /health, port: 8000}, initialDelaySeconds: 600}
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
          startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 60}
          livenessProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 15}
""",
]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    if not info or not rulekit.k8s_server(spec) or "probes" in info.adds:
        return
    if "livenessProbe" in info.probes and "startupProbe" not in info.probes:
        yield rulekit.Hit(line=info.probe_lines.get("livenessProbe", spec.line),
                          message=f"{rulekit.k8s_where(spec)} has a livenessProbe but no startupProbe: the whole load "
                                  "must fit the liveness budget",
                          hint="add a startupProbe sized for the load (failureThreshold x periodSeconds)")
