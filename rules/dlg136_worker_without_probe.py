"""DLG136 worker-without-probe.

What it does: reports the workers of a multi-node group (a LeaderWorkerSet's worker template, a
LeaderWorkerSet-shaped LLMInferenceService's worker) whose containers have no probe at all, where
no operator adds one.
Why is this bad: a headless worker serves no API, so nothing else looks at it: when its process
hangs, or the leader it serves is gone, the pod still reads Running. A dead worker looked Running
for four hours in LLMKube (PR 1782 added an exec probe that dials the leader); the upstream vLLM
and SGLang LeaderWorkerSet examples have no worker probe.
Use instead: a startupProbe and a livenessProbe that check the worker's own part of the group, e.g.
an exec check that the leader's group port (Ray's 6379, SGLang's dist-init port) answers, with the
leader's start-up budget.
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG136"
NAME = "worker-without-probe"
SEVERITY = "warning"
TARGET = "kubernetes"
WHY = "A headless worker without a probe reads Running long after it died."
FAIL = [
    """\
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: vllm}
spec:
  replicas: 1
  leaderWorkerTemplate:
    size: 2
    leaderTemplate:
      spec:
        containers:
          - name: vllm-leader
            image: vllm/vllm-openai:v0.11.0
            args: [vllm, serve, meta-llama/Llama-3.1-405B-Instruct, --tensor-parallel-size, "8", --pipeline-parallel-size, "2"]
            resources: {limits: {nvidia.com/gpu: 8}}
            startupProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 10, failureThreshold: 360}
    workerTemplate:
      spec:
        containers:
          - name: vllm-worker
            image: vllm/vllm-openai:v0.11.0
            command: [sh, -c, "ray start --address=$(LWS_LEADER_ADDRESS):6379 --block"]
            resources: {limits: {nvidia.com/gpu: 8}}
""",
]
PASS = [
    """\
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: vllm}
spec:
  replicas: 1
  leaderWorkerTemplate:
    size: 2
    leaderTemplate:
      spec:
        containers:
          - name: vllm-leader
            image: vllm/vllm-openai:v0.11.0
            args: [vllm, serve, meta-llama/Llama-3.1-405B-Instruct, --tensor-parallel-size, "8", --pipeline-parallel-size, "2"]
            resources: {limits: {nvidia.com/gpu: 8}}
            startupProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 10, failureThreshold: 360}
    workerTemplate:
      spec:
        containers:
          - name: vllm-worker
            image: vllm/vllm-openai:v0.11.0
            command: [sh, -c, "ray start --address=$(LWS_LEADER_ADDRESS):6379 --block"]
            resources: {limits: {nvidia.com/gpu: 8}}
            startupProbe: {exec: {command: [python3, -c, 'import os,socket; socket.create_connection((os.environ["LWS_LEADER_ADDRESS"], 6379), 5)']}, periodSeconds: 10, failureThreshold: 360}
            livenessProbe: {exec: {command: [python3, -c, 'import os,socket; socket.create_connection((os.environ["LWS_LEADER_ADDRESS"], 6379), 5)']}, periodSeconds: 15}
""",
]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    if not info or not info.headless or "probes" in info.adds or info.probes:
        return
    yield rulekit.Hit(line=spec.line, message=f"{rulekit.k8s_where(spec)} is a worker of a {info.kind} group with no "
                      "probe: when it hangs or loses its leader it still reads Running",
                      hint="add a startupProbe and a livenessProbe, e.g. an exec check that the leader's group port "
                           "answers ($LWS_LEADER_ADDRESS), with the leader's start-up budget")
