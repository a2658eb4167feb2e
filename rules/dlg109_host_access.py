"""DLG109 host-access.

What it does: reports `--privileged`, the Docker socket mounted into the container, `--pid=host`,
and `--network=host` together with published ports.
Why is this bad: each gives the container the host: privileged sees every device and can
mount the host disk; the socket is root on the host; host PID namespace can signal and trace
host processes. With host networking, `-p` is ignored, so the ports are not what they seem.
Use instead: `--gpus` for GPUs (not --privileged), `--ipc=host` or `--shm-size` for shared
memory, a bridge network with `-p`.
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG109"
NAME = "host-access"
SEVERITY = "warning"
TARGET = "run"
WHY = "--privileged, the Docker socket or --pid=host give the container the host."
FAIL = ["docker run --privileged --gpus all my/model:1\n",
        "docker run -v /var/run/docker.sock:/var/run/docker.sock my/tool:1\n",
        "docker run --pid=host my/tool:1\n",
        "docker run --network=host -p 8000:8000 --gpus all my/model:1\n"]
PASS = ["docker run --gpus all --ipc=host -p 8000:8000 my/model:1\n",
        "docker run --network=host --gpus all my/model:1\n"]
SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if spec.privileged:
        yield rulekit.Hit(line=spec.line, message="--privileged gives the container every host device", hint="drop it; --gpus all is enough for GPUs")
    for v in spec.volumes:
        if v.source in SOCKETS:
            yield rulekit.Hit(line=spec.line, message="the Docker socket is mounted: the container is root on the host", hint="do not mount the socket")
    if spec.pid == "host":
        yield rulekit.Hit(line=spec.line, message="--pid=host shares the host's process namespace", hint="drop --pid=host")
    if spec.network == "host" and spec.ports:
        yield rulekit.Hit(line=spec.line, message="--network=host ignores the published ports", hint="drop -p, or use a bridge network")
