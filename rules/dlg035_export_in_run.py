"""DLG035 export-in-run.

What it does: reports a RUN that only exports variables (`RUN export X=...`).
Why is this bad: every RUN is a new shell; the variable is gone in the next instruction and in
the running container. The usual intent (`export PATH=...`, `export CUDA_HOME=...`) silently
does nothing.
Use instead: `ENV X=...` (or `ARG` for build-time only), or set it on the RUN that needs it.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG035"
NAME = "export-in-run"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "RUN export sets a variable in a shell that ends with the RUN: the next layer never sees it."
FAIL = ['FROM python:3.11-slim\nRUN export CUDA_HOME=/usr/local/cuda\nCMD ["python", "s.py"]\n']
PASS = ['FROM python:3.11-slim\nENV CUDA_HOME=/usr/local/cuda\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN export PIP_INDEX=x && pip install --no-cache-dir numpy\nCMD ["python", "s.py"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    for ins, text in rulekit.run_texts(doc):
        if ins.json:
            continue
        cmds = rulekit.shell_commands(text)
        if cmds and all(re.match(r"^export\s+\w+=", c) for c in cmds):
            names = ", ".join(m.group(1) for c in cmds if (m := re.match(r"^export\s+(\w+)", c)))
            yield rulekit.Hit(line=ins.line, message=f"RUN export {names}: the variable is gone in the next layer", hint=f"use ENV {names.split(',')[0]}=... (or ARG for build time only)")
