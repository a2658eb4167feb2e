"""DLG002 shell-as-command.

What it does: reports a final CMD/ENTRYPOINT that is a bare interactive shell (`bash`, `/bin/sh`).
Why is this bad: a shell with no script reads stdin; without `-it` it sees end-of-file and exits
at once, so `docker run -d` gives a container that is gone a second later.
Use instead: the command the container is for, or keep the shell and document `docker run -it`.
"""

from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG002"
NAME = "shell-as-command"
SEVERITY = "info"
TARGET = "dockerfile"
WHY = "A bare shell as the command needs -it; detached it reads end-of-file and exits at once."
FAIL = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nCMD ["bash"]\n',
        "FROM python:3.11-slim\nCMD /bin/sh\n"]
PASS = ['FROM python:3.11-slim\nCMD ["python", "train.py"]\n',
        'FROM python:3.11-slim\nCMD ["bash", "run.sh"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    argv = rulekit.final_command(doc)
    if rulekit.bare_shell(argv):
        ins = rulekit.chain_instrs(doc, "CMD", "ENTRYPOINT")[-1]
        yield rulekit.Hit(line=ins.line, message=f"the container's command is a bare shell ({' '.join(argv)}): it exits at once " \
                           "unless run with -it", hint="run the workload itself, or document docker run -it")
