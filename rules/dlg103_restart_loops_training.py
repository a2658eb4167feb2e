"""DLG103 restart-loops-training.

What it does: reports `--restart always` / `unless-stopped` on a training or one-off job
(torchrun, `accelerate launch`, deepspeed, `python -m torch.distributed.run`, `train.py`, ...).
Why is this bad: a job that fails on a code or data error is restarted forever (with backoff
up to 1 minute), re-downloading and re-allocating GPUs each time; a job that finishes (exit 0)
is started again from scratch with `always` (Docker docs, "Start containers automatically": docs.docker.com/engine/containers/start-containers-automatically/).
Use instead: `--restart on-failure:3` (retries a crash a few times, then stays down), with
checkpoint/resume in the job.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG103"
NAME = "restart-loops-training"
SEVERITY = "warning"
TARGET = "run"
WHY = "always/unless-stopped restarts a failing (or finished) training job forever."
FAIL = ["docker run -d --gpus all --restart always my/train:1 torchrun --nproc-per-node 8 train.py\n",
        "docker run -d --gpus all --restart=unless-stopped my/train:1 accelerate launch finetune.py\n"]
PASS = ["docker run -d --gpus all --restart on-failure:3 my/train:1 torchrun --nproc-per-node 8 train.py\n",
        "docker run -d --gpus all --restart always -p 8000:8000 vllm/vllm-openai:v0.11.0 --model x\n"]
JOB = re.compile(r"\b(torchrun|accelerate\s+launch|deepspeed|torch\.distributed\.(run|launch)|lightning\s+run|"
                 r"[\w/.-]*(train|finetune|fine_tune|pretrain)[\w.-]*\.py|pytest|python\s+-c)\b")


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    policy = (spec.restart or "").split(":")[0]
    if policy not in ("always", "unless-stopped"):
        return
    command = " ".join(spec.full_command())
    kind = spec.labels.get("ai.dlgen.kind")
    m = JOB.search(command)
    if m or kind == "train":
        what = m.group(0) if m else "a training job"
        yield rulekit.Hit(line=spec.line, message=f"--restart {spec.restart} on a job ({what}): a failing run restarts forever", hint="use --restart on-failure:3 (restart: on-failure:3 in compose)")
