"""DLG010 no-healthcheck.

What it does: reports an image that serves something (EXPOSE, or a known server in CMD /
ENTRYPOINT) and has no HEALTHCHECK.
Why is this bad: Docker, compose `--wait` and `depends_on: service_healthy` cannot tell a
loading or dead model server from a ready one.
Use instead: a HEALTHCHECK against the server's readiness endpoint with a start period sized
to the model (`dlgen new` writes one).
"""

import re

from dlgen import rulekit

ID = "DLG010"
NAME = "no-healthcheck"
SEVERITY = "warning"
TARGET = "dockerfile"
FIXABLE = True
WHY = "Without a HEALTHCHECK nothing can tell a loading or dead model server from a ready one."
FAIL = ['FROM vllm/vllm-openai:v0.11.0\nEXPOSE 8000\nCMD ["--model", "x"]\n']
PASS = ['FROM vllm/vllm-openai:v0.11.0\nEXPOSE 8000\n'
        'HEALTHCHECK --start-period=300s --start-interval=2s CMD ["curl", "-fsS", "http://localhost:8000/health"]\n'
        'CMD ["--model", "x"]\n',
        'FROM python:3.11-slim\nCMD ["python", "train.py"]\n']
SERVERS = re.compile(r"\b(vllm|uvicorn|gunicorn|fastapi|text-generation-launcher|tritonserver|torchserve|"
                     r"sglang\.launch_server|llama-server|flask|streamlit|gradio|jupyter|tensorboard|ray serve)\b")


def _fix(doc, ctx, before):
    """A HEALTHCHECK on the server preset's readiness endpoint, sized like `dlgen new` sizes it."""
    server = rulekit.image_server(doc)
    if rulekit.preset(server).get("generated_app") and rulekit.labels_of(doc).get("ai.dlgen.server") != server:
        return ()  # a user's own FastAPI/python app: its endpoints are its own, not dlgen's /ready
    probe = rulekit.preset_probe(doc, server, ctx)
    if not probe:
        return ()
    from dlgen.runspec import Health

    t = rulekit.timing_for(rulekit.image_model(doc, ctx), server, ctx)
    health = Health(test=["CMD", *probe[0]], interval=t.interval_s, timeout=t.timeout_s, start_period=t.start_period_s,
                    start_interval=t.start_interval_s, retries=t.retries)
    return (rulekit.Edit(before, before - 1, health.dockerfile()),)


def check(doc, ctx):
    final = doc.final
    if final.find("HEALTHCHECK"):
        return
    expose = final.find("EXPOSE")
    cmds = final.find("CMD", "ENTRYPOINT")
    text = " ".join(" ".join(i.value) for i in cmds)
    if expose or SERVERS.search(text) or rulekit.image_server(doc) in rulekit.model_servers():
        at = (cmds or expose or final.instrs[-1:])[-1]
        before = cmds[0].line if cmds else final.instrs[-1].end_line + 1
        yield rulekit.Hit(line=at.line, message="this image serves something but has no HEALTHCHECK", hint="add a HEALTHCHECK on the readiness endpoint (dlgen new shows one sized to the model)", fix=_fix(doc, ctx, before))
