"""DLG111 parallelism-gpu-mismatch.

What it does: compares the parallelism a command asks for with the GPUs the container gets. The
parallelism is read from the options each server preset lists in servers.yaml (`parallel.flags`,
multiplied by `parallel.times`): vLLM `--tensor-parallel-size`/`-tp` x `--pipeline-parallel-size`,
SGLang `--tp-size`/`--tp` x `--dp-size`/`--dp` (not with `--enable-dp-attention`, whose data-parallel
attention runs inside the tensor-parallel GPUs), TGI `--num-shard`, torchrun `--nproc-per-node`. The GPUs are the
container's request: `--gpus N`, a device list, compose `count`/`device_ids`, or
`NVIDIA_VISIBLE_DEVICES`. A command that runs one group over several nodes counts the group's GPUs:
its parallelism over the node count (`--nnodes`, for vLLM and SGLang) is what each node's container
must get, and vLLM over a Ray cluster (`--distributed-executor-backend ray`) puts one pipeline stage
on each node, so each container gets the tensor-parallel size. In a Kubernetes manifest the pods of a
group (a LeaderWorkerSet's size, a TrainJob's numNodes) share the count the same way. An error when the command wants more GPUs than it gets; a warning when
an explicit request of more than one GPU is larger than what the server uses (its flag, or its
default when no flag is given: vLLM and SGLang use one GPU unless told).
Why is this bad: asking for more GPUs than the container sees fails at start ("please set
tensor_parallel_size to less than max local gpu count", vllm#12132; TGI "NotEnoughCUDADevices",
TGI#1204; "CUDA error: invalid device ordinal", sglang#3470). Asking for fewer leaves the extra
GPUs idle while the model may not fit on the ones used (vllm#36772: world_size=1 on 4 GPUs, then
out of memory).
Use instead: the same count in both places, e.g. `--gpus 4` with `--tensor-parallel-size 4`; over
nodes, `--gpus 8` on each with `--tp 16 --nnodes 2`.
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
    "docker run -d --gpus 4 --network host lmsysorg/sglang:v0.4.6.post4-cu124 python3 -m sglang.launch_server "
    "--model-path meta-llama/Llama-3.1-405B-Instruct --tp 16 --nnodes 2 --node-rank 0 --dist-init-addr 10.0.0.1:20000\n",
    "docker run -d --gpus 4 --network host vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-405B-Instruct "
    "--tensor-parallel-size 8 --pipeline-parallel-size 2 --distributed-executor-backend ray\n",
    "docker run -d --gpus 4 --network host --entrypoint bash vllm/vllm-openai:v0.11.0 -c 'ray start --head && exec "
    "vllm serve meta-llama/Llama-3.1-405B-Instruct -tp 8 -pp 2 --distributed-executor-backend ray'\n",
    "docker run -d --gpus 4 lmsysorg/sglang:v0.4.6.post4-cu124 python3 -m sglang.launch_server "
    "--model-path Qwen/Qwen2.5-7B-Instruct --tp 4 --dp 2\n",
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
    "docker run -d --gpus 8 --network host lmsysorg/sglang:v0.4.6.post4-cu124 python3 -m sglang.launch_server "
    "--model-path meta-llama/Llama-3.1-405B-Instruct --tp 16 --nnodes 2 --node-rank 1 --dist-init-addr 10.0.0.1:20000\n",
    "docker run -d --gpus 8 --network host vllm/vllm-openai:v0.11.0 --model meta-llama/Llama-3.1-405B-Instruct "
    "--tensor-parallel-size 8 --pipeline-parallel-size 2 --distributed-executor-backend ray\n",
    "docker run -d --gpus 8 --network host --entrypoint bash vllm/vllm-openai:v0.11.0 -c 'ray start --head && exec "
    "vllm serve meta-llama/Llama-3.1-405B-Instruct -tp 8 -pp 2 --distributed-executor-backend ray'\n",
    "docker run -d --gpus 8 --network host my/train:1 torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d "
    "--rdzv-endpoint 10.0.0.1:29400 train.py\n",
    "docker run -d --gpus 8 lmsysorg/sglang:v0.4.6.post4-cu124 python3 -m sglang.launch_server "
    "--model-path Qwen/Qwen2.5-7B-Instruct --dp-size 4 --tp 2\n",
    "docker run -d --gpus 4 lmsysorg/sglang:v0.4.6.post4-cu124 python3 -m sglang.launch_server "
    "--model-path deepseek-ai/DeepSeek-V2-Lite --tp 4 --dp 4 --enable-dp-attention\n",
]


def _value(words: list[str], flags: list[str]) -> int | None:
    """The integer after the last of ``flags`` (a long flag also with underscores: vLLM's and torchrun's
    parsers take `--pipeline_parallel_size` as `--pipeline-parallel-size`), or None."""
    flags = [*flags, *(f"--{f[2:].replace('-', '_')}" for f in flags if f.startswith("--"))]
    found = rulekit.option_value(words, flags)
    return int(found) if found is not None and found.strip().isdigit() else None


def parallelism(words: list[str], server: str | None, group: int = 1) -> tuple[int, str] | None:
    """(GPUs the command uses on its node, how it says so) from the first preset whose flags it
    carries; else the default of the detected server when that server has one. ``group``: the pods
    of a Kubernetes group that run the command together."""
    presets = reference.servers()["servers"]
    for preset in presets.values():
        par = preset.get("parallel") or {}
        size = _value(words, par.get("flags") or [])
        if size is None:
            continue
        said = f"{par['flags'][0]} {size}"
        stages = 1
        inside = any(w.split("=", 1)[0] in (par.get("times_inside") or []) for w in words)
        for flag in [] if inside else par.get("times") or []:
            times = _value(words, [flag])
            if times:
                size, said, stages = size * times, f"{said} x {flag} {times}", times
        return _per_node(words, par, size, said, stages, group)
    default = ((presets.get(server or "") or {}).get("parallel") or {}).get("default")
    if default:
        return _per_node(words, {}, int(default),
                         f"{server}'s default of {default} (no {presets[server]['parallel']['flags'][0]})", 1, group)
    return None


def _per_node(words: list[str], par: dict, size: int, said: str, stages: int, group: int) -> tuple[int, str]:
    """A group's count over its nodes, as the command spreads it or else over the pods of its
    ``group``: what one node's container uses."""
    for flag in par.get("nodes") or []:
        nodes = _value(words, [flag])
        if nodes and nodes > 1:
            return -(-size // nodes), f"{said} over {flag} {nodes}"
    for flag, value in (par.get("spans") or {}).items():
        if stages > 1 and rulekit.option_value(words, [flag]) == value:
            return size // stages, f"{said} with {flag} {value}: one pipeline stage per node"
    if group > 1:   # the group's pods share the count
        return -(-size // group), f"{said} over a group of {group} pods"
    return size, said


def granted(spec) -> int | None:
    """GPUs the container gets, when the request says a number (None for all or no request)."""
    request = spec.gpu_request
    if request is not None and not request.all:
        return request.k8s_count()
    visible = (spec.env.get("NVIDIA_VISIBLE_DEVICES") or "").strip()
    if visible and visible not in ("all", "none", "void") and (spec.requests_gpu or request is None):
        return len([d for d in visible.split(",") if d.strip()])
    return None


def parallel_flags() -> set[str]:
    """Every server preset's options that set its parallelism (servers.yaml `parallel.flags`)."""
    return {f for p in reference.servers()["servers"].values() for f in (p.get("parallel") or {}).get("flags") or []}


def server_words(words: list[str]) -> list[str]:
    """The server's own words: in `bash -c "a && exec vllm serve ..."`, the simple command that starts
    the server (the last one that names a parallelism flag), else the command as it is."""
    commands = rulekit.script_commands(words)
    flags = parallel_flags()
    for inner in reversed(commands or []):
        if any(w.split("=", 1)[0] in flags for w in inner):
            return inner[1:] if inner[:1] == ["exec"] else inner
    return words


def check(spec: RunSpec, ctx: rulekit.Context, group: int = 1) -> Iterator[rulekit.Hit]:
    words = server_words(spec.full_command())
    if not words:
        return
    server = rulekit.server_of(spec.image, " ".join(words))
    used = parallelism(words, server, group)
    gpus = granted(spec)
    if used is None or gpus is None:
        return
    size, said = used
    where = rulekit.where(spec)
    if size > gpus:
        yield rulekit.Hit(line=spec.line, message=f"{where} uses {size} GPUs ({said}) but requests {gpus}: the "
                          "server fails at start", hint=f"request {size} GPUs, or lower the parallelism to {gpus}")
    elif size < gpus and gpus > 1:
        yield rulekit.Hit(line=spec.line, severity="warning",
                          message=f"{where} requests {gpus} GPUs but uses {size} ({said}): "
                                  f"{gpus - size} stay idle", hint=f"pass the parallelism {gpus}, or request {size}")


KUBERNETES_FAIL = [
    """\
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: vllm}
spec:
  leaderWorkerTemplate:
    size: 2
    workerTemplate:
      spec:
        containers:
          - name: vllm
            image: vllm/vllm-openai:v0.11.0
            args: [vllm, serve, meta-llama/Llama-3.1-405B-Instruct, --tensor-parallel-size, "8",
                   --pipeline-parallel-size, "2"]
            resources: {limits: {nvidia.com/gpu: 4}}
""",
]
KUBERNETES_PASS = [
    """\
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {name: vllm}
spec:
  leaderWorkerTemplate:
    size: 2
    workerTemplate:
      spec:
        containers:
          - name: vllm
            image: vllm/vllm-openai:v0.11.0
            args: [vllm, serve, meta-llama/Llama-3.1-405B-Instruct, --tensor-parallel-size, "8",
                   --pipeline-parallel-size, "2"]
            resources: {limits: {nvidia.com/gpu: 8}}
""",
]


def check_kubernetes(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    """The same count in a pod: over the pods of its group (a LeaderWorkerSet's size, numNodes)."""
    info = rulekit.k8s(spec)
    words = server_words(spec.full_command())
    flags = parallel_flags()
    if info and info.headless and not any(w.split("=", 1)[0].replace("_", "-") in flags for w in words):
        return   # a worker that joins its leader's group (a Ray worker): the leader's command holds the count
    yield from check(spec, ctx, group=(info.group or 1) if info else 1)
