"""DLG105 small-shm.

What it does: reports a PyTorch GPU container with neither `--shm-size` of at least 1g nor
`--ipc=host` (`shm_size` / `ipc: host` in compose).
Why is this bad: /dev/shm defaults to 64 MiB; DataLoader workers and NCCL fall back to shared
memory and die with SIGBUS (exit 135) (docker run reference, --shm-size and --ipc; PyTorch docs, "Multiprocessing best practices").
Use instead: `--shm-size=8g` (or `--ipc=host`).
"""

import re

from dlgen import rulekit

ID = "DLG105"
NAME = "small-shm"
SEVERITY = "warning"
TARGET = "run"
WHY = "The 64 MiB default /dev/shm kills PyTorch DataLoader workers with SIGBUS (exit 135)."
FAIL = ["docker run --gpus all pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime python train.py\n",
        "docker run --gpus all --shm-size=256m pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime python train.py\n"]
PASS = ["docker run --gpus all ollama/ollama:0.5.7\n",
        "docker run --gpus all --shm-size=8g pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime python train.py\n",
        "docker run --gpus all --ipc=host pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime python train.py\n"]
from dlgen.units import size_bytes  # noqa: E402

# GPU servers that do not run PyTorch (no DataLoader workers, no NCCL shared memory).
NOT_TORCH = re.compile(r"ollama/|llama\.cpp|ggml-org|open-webui", re.IGNORECASE)


def check(spec, ctx):
    if not spec.requests_gpu or spec.ipc == "host" or NOT_TORCH.search(spec.image or ""):
        return
    size = size_bytes(spec.shm_size) if spec.shm_size else None
    if size is not None and size >= 2**30:
        return
    if spec.shm_size and size is None:
        return  # a variable or an unknown unit: cannot judge
    have = f"--shm-size={spec.shm_size}" if spec.shm_size else "the 64 MiB default /dev/shm"
    yield rulekit.Hit(line=spec.line, message=f"GPU container with {have}: DataLoader workers die with SIGBUS (exit 135)", hint="add --shm-size=8g (shm_size: 8g in compose) or --ipc=host")
