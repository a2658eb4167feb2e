"""DLG109 host-access.

What it does: reports `--privileged`, the Docker socket mounted into the container, `--pid=host`,
and `--network=host` together with published ports.
Why is this bad: each gives the container the host: privileged sees every device and can
mount the host disk; the socket is root on the host; host PID namespace can signal and trace
host processes. With host networking, `-p` is ignored, so the ports are not what they seem.
Use instead: `--gpus` for GPUs (not --privileged), `--ipc=host` or `--shm-size` for shared
memory, a bridge network with `-p`.
"""

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


def check(spec, ctx):
    if spec.privileged:
        yield spec.line, 1, "--privileged gives the container every host device", \
            "drop it; --gpus all is enough for GPUs"
    for v in spec.volumes:
        if v.source in SOCKETS:
            yield spec.line, 1, "the Docker socket is mounted: the container is root on the host", \
                "do not mount the socket"
    if spec.pid == "host":
        yield spec.line, 1, "--pid=host shares the host's process namespace", "drop --pid=host"
    if spec.network == "host" and spec.ports:
        yield spec.line, 1, "--network=host ignores the published ports", "drop -p, or use a bridge network"
