"""DLG010 no-healthcheck.

What it does: reports an image that serves something (EXPOSE, or a command that starts a server:
servers.yaml's detect patterns and serving_commands, whatever the image is called) and has no
HEALTHCHECK.
Why is this bad: Docker, compose `--wait` and `depends_on: service_healthy` cannot tell a
loading or dead model server from a ready one.
Use instead: a HEALTHCHECK against the server's readiness endpoint with a start period sized
to the model (`dlgen new` writes one).
"""

from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG010"
NAME = "no-healthcheck"
SEVERITY = "warning"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "unsafe"
FIX_SAFETY_WHY = ("it adds a health check sized from the model dlgen guessed for the image: a service that was never checked can now turn unhealthy, and an orchestrator may restart it.")
WHY = "Without a HEALTHCHECK nothing can tell a loading or dead model server from a ready one."
FAIL = ['FROM vllm/vllm-openai:v0.11.0\nEXPOSE 8000\nCMD ["--model", "x"]\n',
        # llama-cpp-python's server (abetlen/llama-cpp-python docker/cuda_simple/Dockerfile shape)
        'FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN pip install --no-cache-dir llama-cpp-python==0.3.2\n'
        'CMD ["python3", "-m", "llama_cpp.server", "--model", "/models/m.gguf"]\n',
        # ComfyUI, built locally, no EXPOSE: its command says it serves (ComfyUI README: main.py --listen)
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nWORKDIR /ComfyUI\nCOPY . .\n'
        'CMD ["python", "main.py", "--listen", "0.0.0.0"]\n']
PASS = ['FROM vllm/vllm-openai:v0.11.0\nEXPOSE 8000\n'
        'HEALTHCHECK --start-period=300s --start-interval=2s CMD ["curl", "-fsS", "http://localhost:8000/health"]\n'
        'CMD ["--model", "x"]\n',
        'FROM python:3.11-slim\nCMD ["python", "train.py"]\n',
        # a base image for others to build on: EXPOSE, but no program that serves
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nEXPOSE 8000\n',
        # the base image ships its own HEALTHCHECK (llama.cpp server images; images.yaml)
        'FROM ghcr.io/ggml-org/llama.cpp:server-cuda\nCMD ["-m", "/models/m.gguf", "--port", "8080"]\n',
        # the server's image kept alive for `docker exec` (its ENTRYPOINT replaced)
        'FROM ghcr.io/huggingface/text-generation-inference:2.4.1\nENTRYPOINT ["tail"]\nCMD ["-f", "/dev/null"]\n',
        # a server's image used to run a job: its CMD replaces the server (Triton's ENTRYPOINT is a wrapper)
        'FROM nvcr.io/nvidia/tritonserver:24.08-py3\nCOPY export.py /w/\nCMD ["python3", "/w/export.py"]\n']


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


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if rulekit.chain_instrs(doc, "HEALTHCHECK") or rulekit.image_facts(doc).get("healthcheck"):
        return   # this file's, an earlier stage's, or the base image's own check (images.yaml)
    final = doc.final
    expose = rulekit.chain_instrs(doc, "EXPOSE")
    cmds = rulekit.chain_instrs(doc, "CMD", "ENTRYPOINT")
    text = " ".join(rulekit.inherited_command(doc))
    runs_program = bool(text) and not rulekit.bare_shell(rulekit.inherited_command(doc))   # a lone EXPOSE serves nothing
    # the server the command starts (a CMD or ENTRYPOINT of this file replaces the base image's own)
    server = rulekit.image_server(doc)
    if (runs_program and rulekit.serving_command(text)) or server in rulekit.model_servers() or (expose and runs_program):
        at = (cmds or expose or final.instrs[-1:])[-1]
        own = final.find("CMD", "ENTRYPOINT")
        before = own[0].line if own else final.instrs[-1].end_line + 1
        yield rulekit.Hit(line=at.line, message="this image serves something but has no HEALTHCHECK",
                          hint="add a HEALTHCHECK on the readiness endpoint (dlgen new shows one sized to the model)",
                          fix=_fix(doc, ctx, before))
