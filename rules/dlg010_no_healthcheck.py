"""DLG010 no-healthcheck.

What it does: reports an image that serves something (EXPOSE, or a known server in CMD /
ENTRYPOINT) and has no HEALTHCHECK.
Why is this bad: Docker, compose `--wait` and `depends_on: service_healthy` cannot tell a
loading or dead model server from a ready one.
Use instead: a HEALTHCHECK against the server's readiness endpoint with a start period sized
to the model (`dlgen new` writes one).
"""

import re

ID = "DLG010"
NAME = "no-healthcheck"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "Without a HEALTHCHECK nothing can tell a loading or dead model server from a ready one."
FAIL = ['FROM vllm/vllm-openai:v0.11.0\nEXPOSE 8000\nCMD ["--model", "x"]\n']
PASS = ['FROM vllm/vllm-openai:v0.11.0\nEXPOSE 8000\n'
        'HEALTHCHECK --start-period=300s --start-interval=2s CMD ["curl", "-fsS", "http://localhost:8000/health"]\n'
        'CMD ["--model", "x"]\n',
        'FROM python:3.11-slim\nCMD ["python", "train.py"]\n']
SERVERS = re.compile(r"\b(vllm|uvicorn|gunicorn|fastapi|text-generation-launcher|tritonserver|torchserve|"
                     r"sglang\.launch_server|llama-server|flask|streamlit|gradio|jupyter|tensorboard|ray serve)\b")


def check(doc, ctx):
    final = doc.final
    if final.find("HEALTHCHECK"):
        return
    expose = final.find("EXPOSE")
    cmds = final.find("CMD", "ENTRYPOINT")
    text = " ".join(" ".join(i.value) for i in cmds)
    if expose or SERVERS.search(text):
        at = (cmds or expose)[-1]
        yield at.line, 1, "this image serves something but has no HEALTHCHECK", \
            "add a HEALTHCHECK on the readiness endpoint (dlgen new shows one sized to the model)"
