"""DLG034 root-user.

What it does: reports a final stage that runs as root (no USER, or USER root / 0).
Why is this bad: a process that escapes the container, or a mounted host directory, is
reached as root; many clusters (OpenShift, restricted Pod Security) refuse root containers.
Use instead: create a user and switch to it before CMD: `USER 1000` (`dlgen new` does).
"""


from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG034"
NAME = "root-user"
SEVERITY = "info"
TARGET = "dockerfile"
WHY = "The final image runs as root: an escape or a mounted host path is reached as root."
FAIL = ['FROM python:3.11-slim\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nUSER app\nUSER root\nCMD ["python", "s.py"]\n']
PASS = ['FROM python:3.11-slim\nRUN useradd -m -u 1000 app\nUSER 1000\nCMD ["python", "s.py"]\n',
        'FROM quay.io/jupyter/pytorch-notebook:cuda12-2024-10-07\nCMD ["start-notebook.py"]\n',
        'FROM quay.io/jupyter/scipy-notebook:2024-10-07\nRUN pip install --no-cache-dir polars==1.9.0\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    users = rulekit.chain_instrs(doc, "USER")
    if not users:
        base_user = rulekit.base_user(doc)   # the base image's own USER (images.yaml): jovyan, model-server
        if (base_user and base_user not in ("root", "0")) or not doc.final.base:
            return
        at = doc.final.instrs[-1] if doc.final.instrs else None
        yield rulekit.Hit(line=at.line if at else 1, message="the final image runs as root (no USER)", hint="add a user and USER 1000 before CMD")
        return
    last = users[-1]
    user = doc.resolve(" ".join(last.value)).split(":")[0].strip()
    if user in ("root", "0"):
        yield rulekit.Hit(line=last.line, message="the final image runs as root", hint="switch to an unprivileged USER before CMD")
