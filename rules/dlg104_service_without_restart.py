"""DLG104 service-without-restart.

What it does: reports a detached service with published ports and no restart policy.
Why is this bad: the server does not come back after a crash, an OOM kill or a host reboot;
the port just stops answering.
Use instead: `--restart unless-stopped` (`restart: unless-stopped` in compose).
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG104"
NAME = "service-without-restart"
SEVERITY = "info"
TARGET = "run"
WHY = "A detached server with no restart policy stays down after a crash or reboot."
FAIL = ["docker run -d --gpus all -p 8000:8000 vllm/vllm-openai:v0.11.0 --model x\n",
        "docker run -d --rm --gpus all -p 8080:80 ghcr.io/huggingface/text-generation-inference:2.4.1 --model-id m\n"]
PASS = ["docker run -d --gpus all --restart unless-stopped -p 8000:8000 vllm/vllm-openai:v0.11.0 --model x\n",
        "docker run --rm -it -p 8888:8888 jupyter/base-notebook:2024-10-07\n"]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if not spec.detach or spec.restart is not None:
        return
    if any(p.host is not None for p in spec.ports):
        where = f"service {spec.service}" if spec.service else "this detached container"
        if spec.remove:   # --rm: once it stops it is gone, and nothing starts it again
            yield rulekit.Hit(line=spec.line, message=f"{where} publishes ports and is removed when it stops (--rm): "
                              "a crash ends the service", hint="drop --rm and add --restart unless-stopped")
            return
        yield rulekit.Hit(line=spec.line, message=f"{where} publishes ports but has no restart policy",
                          hint="add --restart unless-stopped (restart: unless-stopped in compose)")
