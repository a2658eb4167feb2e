"""DLG133 shm-without-size-limit.

What it does: reports a memory-backed emptyDir (`medium: Memory`, the usual `/dev/shm` volume)
without a `sizeLimit`.
Why is this bad: what is written to a memory-backed emptyDir counts against the pod's memory, and
without a sizeLimit it may grow until the container is OOM-killed, or, with no memory limit, until
the node runs short (Kubernetes docs, "Volumes: emptyDir": set sizeLimit on a memory-backed volume).
Use instead: `emptyDir: {medium: Memory, sizeLimit: 8Gi}` (what dlgen new writes: the size of the
kind's shared memory).
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG133"
NAME = "shm-without-size-limit"
SEVERITY = "info"
TARGET = "kubernetes"
WHY = "A memory-backed emptyDir without sizeLimit grows against the pod's memory unbounded."
FAIL = [
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      containers:
        - name: train
          image: pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime
          command: [python, train.py]
          resources: {limits: {nvidia.com/gpu: 1}}
          volumeMounts: [{name: dshm, mountPath: /dev/shm}]
      volumes: [{name: dshm, emptyDir: {medium: Memory}}]
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
        - name: train
          image: pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime
          command: [python, train.py]
          resources: {limits: {nvidia.com/gpu: 1}}
          volumeMounts: [{name: dshm, mountPath: /dev/shm}]
      volumes: [{name: dshm, emptyDir: {medium: Memory, sizeLimit: 8Gi}}]
""",
]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    if not info:
        return
    mounted = {v.source for v in spec.volumes}
    for vol in info.volumes:
        empty = vol.get("emptyDir")
        if vol.get("name") not in mounted or not isinstance(empty, dict) or empty.get("medium") != "Memory":
            continue
        if not empty.get("sizeLimit"):
            yield rulekit.Hit(line=info.volume_lines.get(str(vol.get("name")), spec.line),
                              message=f"{rulekit.k8s_where(spec)}: memory-backed volume {vol.get('name')} has no "
                                      "sizeLimit: it grows against the pod's memory unbounded",
                              hint="add sizeLimit (e.g. 8Gi) to its emptyDir")
