"""DLG105 small-shm.

What it does: reports a GPU container that uses shared memory and has neither `--shm-size` of
at least 1g nor `--ipc=host` (`shm_size` / `ipc: host` in compose). A container uses it when it
runs PyTorch training or DataLoader workers, a PyTorch notebook, several NCCL processes
(tensor parallelism or shards above 1, torchrun with several processes), or a server whose docs
ask for it (vLLM, TGI, SGLang, NGC PyTorch: `shm: true` in images.yaml). Servers that do not use
PyTorch shared memory (llama.cpp, TEI, Triton without its python backend, TensorRT, Ollama) and
single-process inference scripts are left alone.
Why is this bad: /dev/shm defaults to 64 MiB; DataLoader workers and NCCL fall back to shared
memory and die with SIGBUS (exit 135) (docker run reference, --shm-size and --ipc; PyTorch docs,
"Multiprocessing best practices"; the vLLM and TGI docker docs ask for --ipc=host / --shm-size 1g).
Use instead: `--shm-size=8g` (or `--ipc=host`).

In a Kubernetes manifest: a GPU container that uses shared memory with no memory-backed emptyDir
mounted at `/dev/shm` (the container runtime's 64 MiB default), where no operator adds one
(KubeRay, Dynamo, KServe's LLMInferenceService: dlgen/data/kube_workloads.yaml).
"""

import re
from collections.abc import Iterator

from dlgen import reference, rulekit
from dlgen.runspec import RunSpec

ID = "DLG105"
NAME = "small-shm"
SEVERITY = "warning"
TARGET = "run"
WHY = "The 64 MiB default /dev/shm kills PyTorch DataLoader workers and NCCL with SIGBUS (exit 135)."
FAIL = ["docker run --gpus all pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime python train.py\n",
        "docker run --gpus all --shm-size=256m pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime python train.py\n",
        "docker run --gpus all -p 8000:8000 vllm/vllm-openai:v0.11.0 --model m\n",
        "docker run --gpus all my/infer:1 torchrun --nproc_per_node 2 infer.py\n",
        # an interactive shell on a PyTorch image, where training is started by hand
        "docker run -it --gpus all -v $PWD:/app pytorch_gpu:0.1 /bin/bash\n",
        # a README's inline `docker run` of the user's own image with Jupyter's port: a notebook
        "# Setup\n\n- Start JupyterLab: `docker run --gpus all -p 8888:8888 -v $(pwd):/work my-dl-env:latest`\n"]
PASS = ["docker run --gpus all ollama/ollama:0.5.7\n",
        "docker run --gpus all --shm-size=8g pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime python train.py\n",
        "docker run --gpus all --ipc=host pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime python train.py\n",
        # huggingface/text-embeddings-inference README: a Rust router, no PyTorch shared memory
        "docker run --gpus all -p 8080:80 ghcr.io/huggingface/text-embeddings-inference:1.5 --model-id m\n",
        # NVIDIA TensorRT quick start: trtexec builds an engine in one process
        "docker run --gpus all nvcr.io/nvidia/tensorrt:24.08-py3 trtexec --onnx=model.onnx\n",
        # Triton with ONNX/TensorRT models (no python backend)
        "docker run --gpus all -p 8000:8000 nvcr.io/nvidia/tritonserver:24.08-py3 tritonserver "
        "--model-repository=/models\n",
        # one inference process (faster-whisper's docker README shape)
        "docker run --gpus all my/whisper:1 python transcribe.py audio.wav\n"]
from dlgen.units import k8s_bytes, size_bytes  # noqa: E402

# What a command line does that needs shared memory.
TRAINING = re.compile(r"(?<![\w-])(train\w*|finetune\w*|fine_tune\w*|pretrain\w*|sft|dpo|torchrun|deepspeed|"
                      r"accelerate\s+launch|torch\.distributed\.\w+|lightning|fit)(?![\w-])|--num[_-]workers",
                      re.IGNORECASE)
NOTEBOOK = re.compile(r"\bjupyter(-lab|-notebook)?\b|start-notebook")
PARALLEL = re.compile(r"--(?:tensor-parallel-size|tp|tp-size|num-shard|nproc[_-]per[_-]node|"
                      r"pipeline-parallel-size)[= ](\d+)")


