"""compose.yaml (and compose.cpu.yaml): the bundle as a compose project.

The server is one service built from the bundle's Dockerfile, with the image's health check restated
so compose and the image agree; where the weights are downloaded first, a one-shot fetch service runs
to completion before it (``depends_on: service_completed_successfully``), so the download is not on
the health clock. compose.cpu.yaml is the override that drops the GPU reservation for a try-out on a
machine without a GPU. ``verify --target compose`` runs ``docker compose up`` (dlgen.verify_targets).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dlgen.spec import DeploySpec
from dlgen.targets import Retime, Target, VerifyOptions, VerifyResult, register, yamltext


def fetch_name(spec: DeploySpec) -> str:
    """The fetch phase's compose service and container name."""
    return f"{spec.name}-fetch"


def named_volumes(spec: DeploySpec, volumes) -> dict:
    """compose's and a stack's top-level ``volumes``: the bundle's own keep their names (no project or
    stack prefix), so run.sh, compose and the stack use the same ones."""
    named = sorted({v.source for v in volumes if v.kind == "volume"})
    return {"volumes": {n: ({"name": n} if n.startswith(f"{spec.name}-") else {}) for n in named}} if named else {}


def document(spec: DeploySpec) -> dict:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Quoted

    run = spec.run_spec()
    svc = run.compose_service()
    svc = {"build": {"context": ".", "dockerfile": "Dockerfile"}, **svc}
    health = spec.health()
    if health:  # restate the image's check so compose and Swarm agree with it
        svc["healthcheck"] = health.compose()
    if "ports" in svc:  # quoted: YAML 1.1 readers take 8000:8000 for a base-60 number
        svc["ports"] = [Quoted(p) for p in svc["ports"]]
    doc: dict = {"services": {spec.name: svc}}
    fetch = spec.fetch_run_spec()
    if fetch:  # a one-shot service the server waits for: the download is not on the health clock
        one_shot = fetch.compose_service()
        build = {"context": ".", "dockerfile": "Dockerfile.fetch"} if spec.fetch_image else svc["build"]
        doc["services"] = {fetch_name(spec): {"build": build, **one_shot, "restart": Quoted("no")},
                           spec.name: {**svc, "depends_on": {fetch_name(spec): {
                               "condition": "service_completed_successfully"}}}}
    doc.update(named_volumes(spec, run.volumes))
    return doc


def cpu_override(spec: DeploySpec, compose: dict) -> dict | None:
    """What compose.cpu.yaml changes (over ``compose``, the bundle's compose document) so the bundle
    runs on a machine without a GPU: for bundles that ask for GPUs and run dlgen's own code on a
    torch image (vLLM, TGI and the like have no CPU path); None for the others."""
    if not spec.gpu_count or spec.kind not in ("serve", "train") or spec.preset["image"] not in ("torch", "python"):
        return None
    ulimits = dict(spec.run_spec().ulimits)
    memlock = "memlock" in ulimits
    kept = {k: v for k, v in ulimits.items() if k != "memlock"}
    return {"services": list(compose["services"]), "memlock": memlock,
            "ulimits": ("!override " + json.dumps(kept)) if kept else "!reset {}"}


def _context(spec: DeploySpec, ctx: dict) -> dict[str, Any]:
    compose = document(spec)
    return {"compose": compose, "cpu_override": cpu_override(spec, compose)}


def _files(spec: DeploySpec, ctx: dict) -> dict[str, str]:
    if spec.group:   # compose runs on one host; a group over several nodes is run.sh per node (README)
        return {}
    return {"compose.yaml": "compose.yaml.j2",
            **({"compose.cpu.yaml": "compose.cpu.yaml.j2"} if ctx["cpu_override"] else {})}


def retime(path: str, text: str, r: Retime) -> str:
    """Every service's healthcheck start_period, with the measurement as its comment."""
    if path != "compose.yaml":
        return text
    docs = yamltext.load_all(text)
    for doc in docs:
        for hc in yamltext.mappings_with(doc, "start_period"):
            yamltext.set_with_comment(hc, "start_period", f"{r.start_period_s}s", r.note)
    return yamltext.dump_all(docs)


def _verify(bundle: Path, o: VerifyOptions) -> VerifyResult:
    from dlgen import verify_targets

    return VerifyResult.from_report(verify_targets.verify_compose(
        bundle, cpu=o.cpu, keep=o.keep, timeout_s=o.timeout_s, env=o.env, progress=o.progress, measure=o.measure))


TARGET = register(Target(key="compose", title="docker compose up (compose.yaml; compose.cpu.yaml without a GPU)",
                         files=_files, context=_context, retime=retime, verify=_verify,
                         owns=("compose.yaml", "compose.cpu.yaml")))
