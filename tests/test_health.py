"""One health value (runspec.Health): what `dlgen new` means, what the Dockerfile says, what compose
says and what lint reads are the same value."""

import pytest

from dlgen import bundle, rulekit
from dlgen import spec as spec_mod
from dlgen.runspec import Health
from dlgen.sources import compose_services, parse_dockerfile

CASES = [dict(model="llama-8b"), dict(model="llama-70b", server="vllm", gpus="4"), dict(model="mistral-7b", kind="train"),
         dict(kind="notebook"), dict(model="whisper-large-v3", docker_version="24"), dict(model="llama-8b", server="tgi")]


@pytest.mark.parametrize("opts", CASES, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_dockerfile_compose_and_lint_read_back_the_spec_health(opts):
    spec = spec_mod.build(**opts)
    files = bundle.render(spec, "dlgen new (test)")
    want = spec.health()
    doc = parse_dockerfile(files["Dockerfile"])
    (ins,) = doc.final.find("HEALTHCHECK")
    got = rulekit.healthcheck(ins, doc)
    assert got == want
    assert got.dockerfile() == want.dockerfile() == " ".join(ins.original.split())
    (service,) = [s for s in compose_services(files["compose.yaml"]) if s.labels.get("ai.dlgen.phase") != "fetch"]
    assert service.health == want


def test_rendering_and_parsing_are_inverse_for_odd_values():
    for h in (Health(test=["CMD-SHELL", "curl -f http://localhost:8000/ || exit 1"], interval=5, retries=0),
              Health(test=["CMD", "python", "-c", "print('a b')"], timeout=2.5, start_period=600, start_interval=1),
              Health(test=["CMD", "x"])):
        doc = parse_dockerfile("FROM python:3.11-slim\n" + h.dockerfile() + "\n")
        assert rulekit.healthcheck(doc.final.find("HEALTHCHECK")[0], doc) == h
