"""DLG016 no-start-interval.

What it does: reports a start period of 30 s or more with no `--start-interval`.
Why is this bad: during the start period probes still run only every `--interval`; a server that
is ready after 40 s is reported healthy one whole interval later (with the default 30 s interval,
up to 30 s of "starting" for nothing; compose `--wait` and `service_healthy` wait that long).
Docker Engine 25 added `--start-interval` for this (Docker Engine 25 release notes; Dockerfile reference, HEALTHCHECK).
Use instead: `--start-interval=2s` (`--fix`); targets older than Engine 25 (config
`docker-version`) are not reported.
"""

from collections.abc import Iterator

from dlgen import rulekit, timing

ID = "DLG016"
NAME = "no-start-interval"
SEVERITY = "info"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "unsafe"
FIX_SAFETY_WHY = ("Docker Engine before 25 refuses --start-interval: on such an engine the fixed file no longer builds or runs.")
WHY = "Without --start-interval, healthy is first reported one full interval after the server is ready."
FAIL = ['FROM python:3.11-slim\nHEALTHCHECK --interval=30s --start-period=120s CMD ["python", "-V"]\n'
        'CMD ["python", "s.py"]\n']
PASS = ['FROM python:3.11-slim\nHEALTHCHECK --interval=30s --start-period=120s --start-interval=2s '
        'CMD ["python", "-V"]\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nHEALTHCHECK --interval=5s --start-period=10s CMD ["python", "-V"]\nCMD ["python", "s.py"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if ctx.docker_version is not None and ctx.docker_version < timing.START_INTERVAL_MIN_ENGINE:
        return
    for ins in doc.final.find("HEALTHCHECK"):
        hc = rulekit.healthcheck(ins, doc)
        if hc is None or hc.start_period is None or hc.start_period < 30 or ins.flag("start-interval") is not None:
            continue
        fixed = rulekit.with_flag(ins, "start-interval", f"{timing.START_INTERVAL_S}s", after="start-period")
        yield rulekit.Hit(line=ins.line, message=f"--start-period={ins.flag('start-period')} without --start-interval: "
                                       "probes run only every --interval while the model loads", hint=f"add --start-interval={timing.START_INTERVAL_S}s (Docker Engine >= 25)", fix=rulekit.replace_instr(ins, fixed))
