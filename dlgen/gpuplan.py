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
    count: int
    request: GpuRequest
    memory_gb: float
    gpu: str                 # "80 GB", "141 GB H200"
    need_gb: float           # weights x headroom (0 without a model)
    split: str               # heads | layers | replicas
    serving: memory.ServingFit | None = None   # weights, KV cache and context per GPU (servers with a KV cache)

    @property
    def usable_gb(self) -> float:
        per_gpu = self.memory_gb * float(table()["memory_utilization"])
        return per_gpu if self.split == "replicas" else per_gpu * self.count

    def summary(self) -> str:
        gpus = f"{self.count} x {self.gpu} GPU" + ("s" if self.count > 1 else "")
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


def plan(model: Model, preset: dict, server: str, gpus: GpuRequest | None, memory_gb: float, gpu_label: str,
         default_count: int | None = None, fit: bool = True) -> GpuPlan:
    """The GPU count for a bundle: ``gpus`` as given (checked), else the smallest count that holds the
    model (``default_count`` for kinds whose work is the user's own code). ``fit`` False: the model
    is only a label (a notebook's), not checked against the memory. Raises DlgenError."""
    t = table()
    split = (preset.get("parallel") or {}).get("split", "replicas")
    need = model.gpu_gb * float(t["serving_headroom"]) if model.params and fit else 0.0
    util = float(t["memory_utilization"])
    # a server with a KV cache and a context limit (vLLM, SGLang, TGI): weights + KV cache + overhead
    kv = bool(preset.get("context")) and split == "heads" and bool(need) and \
        memory.kv_bytes_per_token(model, 1) is not None

    def fits(count: int) -> bool:
        if kv:
            f = memory.serving(model, count, memory_gb, util)
            return f is not None and f.fits
        return _fits(need, count, memory_gb, split)

    def made(count: int, request: GpuRequest) -> GpuPlan:
        return GpuPlan(count, request, memory_gb, gpu_label, need, split,
                       memory.serving(model, count, memory_gb, util) if kv else None)
    most = int(t["max_per_host"])
    what = f"{model.name} ({model.dtype}, {model.gpu_gb:.1f} GB of weights)"
    if gpus is not None and gpus.all:
        raise DlgenError("--gpus all is not one GPU count: Kubernetes and Swarm need a number, and "
                         f"{server} must be told how many GPUs to use",
                         "give the count, e.g. --gpus 4 (`nvidia-smi -L | wc -l` counts a host's GPUs)")
    if gpus is None and (default_count is not None or not need):
        gpus = GpuRequest(count=default_count or 1)
    if gpus is not None:
        request = gpus
        count = request.k8s_count()
        if count > most:
            raise DlgenError(f"--gpus {request.docker()}: one host has at most {most} GPUs",
                             "use larger GPUs (--gpu h200) or a smaller --dtype; dlgen does not generate "
                             "multi-node serving")
        if split == "heads" and not heads_allow(count, model):
            ok = [n for n in range(1, most + 1) if heads_allow(n, model) and (not need or fits(n))]
            raise DlgenError(f"{count} GPUs cannot split {model.name}'s {model.heads} attention heads "
                             f"({model.kv_heads} KV heads): {server}'s tensor parallelism needs a count that "
                             "divides them", f"use --gpus {' or '.join(map(str, ok))}")
        if need and not fits(count):
            fitting = [n for n in range(count, most + 1)
                       if fits(n) and (split != "heads" or heads_allow(n, model))]
            where = "one GPU (each holds the whole model)" if split == "replicas" else f"{count} x {gpu_label}"
            fix = (f"use --gpus {fitting[0]}" if fitting and split != "replicas"
                   else "use larger GPUs (--gpu-memory), a smaller --dtype, or a quantised checkpoint")
            if kv:
                raise DlgenError(f"{what} on {where} leaves no room for a KV cache of "
                                 f"{memory.MIN_CONTEXT_TOKENS} tokens ({memory_gb * util:.0f} GB usable per GPU)", fix)
            raise DlgenError(f"{what} needs ~{need:.0f} GB with serving headroom, more than {where} "
                             f"holds ({memory_gb * util:.0f} GB usable per GPU)", fix)
        return made(count, request)
    for count in range(1, most + 1):
        if fits(count) and (split != "heads" or heads_allow(count, model)):
            return made(count, GpuRequest(count=count))
    per = "one GPU" if split == "replicas" else f"{most} x {gpu_label} GPUs"
    raise DlgenError(f"{what} needs ~{need:.0f} GB with serving headroom, more than {per} hold",
                     "use larger GPUs (--gpu h200, --gpu-memory GB), a smaller --dtype (fp8, int4), or a "
                     "quantised checkpoint; dlgen does not generate multi-node serving")
