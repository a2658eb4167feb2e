"""DLG121 compose-healthcheck.

What it does: reports a GPU model service in compose without a healthcheck, without
`start_period`, or with a `start_period` below the model's estimated load time (the same
`dlgen.timing.for_server` that `dlgen new` uses; the model from `--model`, the config, a
`ai.dlgen.model` label or the command), and any `start_interval` without `start_period`.
Why is this bad: `docker compose up --wait` and `depends_on: service_healthy` have nothing to wait
for, or give up while the weights load; after the start period a loading model counts as failing
(Dockerfile reference, HEALTHCHECK: docs.docker.com/reference/dockerfile/#healthcheck).
Use instead: a healthcheck on the readiness endpoint with `start_period` from `dlgen models` and
`start_interval: 2s` (the compose.yaml of `dlgen new`).
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG121"
NAME = "compose-healthcheck"
SEVERITY = "warning"
TARGET = "run"
WHY = "compose cannot wait for a model service that has no (or a too short) healthcheck."
_GPU = ("    deploy:\n      resources:\n        reservations:\n          devices:\n"
        "            - {driver: nvidia, count: all, capabilities: [gpu]}\n")
_SVC = "services:\n  llm:\n    image: vllm/vllm-openai:v0.11.0\n    command: [--model, meta-llama/Llama-3.1-70B-Instruct]\n"
FAIL = [_SVC + _GPU,
        _SVC + _GPU + "    healthcheck:\n      test: [CMD, curl, -fsS, http://localhost:8000/health]\n",
        _SVC + _GPU + "    healthcheck:\n      test: [CMD, curl, -fsS, http://localhost:8000/health]\n"
                      "      start_period: 60s\n      start_interval: 2s\n",
        "services:\n  web:\n    image: my/web:1\n    healthcheck:\n      test: [CMD, true]\n      start_interval: 2s\n",
        # a model server known by its command, whatever its image is called (whisper.cpp's server)
        "services:\n  stt:\n    image: my-org/stt:1.2\n    command: [whisper-server, --model, /m/ggml-large-v3.bin]\n"
        + _GPU]
PASS = [_SVC + _GPU + "    healthcheck:\n      test: [CMD, curl, -fsS, http://localhost:8000/health]\n"
                      "      start_period: 900s\n      start_interval: 2s\n",
        "services:\n  db:\n    image: postgres:16\n",
        # a GPU service that serves no model (a notebook): not this rule's
        "services:\n  lab:\n    image: my/lab:1\n    command: [jupyter, lab]\n" + _GPU]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if spec.origin != "compose":
        return
    h = spec.health
    if h and not h.disabled and h.start_interval is not None and h.start_period is None:
        yield rulekit.Hit(line=spec.line, message=f"service {spec.service}: start_interval without start_period has no effect", hint="add start_period sized to the load time")
    if not spec.requests_gpu:
        return
    words = spec.full_command()
    server = rulekit.server_of(spec.image, " ".join(words), label=spec.labels.get("ai.dlgen.server"))
    found = rulekit.find_model(ctx, labels=spec.labels, words=words, env=spec.env)
    serves = server in rulekit.model_servers() or rulekit.serving_command(" ".join(words), models=True)
    if not (found or serves or (h and rulekit.measured_timings(ctx))):
        return   # (a timings.json beside it: a bundle whose start-up was measured)
    t = rulekit.timing_for(found, server, ctx)
    if h is None or h.disabled:
        if h is None and spec.extra.get("build") is not None:
            return  # the built image may carry its own HEALTHCHECK
        yield rulekit.Hit(line=spec.line, message=f"GPU model service {spec.service} has no healthcheck: compose cannot wait for it", hint=f"add a healthcheck on the readiness endpoint with start_period: {t.start_period_s}s")
        return
    if h.start_period is None:
        yield rulekit.Hit(line=spec.line, message=f"service {spec.service}: healthcheck without start_period; load-time failures count", hint=f"add start_period: {t.start_period_s}s and start_interval: {t.start_interval_s or 2}s")
    elif rulekit.measured_timings(ctx) and h.start_period < t.load_s:
        yield rulekit.Hit(line=spec.line, message=f"service {spec.service}: start_period {h.start_period:g}s is below the "
                          f"load time {rulekit.load_source(ctx)}: {t.load_s:.0f} s",
                          hint=f"use start_period: {t.start_period_s}s (or run dlgen verify --write-timings)")
    elif found and h.start_period < t.load_s:
        yield rulekit.Hit(line=spec.line, message=f"service {spec.service}: start_period {h.start_period:g}s is below the estimated load " \
                            f"time of {found.model.name} ({t.load_s:.0f} s; model from {found.where})", hint=f"use start_period: {t.start_period_s}s (what dlgen new writes)")
