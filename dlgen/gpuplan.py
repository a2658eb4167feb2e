"""How many GPUs a bundle uses, and whether the model fits on them: one count that every target
requests (run.sh, compose, the stack file, Kubernetes) and the server is told (its preset's
``parallel`` entry in servers.yaml). GPU sizes and the fit constants are in dlgen/data/gpus.yaml.

How a preset splits a model over its GPUs (``parallel.split``):
  heads     tensor parallelism (vLLM, SGLang, TGI): the count must divide the attention heads and
            divide the KV heads or be a multiple of them; the weights are shared out.
  layers    layers placed over the GPUs (transformers ``device_map="auto"``, llama.cpp): the weights
            are shared out, any count works.
  replicas  every GPU holds the whole model (DDP training, one model instance per GPU).
"""

from __future__ import annotations

from dataclasses import dataclass

from dlgen import memory, reference
from dlgen.catalog import Model
from dlgen.errors import DlgenError
from dlgen.runvalues import GpuRequest


def table() -> dict:
    return reference.load("gpus")


def gpu_memory(gpu: str | None, memory_gb: float | None) -> tuple[float, str]:
    """The memory of one GPU and how to name it, from --gpu NAME or --gpu-memory GB."""
    if gpu and memory_gb is not None:
        raise DlgenError("--gpu and --gpu-memory both say how big a GPU is", "give one of them")
    if memory_gb is not None:
        if not 1 <= memory_gb <= 4096:
            raise DlgenError(f"invalid --gpu-memory {memory_gb:g}", "give one GPU's memory in GB, e.g. 80")
        return float(memory_gb), f"{memory_gb:g} GB"
    if gpu:
        key = gpu.strip().lower()
        for entry in table()["gpus"]:
            if key == entry["name"] or key in entry.get("aliases", []):
                return float(entry["memory_gb"]), f"{entry['memory_gb']:g} GB {entry['name'].upper()}"
        names = ", ".join(e["name"] for e in table()["gpus"])
        raise DlgenError(f"unknown GPU {gpu!r}", f"use one of {names}, or --gpu-memory GB")
    mem = float(table()["default_memory_gb"])
    return mem, f"{mem:g} GB"


def heads_allow(count: int, model: Model) -> bool:
    """Tensor parallelism over ``count`` GPUs is possible for the model's heads (unknown heads: yes)."""
    if not model.heads:
        return True
    kv = model.kv_heads or model.heads
    return model.heads % count == 0 and (kv % count == 0 or count % kv == 0)


@dataclass(frozen=True)
class GpuPlan:
    count: int               # GPUs per node: what each container or pod requests
    request: GpuRequest
    memory_gb: float
    gpu: str                 # "80 GB", "141 GB H200"
    need_gb: float           # weights x headroom (0 without a model)
    split: str               # heads | layers | replicas
    serving: memory.ServingFit | None = None   # weights, KV cache and context per GPU (servers with a KV cache)
    nodes: int = 1           # nodes of the group (1: one host)
    pipeline: int = 1        # pipeline stages (vLLM over several nodes: one per node)

    @property
    def total(self) -> int:
        """Every GPU of the group."""
        return self.count * self.nodes

    @property
    def tensor(self) -> int:
        """The tensor-parallel size: the GPUs of one pipeline stage."""
        return self.total // self.pipeline

    @property
    def usable_gb(self) -> float:
        per_gpu = self.memory_gb * float(table()["memory_utilization"])
        return per_gpu if self.split == "replicas" else per_gpu * self.total

    def summary(self) -> str:
        gpus = f"{self.count} x {self.gpu} GPU" + ("s" if self.count > 1 else "")
        if self.nodes > 1:
            gpus = f"{self.nodes} nodes of {gpus} ({self.total} GPUs" + (
                f": tensor parallel {self.tensor} x pipeline {self.pipeline})" if self.pipeline > 1 else ")")
        if self.serving:
            f = self.serving
            limit = f", context limited to {f.limit}" if f.limit is not None else ""
            return (f"{gpus}: {f.weights_gb:.1f} GB of weights per GPU, KV cache for {f.tokens} tokens "
                    f"({f.kv_room_gb:.1f} GB){limit}")
        if not self.need_gb:
            return gpus
        where = "on each GPU" if self.split == "replicas" else "in all"
        return f"{gpus}: {self.need_gb:.1f} GB needed (weights + 20 %), {self.usable_gb:.1f} GB usable {where}"


