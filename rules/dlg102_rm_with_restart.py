"""DLG102 rm-with-restart.

What it does: reports `--rm` together with a restart policy other than `no`.
Why is this bad: docker refuses the combination and the container never starts (exit 125,
"conflicting options: cannot specify both --restart and --rm"; Docker docs, "Start containers automatically": docs.docker.com/engine/containers/start-containers-automatically/).
Use instead: `--rm` for one-off interactive runs, `--restart` for services, never both.
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG102"
NAME = "rm-with-restart"
SEVERITY = "error"
TARGET = "run"
WHY = "docker refuses --rm together with a restart policy: exit 125, the container never starts."
FAIL = ["docker run --rm --restart unless-stopped --gpus all my/model:1\n"]
PASS = ["docker run -d --restart unless-stopped --gpus all my/model:1\n",
        "docker run --rm --restart no --gpus all my/model:1\n"]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if spec.remove and spec.restart and spec.restart != "no":
        yield rulekit.Hit(line=spec.line, message=f"--rm with --restart {spec.restart}: docker refuses this (exit 125)", hint="drop --rm for a service, or drop --restart for a one-off run")
