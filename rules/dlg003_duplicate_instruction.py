"""DLG003 duplicate-instruction.

What it does: reports more than one CMD, ENTRYPOINT or HEALTHCHECK in one stage.
Why is this bad: only the last one counts; the earlier ones are dead text that readers (and
reviewers) take for the real command or probe.
Use instead: one of each per stage; delete the earlier ones.
"""

from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG003"
NAME = "duplicate-instruction"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "Only the last CMD, ENTRYPOINT or HEALTHCHECK of a stage counts; earlier ones mislead."
FAIL = ['FROM python:3.11-slim\nCMD ["python", "a.py"]\nCMD ["python", "b.py"]\n',
        'FROM python:3.11-slim\nHEALTHCHECK CMD ["python", "-V"]\nHEALTHCHECK NONE\nCMD ["python", "a.py"]\n']
PASS = ['FROM python:3.11-slim AS build\nCMD ["python", "a.py"]\nFROM python:3.11-slim\nCMD ["python", "b.py"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    for st in doc.stages:
        for cmd in ("CMD", "ENTRYPOINT", "HEALTHCHECK"):
            found = st.find(cmd)
            for ins in found[:-1]:
                yield rulekit.Hit(line=ins.line, message=f"{cmd} is repeated in this stage (line {found[-1].line}); only the last counts", hint=f"delete this {cmd}")
