"""DLG108 legacy-gpu-flags.

What it does: reports `nvidia-docker`, `--runtime=nvidia` alone or next to `--gpus`, and
`NVIDIA_VISIBLE_DEVICES` as the only GPU request.
Why is this bad: nvidia-docker (v1/v2 wrapper) is deprecated; `--runtime=nvidia` needs a
daemon.json entry that the NVIDIA Container Toolkit no longer requires, and with `--gpus` it is
redundant; NVIDIA_VISIBLE_DEVICES only works when the nvidia runtime is the default
(NVIDIA Container Toolkit docs, "Specialized Configurations with Docker").
Use instead: `docker run --gpus all` (compose: a device reservation with capabilities [gpu]).
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG108"
NAME = "legacy-gpu-flags"
SEVERITY = "info"
TARGET = "run"
WHY = "nvidia-docker, --runtime=nvidia and NVIDIA_VISIBLE_DEVICES are legacy ways to request GPUs."
FAIL = ["nvidia-docker run my/model:1\n", "docker run --runtime=nvidia my/model:1\n",
        "docker run --runtime=nvidia --gpus all my/model:1\n",
        "docker run -e NVIDIA_VISIBLE_DEVICES=all my/model:1\n"]
PASS = ["docker run --gpus all my/model:1\n", "docker run --gpus all -e NVIDIA_VISIBLE_DEVICES=0 my/model:1\n"]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    fix = "use a deploy.resources.reservations.devices GPU reservation" if spec.origin == "compose" \
        else "use --gpus all"
    if spec.extra.get("nvidia_docker"):
        yield rulekit.Hit(line=spec.line, message="nvidia-docker is deprecated", hint="use docker run --gpus all")
        return
    nvidia_runtime = (spec.runtime or "").lower() == "nvidia"
    if nvidia_runtime and (spec.gpus or spec.compose_gpu_devices()):
        yield rulekit.Hit(line=spec.line, message="--runtime=nvidia next to a GPU request is redundant", hint="drop --runtime=nvidia")
    elif nvidia_runtime:
        yield rulekit.Hit(line=spec.line, message="--runtime=nvidia is the legacy GPU request (needs a daemon.json runtime entry)", hint=fix)
    elif spec.env.get("NVIDIA_VISIBLE_DEVICES") not in (None, "", "none", "void") and not spec.requests_gpu:
        yield rulekit.Hit(line=spec.line, message="NVIDIA_VISIBLE_DEVICES is the only GPU request: it works only when nvidia is the "\
                            "default runtime", hint=fix)
