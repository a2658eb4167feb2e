"""DLG001 no-command.

What it does: reports a final stage that has neither CMD nor ENTRYPOINT on a base image known to run
none of its own (images.yaml, `scratch`). On another project's image, whose own Dockerfile this file
does not show, it reports only an image meant to serve (EXPOSE, HEALTHCHECK), as a warning.
Why is this bad: the container then runs the base image's default, usually a shell, which exits at
once when started detached; a serving image (EXPOSE or HEALTHCHECK) is certainly broken.
Use instead: an exec-form CMD that starts your server or job.
"""

from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG001"
NAME = "no-command"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "Without CMD or ENTRYPOINT the container runs the base image's default shell and exits at once."
FAIL = ["FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nCOPY app.py /app/\n",
        "FROM ubuntu:24.04\nRUN apt-get update && apt-get install -y --no-install-recommends python3\nEXPOSE 8000\n"]
PASS = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nCOPY app.py /app/\nCMD ["python", "/app/app.py"]\n',
        # the base image's own ENTRYPOINT runs (TGI's launcher; images.yaml)
        'FROM ghcr.io/huggingface/text-generation-inference:2.4.1\nCOPY models/ /data/\n',
        # the stage it builds FROM has the CMD
        'FROM python:3.11-slim AS app\nCMD ["python", "serve.py"]\nFROM app\nCOPY extra.py /app/\n',
        # another project's image: its own Dockerfile may set the command (not known here)
        'FROM ghcr.io/example/train-base:1.4\nCOPY config.yaml /app/\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if rulekit.inherited_command(doc):   # this file's CMD/ENTRYPOINT, an earlier stage's, or the base image's
        return
    final = doc.final
    serving = rulekit.chain_instrs(doc, "EXPOSE", "HEALTHCHECK")
    known = rulekit.base_image(doc) == "scratch" or bool(rulekit.image_facts(doc))
    if not known and not serving:
        return   # a base this file cannot see into, and nothing says it serves: its Dockerfile may set the command
    last = final.instrs[-1]
    msg = "the final stage has no CMD or ENTRYPOINT: the container runs the base image's default and exits"
    if serving:
        msg += " (this image EXPOSEs a port or has a HEALTHCHECK, so it is meant to serve)"
    if not known:
        msg += f"; unless {rulekit.base_image(doc)} sets a command of its own"
    yield rulekit.Hit(line=last.line, message=msg, hint='add an exec-form CMD, e.g. CMD ["python", "server.py"]',
                      severity="error" if serving and known else None)
