"""DLG132 tcp-probe-on-http-server.

What it does: reports a bare `tcpSocket` probe on a server whose HTTP health endpoint answers from
the engine's state (servers.yaml `health_reflects_engine`: vLLM, SGLang, TGI), as in the upstream
LeaderWorkerSet examples for vLLM and SGLang.
Why is this bad: a TCP probe only sees that something accepts connections on the port. The API
process keeps its socket open when the engine behind it has died or hung (a dead GPU worker, a
wedged NCCL collective), so the pod stays Ready and is sent requests that fail; `/health` fails then.
(vLLM opens its port only once it is ready, so the defect is blindness to a dead engine, not an
early Ready.)
Use instead: `httpGet` on the server's health path (`/health` for vLLM, SGLang and TGI).
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG132"
NAME = "tcp-probe-on-http-server"
SEVERITY = "info"
TARGET = "kubernetes"
WHY = "A TCP probe cannot see a dead engine behind an open port; the server's /health can."
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
          readinessProbe: {tcpSocket: {port: 8000}, initialDelaySeconds: 15, periodSeconds: 10}
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
          readinessProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10}
""",
]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    server = rulekit.k8s_server(spec)
    if not info or not server or not rulekit.preset(server).get("health_reflects_engine"):
        return
    path = rulekit.preset(server).get("readiness") or "/health"
    for key, probe in info.probes.items():
        if "tcpSocket" in probe and not ({"httpGet", "exec", "grpc"} & set(probe)):
            yield rulekit.Hit(line=info.probe_lines.get(key, spec.line),
                              message=f"{rulekit.k8s_where(spec)}: {key} is a bare tcpSocket check, blind to a dead "
                                      f"{server} engine behind an open port",
                              hint=f"use httpGet {{path: {path}, port: {probe['tcpSocket'].get('port', 'PORT')}}}")
