"""DLG137 group-restart-loops.

What it does: reports a LeaderWorkerSet whose group restart policy is RecreateGroupOnPodRestart
(the default when none is given) while its pods download the model at start (a hub model on the
command, or an init container).
Why is this bad: with that policy any container restart recreates every pod of the group, and a pod
that fetches its weights starts the download again. When one member is slower (a straggler still
pulling the image or downloading), the others time out waiting for it, a restart recreates the group,
and the download never finishes: LLMKube saw 62 group recreations in 20 minutes, never past 5 of
184 GiB (LLMKube issue 1757); LWS added RecreateGroupAfterStart for this (lws#725).
Use instead: `restartPolicy: RecreateGroupAfterStart` (LWS v0.9+: no group recreation while a pod
is still Pending), and the weights on a claim each pod keeps (volumeClaimTemplates), fetched in an
init container.
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG137"
NAME = "group-restart-loops"
SEVERITY = "warning"
TARGET = "kubernetes"
WHY = "A group recreated on every restart re-downloads its weights and can loop on a straggler for ever."
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
            startupProbe: {exec: {command: [python3, -c, 'import os,socket; socket.create_connection((os.environ["LWS_LEADER_ADDRESS"], 6379), 5)']}, periodSeconds: 10, failureThreshold: 360}
            livenessProbe: {exec: {command: [python3, -c, 'import os,socket; socket.create_connection((os.environ["LWS_LEADER_ADDRESS"], 6379), 5)']}, periodSeconds: 15}
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
    restartPolicy: RecreateGroupAfterStart
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
    if not info or info.kind != "LeaderWorkerSet" or info.role != "leader" or (info.group or 1) < 2:
        return
    if info.restart_policy not in ("RecreateGroupOnPodRestart", "Default"):
        return
    downloads = bool(info.init_containers) or rulekit.hub_model_id(rulekit.k8s_words(spec), spec.env)
    if not downloads:
        return
    yield rulekit.Hit(line=spec.line, message=f"{info.kind}/{info.name} recreates its group of {info.group} on any "
                      f"restart ({info.restart_policy}) while its pods download the model: a straggler loops the group",
                      hint="set leaderWorkerTemplate.restartPolicy: RecreateGroupAfterStart (LWS v0.9+)")
