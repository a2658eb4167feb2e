"""DLG135 distributed-job-unwired.

What it does: reports several pods of one torch job (a Job's parallelism, a Deployment's or
StatefulSet's replicas, a JobSet's replicated job, a group's size) whose command starts
`torchrun` (or `python -m torch.distributed.run`) without a node count above one, when no operator
wires the group (Kubeflow Trainer and the training-operator set the node count, rank and master
address: dlgen/data/kube_workloads.yaml).
Why is this bad: each pod then forms a world of its own: N separate trainings on the same data,
each writing the same checkpoints, instead of one job over all GPUs (torchrun docs: `--nnodes`,
`--node-rank` or a rendezvous endpoint; kubeflow/sdk#142: pods without their distributed
arguments hang, then time out).
Use instead: `--nnodes N` with a c10d rendezvous on one pod (`--rdzv-backend c10d
--rdzv-endpoint HOST:29400`), or run it as a Kubeflow TrainJob, which wires the group.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG135"
NAME = "distributed-job-unwired"
SEVERITY = "error"
TARGET = "kubernetes"
WHY = "Several pods of one torch job without a node count each train as a world of their own."
FAIL = [
    """\
apiVersion: batch/v1
kind: Job
metadata: {name: train}
spec:
  parallelism: 2
  completions: 2
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: train
          image: my/train:1.0
          command: [torchrun, --nproc-per-node, "8", train.py]
          resources: {limits: {nvidia.com/gpu: 8}}
""",
]
PASS = [
    """\
apiVersion: batch/v1
kind: Job
metadata: {name: train}
spec:
  parallelism: 2
  completions: 2
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: train
          image: my/train:1.0
          command: [torchrun, --nnodes, "2", --rdzv-backend, c10d, --rdzv-endpoint, "train-0.train:29400", --nproc-per-node, "8", train.py]
          resources: {limits: {nvidia.com/gpu: 8}}
""",
    """\
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: train}
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      template:
        spec:
          containers:
            - {name: pytorch, image: my/train:1.0, command: [torchrun, --nproc-per-node, "8", train.py]}
    Worker:
      replicas: 1
      template:
        spec:
          containers:
            - {name: pytorch, image: my/train:1.0, command: [torchrun, --nproc-per-node, "8", train.py]}
""",
]
TORCHRUN = re.compile(r"\btorchrun\b|torch\.distributed\.(run|launch)\b")


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    info = rulekit.k8s(spec)
    words = spec.full_command()
    if not info or "group" in info.adds or not TORCHRUN.search(" ".join(words)):
        return
    pods = max(info.replicas or 1, info.group or 1)
    if pods < 2:
        return
    nodes = rulekit.option_value(words, ["--nnodes", "--nnodes="]) or spec.env.get("PET_NNODES") or ""
    most = nodes.split(":")[-1]
    if most.isdigit() and int(most) > 1:
        return
    said = f"--nnodes {nodes}" if nodes else ("--standalone" if "--standalone" in words else "no --nnodes")
    yield rulekit.Hit(line=spec.line, message=f"{rulekit.k8s_where(spec)} runs {pods} pods of torchrun with {said}: "
                      "each pod trains as a world of its own",
                      hint=f"pass --nnodes {pods} with --rdzv-backend c10d --rdzv-endpoint <one pod's address>:29400, "
                           "or run it as a Kubeflow TrainJob")
