"""DLG101 no-gpu-request.

What it does: reports a GPU image (CUDA, PyTorch, NGC, vLLM, TGI, Triton, ...) or a known GPU
server run without `--gpus` / `--runtime=nvidia` / a CDI device, or a compose service without a
GPU reservation (`deploy.resources.reservations.devices` with capabilities [gpu], or `gpus:`).
Why is this bad: the container starts without a GPU; torch.cuda.is_available() is False and the
model silently runs on CPU or fails.
Use instead: `docker run --gpus all ...`, or a compose GPU reservation.
"""

import re
from collections.abc import Iterator

from dlgen import reference, rulekit
from dlgen.runspec import RunSpec

ID = "DLG101"
NAME = "no-gpu-request"
SEVERITY = "error"
TARGET = "run"
WHY = "Without a GPU request the container gets no GPU: torch.cuda.is_available() is False."
FAIL = ["docker run -d -p 8000:8000 vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-8B-Instruct\n",
        "## Run on a GPU\n\n```\ndocker run -p 8000:8000 vllm/vllm-openai:v0.11.0 --model m\n```\n"]
PASS = ["docker run -d --gpus all -p 8000:8000 vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-8B-Instruct\n",
        "docker run --device=/dev/kfd --device=/dev/dri ghcr.io/huggingface/text-generation-inference:3.3.4-rocm\n",
        "docker run --rm python:3.11-slim python -V\n",
        # the Triton client image (perf_analyzer) needs no GPU (NVIDIA Triton docs)
        "docker run --rm --net=host nvcr.io/nvidia/tritonserver:24.08-py3-sdk perf_analyzer -m model\n",
        # the text says it is the CPU variant (the shape of many model READMEs)
        "# CPU only (no GPU needed):\ndocker run -p 8000:8000 pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime "
        "python serve.py --device cpu\n",
        "## Run without a GPU\n\n```\ndocker run -p 8000:8000 vllm/vllm-openai:v0.11.0 --model m\n```\n"]
GPU_IMAGE = re.compile(r"(cuda|pytorch/pytorch|nvcr\.io/nvidia|vllm|text-generation-inference|tritonserver|"
                       r"sglang|llama\.cpp:.*cuda|-gpu\b|:.*-gpu|ollama/ollama)", re.IGNORECASE)
GPU_COMMAND = re.compile(r"\b(vllm serve|text-generation-launcher|tritonserver|torchrun|nvidia-smi)\b")


# AMD (ROCm) images take /dev/kfd and /dev/dri devices, not --gpus; services named or profiled
# "cpu" are CPU variants on purpose.
NOT_NVIDIA = re.compile(r"rocm", re.IGNORECASE)


CPU_ARGS = re.compile(r"--device[= ]cpu\b|--(use-)?cpu\b|--no-cuda\b", re.IGNORECASE)
CPU_PROSE = re.compile(r"\bcpu[- ]only\b|\bon (a |the )?cpu\b|\bwithout (a |any )?gpus?\b|\bno gpus?\b|"
                       r"\bcpu (version|image|mode|inference)\b", re.IGNORECASE)


def cpu_on_purpose(spec) -> bool:
    """The run says it is for the CPU: its arguments, CUDA_VISIBLE_DEVICES empty, or the comment
    or Markdown text right above it ("CPU only", "without a GPU")."""
    if CPU_ARGS.search(" ".join(spec.full_command())) or spec.env.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
        return True
    return bool(CPU_PROSE.search(spec.extra.get("prose") or ""))


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if spec.requests_gpu or spec.env.get("NVIDIA_VISIBLE_DEVICES") not in (None, "", "none", "void"):
        return
    if NOT_NVIDIA.search(spec.image or "") or "cpu" in spec.service.lower() \
            or any("cpu" in str(p).lower() for p in spec.extra.get("profiles") or []):
        return
    if cpu_on_purpose(spec):
        return
    facts = reference.image_facts(spec.image) if spec.image else None
    # images.yaml knows the image (Triton's -sdk client image needs no GPU); else its name says
    gpu_image = facts.get("gpu") if facts else GPU_IMAGE.search(spec.image or "")
    if gpu_image or GPU_COMMAND.search(" ".join(spec.full_command())):
        where = rulekit.where(spec)
        fix = "add a deploy.resources.reservations.devices GPU reservation (capabilities: [gpu])" \
            if spec.origin == "compose" else "add --gpus all"
        yield rulekit.Hit(line=spec.line, message=f"{where} starts GPU image {spec.image or '(built)'} without requesting a GPU", hint=fix)
