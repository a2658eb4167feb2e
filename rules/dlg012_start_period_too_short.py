"""DLG012 start-period-too-short.

What it does: reports a `--start-period` below the estimated load time of the model the image
serves. The model comes from `--model`, the config file, a `LABEL ai.dlgen.model`, or a model id
or size found in CMD, ENTRYPOINT or ENV; the estimate is `dlgen.timing.for_server`, the same
function `dlgen new` sizes its start periods with (boot + weights / disk speed + warm-up).
Why is this bad: once the start period is over, every failed probe counts; the container turns
unhealthy while the model is still loading, and orchestrators kill it: a restart loop that never
serves (Dockerfile reference, HEALTHCHECK: docs.docker.com/reference/dockerfile/#healthcheck).
Use instead: the start period `dlgen new` would write (`--fix`), or `dlgen models` to see it.
"""

from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG012"
NAME = "start-period-too-short"
SEVERITY = "error"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "unsafe"
FIX_SAFETY_WHY = ("it rewrites the probe's timing from an estimate (or a measurement on another host): the container is reported healthy or unhealthy at other times.")
WHY = "A start period shorter than the model's load time makes a loading model unhealthy: it never serves."
FAIL = ['FROM vllm/vllm-openai:v0.11.0\n'
        'HEALTHCHECK --start-period=60s --start-interval=2s CMD ["curl", "-fsS", "http://localhost:8000/health"]\n'
        'CMD ["--model", "meta-llama/Llama-3.1-70B-Instruct"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nLABEL ai.dlgen.model="llama-8b"\nEXPOSE 8000\n'
        'HEALTHCHECK --start-period=10s CMD ["python", "/app/probe.py"]\nCMD ["python", "/app/server.py"]\n']
PASS = ['FROM vllm/vllm-openai:v0.11.0\n'
        'HEALTHCHECK --start-period=900s --start-interval=2s CMD ["curl", "-fsS", "http://localhost:8000/health"]\n'
        'CMD ["--model", "meta-llama/Llama-3.1-70B-Instruct"]\n',
        'FROM vllm/vllm-openai:v0.11.0\nHEALTHCHECK --start-period=60s CMD ["curl", "-fsS", "http://localhost:8000/"]\n'
        'CMD ["--model", "/models/mine"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    hcs = [i for i in doc.final.find("HEALTHCHECK") if rulekit.healthcheck(i, doc)]
    if not hcs:
        return
    ins = hcs[-1]
    hc = rulekit.healthcheck(ins, doc)
    if hc.start_period is None:
        return
    found = rulekit.image_model(doc, ctx)
    measured = rulekit.measured_timings(ctx)   # a timings.json beside it: the load measured on its host
    if not found and not measured:
        return
    server = rulekit.image_server(doc)
    t = rulekit.timing_for(found, server, ctx)
    if hc.start_period >= t.load_s:
        return
    fixed = rulekit.render_instr(ins, flags=[f"--start-period={t.start_period_s}s" if f.startswith("--start-period")
                                             else f for f in ins.flags])
    if measured:
        yield rulekit.Hit(line=ins.line, message=f"--start-period={ins.flag('start-period')} is below the load time "
                          f"{rulekit.load_source(ctx)}: {t.load_s:.0f} s",
                          hint=f"use --start-period={t.start_period_s}s (or run dlgen verify --write-timings)",
                          fix=rulekit.replace_instr(ins, fixed))
        return
    assert found is not None   # without a measurement, a model was found above
    p = rulekit.preset(server)
    m = found.model
    yield rulekit.Hit(line=ins.line, message=f"--start-period={ins.flag('start-period')} is below the estimated load time of {m.name} "
        f"({t.load_s:.0f} s with {server or 'a python server'}: boot {p['boot_s']} s + {m.weights_gb:.1f} GB of "
        f"weights + warm-up {p['warmup_s']} s; model from {found.where})", hint=f"use --start-period={t.start_period_s}s (what dlgen new writes)", fix=rulekit.replace_instr(ins, fixed))
