"""What a serving GPU must hold, term by term (issue 27's memory model for serving).

    per GPU = weights / GPUs  +  KV cache for the context  +  the server's activation peak
            <= GPU memory x the server's memory utilisation

- weights: the bytes on the GPU (catalog.Model.gpu_gb: the stored checkpoint, or its online FP8
  conversion), shared out by tensor parallelism;
- KV cache per token (standard attention): 2 (K and V) x layers x KV heads x head dim x bytes per
  value, the KV heads divided over the tensor-parallel ranks (vLLM docs, "Engine arguments" and
  "Optimization and tuning"); multi-head latent attention caches one compressed latent per layer
  (DeepSeek-V2 paper): (kv_lora_rank + qk_rope_head_dim) x layers x bytes;
- activation peak: vLLM profiles a forward pass at start-up and keeps that much free, and CUDA
  graphs take some more; SERVER_OVERHEAD_GB stands for both;
- memory utilisation: vLLM's --gpu-memory-utilization (0.9 by default, dlgen/data/gpus.yaml).

vLLM refuses to start when the model's full context does not fit in the KV cache that is left ("The
model's max seq len ... is larger than the maximum number of tokens that can be stored in KV cache"):
then the bundle passes the server's context limit (vLLM --max-model-len, SGLang --context-length,
TGI --max-total-tokens), rounded down to CONTEXT_STEP, and a bundle whose GPUs do not hold even
MIN_CONTEXT_TOKENS is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dlgen.catalog import Model

KV_BYTES = 2                  # a bf16/fp16 KV cache (vLLM's kv-cache-dtype "auto" follows the model)
SERVER_OVERHEAD_GB = 2.0      # the profiled activation peak plus CUDA graphs, per GPU
MIN_CONTEXT_TOKENS = 4096     # the shortest context worth serving: a prompt and an answer of a few pages
CONTEXT_STEP = 1024


def kv_bytes_per_token(model: Model, gpus: int) -> int | None:
    """KV cache bytes one token takes on each of ``gpus`` tensor-parallel GPUs (None: unknown shape)."""
    if not (model.layers and model.kv_heads and model.head_dim):
        return None
    kv_per_gpu = math.ceil(model.kv_heads / gpus)   # fewer KV heads than GPUs: each GPU keeps a copy
    return 2 * model.layers * kv_per_gpu * model.head_dim * KV_BYTES


@dataclass(frozen=True)
class ServingFit:
    gpus: int
    weights_gb: float          # per GPU
    kv_room_gb: float          # per GPU, what is left for the KV cache
    tokens: int                # the context the KV cache holds (one sequence)
    limit: int | None          # the context limit to set (None: the model's full context fits)

    @property
    def fits(self) -> bool:
        return self.tokens >= MIN_CONTEXT_TOKENS


def serving(model: Model, gpus: int, memory_gb: float, utilization: float, pipeline: int = 1) -> ServingFit | None:
    """How ``model`` fits ``gpus`` tensor-parallel GPUs of ``memory_gb`` in each of ``pipeline`` stages
    (a stage holds its share of the layers: of the weights and of each token's KV cache; None: shape
    unknown)."""
    per_token = kv_bytes_per_token(model, gpus)
    if per_token is None:
        return None
    per_token = math.ceil(per_token / pipeline)
    weights = model.gpu_gb / (gpus * pipeline)
    room = memory_gb * utilization - weights - SERVER_OVERHEAD_GB
    tokens = max(0, int(room * 1e9 // per_token))
    full = model.context or 0
    limit = None
    if full and tokens < full:
        limit = tokens // CONTEXT_STEP * CONTEXT_STEP
    return ServingFit(gpus * pipeline, round(weights, 2), round(max(room, 0.0), 2), tokens, limit)


# ------------------------------------------------------------------------------------ training
# Mixed-precision training with Adam keeps ~16 bytes per parameter (bf16 weights 2 + gradients 2 +
# fp32 master weights 4 + two fp32 Adam moments 8) before activations (Rajbhandari et al., "ZeRO",
# SC'20: 16 x parameters). DDP keeps all of it on every GPU; FSDP (PyTorch FSDP2 fully_shard, ZeRO-3)
# divides it over the job's GPUs; LoRA keeps the frozen bf16 weights (2 bytes per parameter) plus
# adapters of LORA_SHARE of the parameters at 16 bytes each (LoRA paper, Hu et al. 2021: r=16 on
# every linear layer of a 7-8B model is well under 1 %).
TRAIN_BYTES_PER_PARAM = 16
FROZEN_BYTES_PER_PARAM = 2
LORA_SHARE = 0.01
ACTIVATION_RESERVE_GB = 8.0   # activations of a modest batch with activation checkpointing, per GPU
STRATEGIES = ("ddp", "fsdp", "lora")


@dataclass(frozen=True)
class TrainingFit:
    gpus: int
    usable_gb: float                  # per GPU, after the activation reserve
    per_gpu_gb: dict[str, float]      # strategy -> what each GPU holds
    strategy: str | None              # the first that fits (ddp, fsdp, lora), None: none

    def summary(self) -> str:
        parts = ", ".join(f"{s.upper()} {self.per_gpu_gb[s]:.1f} GB" for s in STRATEGIES)
        return f"per GPU: {parts}; {self.usable_gb:.1f} GB usable"


def training(model: Model, gpus: int, memory_gb: float, utilization: float) -> TrainingFit:
    params = model.params
    full = params * TRAIN_BYTES_PER_PARAM / 1e9
    per = {"ddp": round(full, 1), "fsdp": round(full / gpus, 1),
           "lora": round((params * FROZEN_BYTES_PER_PARAM + params * LORA_SHARE * TRAIN_BYTES_PER_PARAM) / 1e9, 1)}
    usable = memory_gb * utilization - ACTIVATION_RESERVE_GB
    if gpus == 1:   # one GPU: sharding over one is DDP's memory
        per["fsdp"] = per["ddp"]
    chosen = next((s for s in STRATEGIES if per[s] <= usable and (s != "fsdp" or gpus > 1)), None)
    return TrainingFit(gpus, round(usable, 1), per, chosen)
