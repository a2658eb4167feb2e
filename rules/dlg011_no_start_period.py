"""DLG011 no-start-period.

What it does: reports a HEALTHCHECK on a model-serving image that has no `--start-period`.
Why is this bad: without a start period, probe failures while the weights load count toward
`--retries`; a model that takes longer than interval x retries to load is marked unhealthy
(and restarted by orchestrators) before it ever answers (Dockerfile reference, HEALTHCHECK: docs.docker.com/reference/dockerfile/#healthcheck).
Use instead: `--start-period` sized to the model's load time; `--fix` writes the one `dlgen new`
would (dlgen.timing.for_server).
"""

from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG011"
NAME = "no-start-period"
SEVERITY = "warning"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "unsafe"
FIX_SAFETY_WHY = ("it changes when failed probes count: a start period sized from a guessed model may hide a server that dies while loading for that long.")
WHY = "Without --start-period, load-time probe failures count: a slow model is unhealthy before it is up."
FAIL = ['FROM vllm/vllm-openai:v0.11.0\nHEALTHCHECK --interval=30s CMD ["curl", "-fsS", "http://localhost:8000/health"]\n'
        'CMD ["--model", "meta-llama/Llama-3.1-8B-Instruct"]\n']
PASS = ['FROM vllm/vllm-openai:v0.11.0\nHEALTHCHECK --interval=30s --start-period=600s --start-interval=2s '
        'CMD ["curl", "-fsS", "http://localhost:8000/health"]\nCMD ["--model", "meta-llama/Llama-3.1-8B-Instruct"]\n',
        'FROM python:3.11-slim\nHEALTHCHECK CMD ["python", "-c", "print(1)"]\nCMD ["python", "job.py"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    hcs = [i for i in doc.final.find("HEALTHCHECK") if rulekit.healthcheck(i, doc)]
    if not hcs or hcs[-1].flag("start-period") is not None or not rulekit.serves_model(doc, ctx):
        return
    ins = hcs[-1]
    found = rulekit.image_model(doc, ctx)
    t = rulekit.timing_for(found, rulekit.image_server(doc), ctx)
    after = "timeout" if ins.flag("timeout") is not None else "interval"
    fixed = rulekit.with_flag(ins, "start-period", f"{t.start_period_s}s", after=after)
    sized = f"for {found.model.name}" if found else "for an 8B bf16 model (pass --model to size it)"
    yield rulekit.Hit(line=ins.line, message="HEALTHCHECK of a model server has no --start-period: probe failures while "
                                   "the weights load count toward --retries", hint=f"add --start-period={t.start_period_s}s ({sized})", fix=rulekit.replace_instr(ins, fixed))
