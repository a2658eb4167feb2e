"""The table `dlgen models` prints: every catalog model with the GPU count and health timings
`dlgen new` emits for a server (the same functions: gpuplan.plan, timing.for_server; a test
compares the two for every model)."""

from __future__ import annotations

from dlgen import catalog, gpuplan, reference, spec, timing
from dlgen.errors import DlgenError


def timing_table(server: str, docker_version: str | None = None) -> list[dict]:
    """Every catalog model with the health timings `dlgen new` would emit for ``server``."""
    servers = reference.servers()["servers"]
    if server not in servers:
        raise DlgenError(f"unknown server {server!r}", f"use one of {', '.join(servers)}")
    preset = servers[server]
    dv = timing.parse_docker_version(docker_version)
    memory_gb, label = gpuplan.gpu_memory(None, None)
    rows = []
    for entry in reference.models():
        m = catalog.entry_model(entry)
        gpus: int | None = None   # refused: a checkpoint the server does not load, or more than it runs on
        nodes = 1
        if not spec.unloadable(m, preset, server):
            try:
                plan = gpuplan.plan(m, preset, server, None, memory_gb, label)
                gpus, nodes = plan.count, plan.nodes
            except DlgenError:
                pass
        t = timing.for_server(m.weights_gb / nodes, preset, docker_version=dv)
        if nodes > 1:   # a group over several nodes: its own start-up budget
            t = t.with_start_period(spec.group_start_period(preset, t.start_period_s))
        rows.append({"model": m.name, "task": m.task, "params_b": round(m.params / 1e9, 3), "dtype": m.dtype,
                     "weights_gb": round(m.weights_gb, 2), "gpus": gpus, "nodes": nodes, "gpu_memory_gb": memory_gb,
                     "download_s": timing.download_seconds(m.weights_gb), "load_s": t.load_s,
                     "start_period_s": t.start_period_s,
                     "start_interval_s": t.start_interval_s, "interval_s": t.interval_s,
                     "k8s_startup_budget_s": t.k8s_startup_budget_s, "hf_id": m.hf_id})
    return rows


def cell(row: dict, column: str) -> str:
    """A table cell as `dlgen models` prints it: "-" for none, "2 x 8" for GPUs over two nodes."""
    value = row[column]
    if value is None:
        return "-"
    if column == "gpus" and row.get("nodes", 1) > 1:
        return f"{row['nodes']} x {value}"
    return str(value)
