"""DLG013 healthcheck-timing.

What it does: reports HEALTHCHECK options that work against each other: a timeout at or above
the interval, `--retries=0`, `--start-interval` without `--start-period` (it only applies during
the start period, so it has no effect), and an interval under 5 s with no start period.
Why is this bad: a probe that may run as long as the interval piles up behind itself; zero
retries means the default (3) on some engines and "never unhealthy" reasoning on none; a very
short interval with no start period probes a loading model every few seconds forever
(Dockerfile reference, HEALTHCHECK: docs.docker.com/reference/dockerfile/#healthcheck).
Use instead: timeout well under the interval (10 s / 30 s), retries >= 1, a start period with
a short start interval for the load, a calm interval afterwards.
"""

from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG013"
NAME = "healthcheck-timing"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "Timeout >= interval, zero retries or a start interval with no start period defeat the health check."
FAIL = ['FROM python:3.11-slim\nHEALTHCHECK --interval=10s --timeout=10s CMD ["python", "-V"]\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nHEALTHCHECK --retries=0 CMD ["python", "-V"]\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nHEALTHCHECK --start-interval=2s CMD ["python", "-V"]\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nHEALTHCHECK --interval=2s --timeout=1s CMD ["python", "-V"]\nCMD ["python", "s.py"]\n']
PASS = ['FROM python:3.11-slim\nHEALTHCHECK --interval=30s --timeout=10s --start-period=60s --start-interval=2s '
        '--retries=3 CMD ["python", "-V"]\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nHEALTHCHECK CMD ["python", "-V"]\nCMD ["python", "s.py"]\n']
# Docker's defaults: interval 30 s, timeout 30 s, retries 3 (Dockerfile reference, HEALTHCHECK: docs.docker.com/reference/dockerfile/#healthcheck).
DEFAULT_INTERVAL_S = 30.0
DEFAULT_TIMEOUT_S = 30.0


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    for ins in doc.final.find("HEALTHCHECK"):
        hc = rulekit.healthcheck(ins, doc)
        if hc is None:
            continue
        for key in hc.bad:
            yield rulekit.Hit(line=ins.line, message=f"--{key}={ins.flag(key)} is not a duration", hint="write it like 30s, 1m30s or 500ms")
        if hc.interval is not None or hc.timeout is not None:
            interval = hc.interval if hc.interval is not None else DEFAULT_INTERVAL_S
            timeout = hc.timeout if hc.timeout is not None else DEFAULT_TIMEOUT_S
            if timeout >= interval:
                yield rulekit.Hit(line=ins.line, message=f"probe timeout ({timeout:g} s) is not below the interval ({interval:g} s)", hint="keep the timeout well under the interval, e.g. --interval=30s --timeout=10s")
        if hc.retries == 0:
            yield rulekit.Hit(line=ins.line, message="--retries=0: the check never counts failures as intended", hint="use --retries=3")
        if hc.start_interval is not None and hc.start_period is None:
            yield rulekit.Hit(line=ins.line, message="--start-interval without --start-period has no effect (it only applies during the " \
                               "start period)", hint="add --start-period sized to the load time")
        if hc.interval is not None and hc.interval < 5 and hc.start_period is None:
            yield rulekit.Hit(line=ins.line, message=f"--interval={ins.flag('interval')} with no start period probes every few seconds " \
                               "forever", hint="use --start-period with --start-interval=2s and a calm --interval=30s")