def _fits(model_need: float, count: int, memory_gb: float, split: str) -> bool:
    per_gpu = memory_gb * float(table()["memory_utilization"])
    return model_need <= (per_gpu if split == "replicas" else per_gpu * count)


def group_servers(kind: str) -> list[str]:
    """The servers of ``kind`` that run one group over several nodes (a ``multinode`` entry)."""
    return [n for n, p in reference.servers()["servers"].items() if p.get("multinode") and kind in p["kinds"]]


@dataclass(frozen=True)
class _Sizing:
    """What the fit of one model on one kind of GPU depends on."""
    model: Model
    split: str
    need: float
    memory_gb: float
    util: float
    kv: bool
    multinode: dict | None

    def stages(self, nodes: int) -> int:
        return nodes if nodes > 1 and (self.multinode or {}).get("split") == "pipeline" else 1

    def allowed(self, per_node: int, nodes: int = 1) -> bool:
        """The split works for the model: tensor parallelism divides its heads, no more pipeline
        stages than layers."""
        stages = self.stages(nodes)
        if stages > 1 and self.model.layers and stages > self.model.layers:
            return False
        return self.split != "heads" or heads_allow(per_node * nodes // stages, self.model)

    def serving(self, per_node: int, nodes: int = 1) -> memory.ServingFit | None:
        """Weights, KV cache and context per GPU, tensor parallel inside each pipeline stage (None: no
        KV cache to size, or the model's shape is unknown)."""
        stages = self.stages(nodes)
        return memory.serving(self.model, per_node * nodes // stages, self.memory_gb, self.util, stages) \
            if self.kv else None

    def fits(self, per_node: int, nodes: int = 1) -> bool:
        if not self.need:
            return True
        if self.kv:
            f = self.serving(per_node, nodes)
            return f is not None and f.fits
        return _fits(self.need, per_node * nodes, self.memory_gb, self.split)

    def made(self, per_node: int, request: GpuRequest, gpu_label: str, nodes: int = 1) -> GpuPlan:
        return GpuPlan(per_node, request, self.memory_gb, gpu_label, self.need, self.split,
                       self.serving(per_node, nodes), nodes, self.stages(nodes))


def plan(model: Model, preset: dict, server: str, gpus: GpuRequest | None, memory_gb: float, gpu_label: str,
         default_count: int | None = None, fit: bool = True, nodes: int | None = None,
         kind: str = "serve") -> GpuPlan:
    """The GPU count for a bundle: ``gpus`` as given (checked), else the smallest count that holds the
    model (``default_count`` for kinds whose work is the user's own code); past one host, as many nodes
    as hold it where the server runs across nodes (``nodes`` asks for a count). ``fit`` False: the model
    is only a label (a notebook's), not checked against the memory. Raises DlgenError."""
    t = table()
    split = (preset.get("parallel") or {}).get("split", "replicas")
    need = model.gpu_gb * float(t["serving_headroom"]) if model.params and fit else 0.0
    util = float(t["memory_utilization"])
    # a server with a KV cache and a context limit (vLLM, SGLang, TGI): weights + KV cache + overhead
    kv = bool(preset.get("context")) and split == "heads" and bool(need) and \
        memory.kv_bytes_per_token(model, 1) is not None
    z = _Sizing(model, split, need, memory_gb, util, kv, preset.get("multinode"))
    most, most_nodes = int(t["max_per_host"]), int(t["max_nodes"])
    what = f"{model.name} ({model.dtype}, {model.gpu_gb:.1f} GB of weights)"
    group = ", ".join(group_servers(kind))
    if gpus is not None and gpus.all:
        raise DlgenError("--gpus all is not one GPU count: Kubernetes and Swarm need a number, and "
                         f"{server} must be told how many GPUs to use",
                         "give the count, e.g. --gpus 4 (`nvidia-smi -L | wc -l` counts a host's GPUs)")
    if nodes is not None and nodes > 1:
        return _plan_group(z, server, gpus, gpu_label, nodes, what, group)
    if gpus is None and (default_count is not None or not need):
        gpus = GpuRequest(count=default_count or 1)
    if gpus is not None:
        request = gpus
        count = request.k8s_count()
        if count > most:
            raise DlgenError(f"--gpus {request.docker()}: one host has at most {most} GPUs",
                             f"use --nodes N with --gpus {most} or fewer per node" + (f" (servers: {group})"
                                                                                      if kind == "serve" else ""))
        if split == "heads" and not z.allowed(count):
            ok = [n for n in range(1, most + 1) if z.allowed(n) and z.fits(n)]
            raise DlgenError(f"{count} GPUs cannot split {model.name}'s {model.heads} attention heads "
                             f"({model.kv_heads} KV heads): {server}'s tensor parallelism needs a count that "
                             "divides them", f"use --gpus {' or '.join(map(str, ok))}")
        if need and not z.fits(count):
            fitting = [n for n in range(count, most + 1) if z.fits(n) and z.allowed(n)]
            where = "one GPU (each holds the whole model)" if split == "replicas" else f"{count} x {gpu_label}"
            fix = (f"use --gpus {fitting[0]}" if fitting and split != "replicas"
                   else "use larger GPUs (--gpu-memory), a smaller --dtype, or a quantised checkpoint")
            if kv:
                raise DlgenError(f"{what} on {where} leaves no room for a KV cache of "
                                 f"{memory.MIN_CONTEXT_TOKENS} tokens ({memory_gb * util:.0f} GB usable per GPU)", fix)
            raise DlgenError(f"{what} needs ~{need:.0f} GB with serving headroom, more than {where} "
                             f"holds ({memory_gb * util:.0f} GB usable per GPU)", fix)
        return z.made(count, request, gpu_label)
    for count in range(1, most + 1):
        if z.fits(count) and z.allowed(count):
            return z.made(count, GpuRequest(count=count), gpu_label)
    if z.multinode and nodes is None:   # past one host: the fewest nodes of full hosts that hold it
        for n in range(2, most_nodes + 1):
            if z.allowed(most, n) and z.fits(most, n):
                return z.made(most, GpuRequest(count=most), gpu_label, n)
    per = "one GPU" if split == "replicas" else f"{most} x {gpu_label} GPUs"
    beyond = f" or {most_nodes} nodes of them" if z.multinode and nodes is None else ""
    across = ("drop --nodes 1 (a group of nodes holds it)" if z.multinode and nodes is not None else
              "" if z.multinode or not group else f"across nodes: --server {group.replace(', ', ' or ')}")
    raise DlgenError(f"{what} needs ~{need:.0f} GB with serving headroom, more than {per}{beyond} hold",
                     "use larger GPUs (--gpu h200, --gpu-memory GB), a smaller --dtype (fp8, int4), or a "
                     "quantised checkpoint" + (f"; {across}" if across else ""))


def _plan_group(z: _Sizing, server: str, gpus: GpuRequest | None, gpu_label: str, nodes: int, what: str,
                group: str) -> GpuPlan:
    """--nodes N: the group of N nodes with --gpus (default: a full host) on each, checked."""
    most, most_nodes = int(table()["max_per_host"]), int(table()["max_nodes"])
    if not z.multinode:
        raise DlgenError(f"the {server} server does not run one model across nodes",
                         f"use --server {group.replace(', ', ' or ')}" if group else "drop --nodes")
    request = gpus or GpuRequest(count=most)
    if request.ids:
        raise DlgenError(f"--gpus {request.docker()} names devices of one host; --nodes needs a count per node",
                         f"give the count, e.g. --gpus {len(request.ids)}")
    per_node = request.k8s_count()
    if per_node > most:
        raise DlgenError(f"--gpus {per_node}: one host has at most {most} GPUs", f"use --gpus {most} or fewer")
    if not z.allowed(per_node, nodes):
        stages = z.stages(nodes)
        why = (f"{nodes} pipeline stages are more than its {z.model.layers} layers"
               if z.model.layers and stages > z.model.layers
               else f"tensor parallelism over {per_node * nodes // stages} GPUs does not divide its "
                    f"{z.model.heads} attention heads ({z.model.kv_heads} KV heads)")
        raise DlgenError(f"{server} cannot split {z.model.name} over {nodes} nodes of {per_node} GPUs: {why}",
                         "use another --gpus or --nodes")
    if not z.fits(per_node, nodes):
        more = next((n for n in range(nodes + 1, most_nodes + 1) if z.allowed(per_node, n) and z.fits(per_node, n)),
                    None)
        raise DlgenError(f"{what} does not fit {nodes} nodes of {per_node} x {gpu_label} GPUs",
                         f"use --nodes {more}" if more else "use larger GPUs or a smaller --dtype")
    return z.made(per_node, request, gpu_label, nodes)
