"""DLG111 parallelism-gpu-mismatch.

What it does: compares the parallelism a command asks for with the GPUs the container gets. The
parallelism is read from the options each server preset lists in servers.yaml (`parallel.flags`,
multiplied by `parallel.times`): vLLM `--tensor-parallel-size`/`-tp` x `--pipeline-parallel-size`,
SGLang `--tp-size`/`--tp`, TGI `--num-shard`, torchrun `--nproc-per-node`. The GPUs are the
container's request: `--gpus N`, a device list, compose `count`/`device_ids`, or
`NVIDIA_VISIBLE_DEVICES`. An error when the command wants more GPUs than it gets; a warning when
an explicit request of more than one GPU is larger than what the server uses (its flag, or its
default when no flag is given: vLLM and SGLang use one GPU unless told).
Why is this bad: asking for more GPUs than the container sees fails at start ("please set
tensor_parallel_size to less than max local gpu count", vllm#12132; TGI "NotEnoughCUDADevices",
TGI#1204; "CUDA error: invalid device ordinal", sglang#3470). Asking for fewer leaves the extra
GPUs idle while the model may not fit on the ones used (vllm#36772: world_size=1 on 4 GPUs, then
out of memory).
Use instead: the same count in both places, e.g. `--gpus 4` with `--tensor-parallel-size 4`.
"""

from collections.abc import Iterator

from dlgen import reference, rulekit
from dlgen.runspec import RunSpec

ID = "DLG111"
NAME = "parallelism-gpu-mismatch"
SEVERITY = "error"
TARGET = "run"
WHY = "The server's parallelism and the GPUs the container gets must be the same count."
FAIL = [
    "docker run -d --gpus 2 vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-70B-Instruct "
    "--tensor-parallel-size 4\n",
    "docker run -d --gpus '\"device=0,1\"' ghcr.io/huggingface/text-generation-inference:3.3.4 "
    "--model-id meta-llama/Llama-3.1-70B-Instruct --num-shard 4\n",
    "docker run -d --gpus 4 vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-70B-Instruct\n",
    "services:\n  train:\n    image: my/train:1\n    command: [torchrun, --nproc-per-node=8, train.py]\n"
    "    deploy:\n      resources:\n        reservations:\n          devices:\n"
    "            - {driver: nvidia, count: 4, capabilities: [gpu]}\n",
    "docker run -d -e NVIDIA_VISIBLE_DEVICES=0 --runtime=nvidia lmsysorg/sglang:v0.4.6.post4-cu124 "
    "python3 -m sglang.launch_server --model-path Qwen/Qwen2.5-72B-Instruct --tp 2\n",
]
PASS = [
    "docker run -d --gpus 4 vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-70B-Instruct "
    "--tensor-parallel-size 4\n",
    "docker run -d --gpus 4 vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-70B-Instruct -tp 2 "
    "--pipeline-parallel-size 2\n",
    "docker run -d --gpus all vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-8B-Instruct\n",
    "docker run -d --gpus 2 ghcr.io/huggingface/text-generation-inference:3.3.4 --model-id "
    "meta-llama/Llama-3.1-8B-Instruct\n",
    "services:\n  train:\n    image: my/train:1\n    command: [torchrun, --nproc-per-node, '2', train.py]\n"
    "    deploy:\n      resources:\n        reservations:\n          devices:\n"
    "            - {driver: nvidia, device_ids: ['0', '1'], capabilities: [gpu]}\n",
]


def _value(words: list[str], flags: list[str]) -> int | None:
    """The integer after the last of ``flags``, or None."""
    found = rulekit.option_value(words, flags)
    return int(found) if found is not None and found.strip().isdigit() else None


def parallelism(words: list[str], server: str | None) -> tuple[int, str] | None:
    """(GPUs the command uses, how it says so) from the first preset whose flags it carries; else the
    default of the detected server when that server has one."""
    presets = reference.servers()["servers"]
    for preset in presets.values():
        par = preset.get("parallel") or {}
        size = _value(words, par.get("flags") or [])
        if size is None:
            continue
        said = f"{par['flags'][0]} {size}"
        for flag in par.get("times") or []:
            times = _value(words, [flag])
            if times:
                size, said = size * times, f"{said} x {flag} {times}"
        return size, said
    default = ((presets.get(server or "") or {}).get("parallel") or {}).get("default")
    if default:
        return int(default), f"{server}'s default of {default} (no {presets[server]['parallel']['flags'][0]})"
    return None


def granted(spec) -> int | None:
    """GPUs the container gets, when the request says a number (None for all or no request)."""
    request = spec.gpu_request
    if request is not None and not request.all:
        return request.k8s_count()
    visible = (spec.env.get("NVIDIA_VISIBLE_DEVICES") or "").strip()
    if visible and visible not in ("all", "none", "void") and (spec.requests_gpu or request is None):
        return len([d for d in visible.split(",") if d.strip()])
    return None


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    words = spec.full_command()
    if not words:
        return
    server = rulekit.server_of(spec.image, " ".join(words))
    used = parallelism(words, server)
    gpus = granted(spec)
    if used is None or gpus is None:
        return
    size, said = used
    where = f"service {spec.service}" if spec.service else "docker run"
    if size > gpus:
        yield rulekit.Hit(line=spec.line, message=f"{where} uses {size} GPUs ({said}) but requests {gpus}: the "
                          "server fails at start", hint=f"request {size} GPUs, or lower the parallelism to {gpus}")
    elif size < gpus and gpus > 1:
        yield rulekit.Hit(line=spec.line, severity="warning",
                          message=f"{where} requests {gpus} GPUs but uses {size} ({said}): "
                                  f"{gpus - size} stay idle", hint=f"pass the parallelism {gpus}, or request {size}")
