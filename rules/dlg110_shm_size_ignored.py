"""DLG110 shm-size-ignored.

What it does: reports `--ipc=host` together with `--shm-size`.
Why is this bad: with the host IPC namespace the container uses the host's /dev/shm, and the
size is silently ignored; the line suggests a limit that does not exist
(docker run reference, --shm-size and --ipc; PyTorch docs, "Multiprocessing best practices").
Use instead: one of the two: `--ipc=host` (the host's /dev/shm) or `--shm-size=8g`.
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG110"
NAME = "shm-size-ignored"
SEVERITY = "info"
TARGET = "run"
WHY = "--shm-size is ignored with --ipc=host: the limit it suggests does not exist."
FAIL = ["docker run --gpus all --ipc=host --shm-size=8g my/train:1\n"]
PASS = ["docker run --gpus all --ipc=host my/train:1\n", "docker run --gpus all --shm-size=8g my/train:1\n"]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if spec.ipc == "host" and spec.shm_size:
        yield rulekit.Hit(line=spec.line, message=f"--shm-size={spec.shm_size} is ignored with --ipc=host", hint="keep one: --ipc=host or --shm-size")
