"""README.md (DEPLOY.md in a user's project, whose README stays theirs): how to start the bundle on
each target, what it asks of the host, and the start period with where it comes from."""

from __future__ import annotations

import re
from typing import Any

from dlgen.spec import DeploySpec
from dlgen.targets import Retime, Target, register


def gpu_use(spec: DeploySpec) -> str:
    """How the bundle's server uses its GPUs, in words."""
    if not spec.gpu_plan:
        return ""
    n, par = spec.gpu_count, spec.preset.get("parallel") or {}
    flags = par.get("flags") or []
    if flags:
        return f"{spec.server} is told the same count (`{flags[0]} {n}`)"
    if "DLGEN_GPUS" in spec.env:
        return (f"the server places the model over them with `device_map=\"auto\"` (DLGEN_GPUS={n})" if n > 1
                else "the server puts the model on that GPU")
    if par.get("split") == "layers":
        return f"{spec.server} spreads the model's layers over every GPU it sees"
    return "your code sees exactly those GPUs"


def group_use(spec: DeploySpec) -> str:
    """How a group over several nodes splits the work, in words (the flags its command carries)."""
    plan, group = spec.gpu_plan, spec.group
    if not (plan and group):
        return ""
    if group.split == "pipeline":
        return (f"{spec.server} runs tensor parallel {plan.tensor} inside each node and one pipeline stage per node "
                f"(`--tensor-parallel-size {plan.tensor} --pipeline-parallel-size {plan.pipeline}`)")
    if group.split == "heads":
        return (f"{spec.server} runs tensor parallel over all {plan.total} GPUs (`--tp-size {plan.total} --nnodes "
                f"{plan.nodes}`)")
    return (f"torchrun starts {plan.count} processes on each node (`--nnodes {plan.nodes} --nproc-per-node "
            f"{plan.count}`): {plan.total} ranks in all")


def _context(spec: DeploySpec, ctx: dict) -> dict[str, Any]:
    from dlgen import memory

    summary = spec.gpu_plan.summary() if spec.gpu_plan else ""
    strategy = spec.training.strategy if spec.training else None
    if spec.training and strategy:
        summary += f"; {strategy.upper()} training, {spec.training.per_gpu_gb[strategy]:.1f} GB per GPU"
    return {"gpu_summary": summary, "gpu_use": gpu_use(spec), "group_use": group_use(spec),
            "memory_overhead_gb": memory.SERVER_OVERHEAD_GB, "memory_train_reserve_gb": memory.ACTIVATION_RESERVE_GB}


def _files(spec: DeploySpec, ctx: dict) -> dict[str, str]:
    return {"DEPLOY.md" if ctx["in_project"] else "README.md": "README.md.j2"}


def retime(path: str, text: str, r: Retime) -> str:
    """The sentence that states the start period."""
    return re.sub(r"the start period is \d+ s( \(measured on [^)]*\))?", f"the start period is {r.start_period_s} s "
                  f"({r.note})", text, count=1)


TARGET = register(Target(key="readme", title="README.md: how to start each target", files=_files,
                         context=_context, retime=retime, owns=("README.md", "DEPLOY.md")))