# What dies without shared memory, by why the container uses it (the message says which).
DIES = {"parallel": "its parallel workers (NCCL) die with SIGBUS (exit 135)",
        "server": "the server's workers die with SIGBUS (exit 135); its docs ask for --ipc=host or --shm-size",
        "torch": "DataLoader workers and NCCL die with SIGBUS (exit 135)"}


def shm_use(spec) -> str | None:
    """Why the container uses shared memory (a key of DIES), None when it does not."""
    words = [*(spec.entrypoint or []), *spec.command]
    text = " ".join(words)
    if any(int(n) > 1 for n in PARALLEL.findall(text)) or any(
            k in spec.env and str(spec.env[k] or "").isdigit() and int(spec.env[k] or 0) > 1
            for k in ("NUM_SHARD", "TENSOR_PARALLEL_SIZE")):
        return "parallel"
    shm = (reference.image_facts(spec.image or "") or {}).get("shm")
    if isinstance(shm, bool):
        return "server" if shm else None
    if isinstance(shm, str):
        return "server" if re.search(shm, text) else None
    torchish = (reference.image_facts(spec.image or "") or {}).get("torch")
    if torchish is None:   # an image of the user's own: its name may say
        torchish = True if re.search(r"torch", spec.image or "", re.IGNORECASE) else None
    named = f"{text} {spec.image or ''} {spec.service}"
    shell = spec.interactive and (not words or rulekit.bare_shell(words))   # where training is run by hand
    # a GPU image of the user's own that publishes Jupyter's port is a notebook (issue 30: what a run
    # publishes is evidence of what it runs, not only the image's name)
    jupyter = int(reference.servers()["servers"]["jupyter"]["port"])
    notebook = NOTEBOOK.search(named) or (not words and any(p.container == jupyter for p in spec.ports))
    return "torch" if TRAINING.search(text) or (notebook and torchish is not False) or (shell and torchish) else None


def too_small(spec) -> tuple[str, str] | None:
    """(the /dev/shm it has, what dies of it) for a GPU container that uses shared memory with less
    than 1 GiB of it; None where it has enough, uses none, or its size cannot be read."""
    why = shm_use(spec) if spec.requests_gpu and spec.ipc != "host" else None
    if why is None:
        return None
    k8s = spec.origin == "kubernetes"   # an emptyDir's sizeLimit is a Kubernetes quantity (512Mi, 1G)
    size = (k8s_bytes if k8s else size_bytes)(spec.shm_size) if spec.shm_size else None
    if size is not None and size >= (1e9 if k8s else 2**30):   # 1G, written as a Kubernetes quantity, is enough
        return None
    if spec.shm_size and size is None:
        return None  # a variable, an unknown unit, or bounded by the pod's memory: cannot judge
    if not spec.shm_size:
        return "the 64 MiB default /dev/shm", DIES[why]
    return (f"a {spec.shm_size} emptyDir at /dev/shm" if k8s else f"--shm-size={spec.shm_size}"), DIES[why]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    found = too_small(spec)
    if found:
        have, dies = found
        yield rulekit.Hit(line=spec.line, message=f"GPU container with {have}: {dies}",
                          hint="add --shm-size=8g (shm_size: 8g in compose) or --ipc=host")


KUBERNETES_FAIL = [
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          resources: {limits: {nvidia.com/gpu: 1}}
""",
    # a sizeLimit read as a Kubernetes quantity: 256Mi is below 1 GiB
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-8B-Instruct, --tensor-parallel-size, "2"]
          resources: {limits: {nvidia.com/gpu: 2}}
          volumeMounts: [{name: dshm, mountPath: /dev/shm}]
      volumes: [{name: dshm, emptyDir: {medium: Memory, sizeLimit: 256Mi}}]
""",
]
KUBERNETES_PASS = [
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          resources: {limits: {nvidia.com/gpu: 1}}
          volumeMounts: [{name: dshm, mountPath: /dev/shm}]
      volumes: [{name: dshm, emptyDir: {medium: Memory, sizeLimit: 8Gi}}]
""",
]


def check_kubernetes(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    found = too_small(spec)
    if found:
        yield rulekit.Hit(line=spec.line, message=f"{rulekit.k8s_where(spec)} uses shared memory with {found[0]}: "
                          f"{found[1]}",
                          hint="mount an emptyDir {medium: Memory, sizeLimit: 8Gi} at /dev/shm")
