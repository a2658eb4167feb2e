"""DLG122 depends-on-started.

What it does: reports a service that depends on a service with a healthcheck using
`condition: service_started` (or the short list form, which means the same).
Why is this bad: `service_started` only waits for the container to exist; the client starts
while the model is still loading and its first requests fail (connection refused / 503).
`service_healthy` waits until the healthcheck passes.
Use instead:
    depends_on: {llm: {condition: service_healthy}}
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG122"
NAME = "depends-on-started"
SEVERITY = "info"
TARGET = "run"
WHY = "service_started does not wait for the model to load; service_healthy does."
_LLM = ("  llm:\n    image: my/llm:1\n    healthcheck:\n      test: [CMD, python, /app/probe.py]\n"
        "      start_period: 80s\n")
FAIL = "services:\n" + _LLM + "  app:\n    image: my/app:1\n    depends_on:\n      llm:\n" \
       "        condition: service_started\n", \
       "services:\n" + _LLM + "  app:\n    image: my/app:1\n    depends_on: [llm]\n"
PASS = ["services:\n" + _LLM + "  app:\n    image: my/app:1\n    depends_on:\n      llm:\n"
        "        condition: service_healthy\n",
        "services:\n  db:\n    image: my/db:1\n  app:\n    image: my/app:1\n    depends_on: [db]\n"]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    deps = spec.extra.get("depends_on")
    if not deps or spec.origin != "compose" or not isinstance(deps, (list, dict)):
        return
    others = {d.service: d for d in ctx.docs if getattr(d, "service", "")}
    items = {str(d): "service_started" for d in deps} if isinstance(deps, list) else \
        {str(k): (v or {}).get("condition", "service_started") if isinstance(v, dict) else "service_started"
         for k, v in deps.items()}
    for name, condition in items.items():
        target = others.get(name)
        if condition == "service_started" and target and target.health and not target.health.disabled:
            yield rulekit.Hit(line=spec.line, message=f"service {spec.service} starts as soon as {name} exists, not when it is healthy", hint=f"use depends_on: {{{name}: {{condition: service_healthy}}}}")
