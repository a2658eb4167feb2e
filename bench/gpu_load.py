"""Cold and warm loads of dlgen's generated python server on an NVIDIA GPU (issue 17).

    python -m bench.gpu_load --out bench/gpu_load.json [--sizes 1b,3b,8b,70b] [--dir /local/disk]

For each size it writes a synthetic safetensors checkpoint in the shape of a catalog Llama
(random bf16 weights, the catalog model's parameter count) to local disk, generates a python
bundle for that model, and starts the bundle's own app/server.py with MODEL_ID pointing at the
checkpoint: once with the page cache dropped (cold; needs root and /proc/sys/vm/drop_caches,
else the run says it could not drop it) and once right after (warm). Each run records, from the
server's own log and its /ready endpoint: interpreter + `import torch`, CUDA init, weight read +
copy to the GPU, warm-up, time to the first /ready 200, and the GPU memory used against the
weights (the headroom). A size whose weights + 20 % do not fit the GPUs is skipped and said so.
The output names the machine: GPU model and memory (nvidia-smi), CPU, disk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Llama shapes (config.json of the catalog models): hidden, layers, heads, kv heads, intermediate, vocab.
SHAPES = {"1b": ("llama-3.2-1b", 2048, 16, 32, 8, 8192, 128256), "3b": ("llama-3.2-3b", 3072, 28, 24, 8, 8192, 128256),
          "8b": ("llama-8b", 4096, 32, 32, 8, 14336, 128256), "70b": ("llama-70b", 8192, 80, 64, 8, 28672, 128256)}


def machine() -> dict:
    out: dict = {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()}
    smi = shutil.which("nvidia-smi")
    if smi:
        q = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True)
        out["gpus"] = [line.strip() for line in q.stdout.splitlines() if line.strip()]
    try:
        import torch

        out["torch"] = torch.__version__
        out["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception as exc:  # noqa: BLE001
        out["torch_error"] = str(exc)
    df = subprocess.run(["df", "-h", "--output=source,fstype,size", "."], capture_output=True, text=True)
    out["disk"] = df.stdout.strip().splitlines()[-1] if df.stdout else "unknown"
    return out


def write_checkpoint(where: Path, size: str) -> float:
    """A random-weight Llama in the hub layout (config.json + sharded model*.safetensors); its GB."""
    import torch
    import transformers

    name, hidden, layers, heads, kv, inter, vocab = SHAPES[size]
    config = transformers.LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                                      num_key_value_heads=kv, intermediate_size=inter, vocab_size=vocab,
                                      torch_dtype="bfloat16")
    if not (where / "config.json").exists():
        torch.set_default_dtype(torch.bfloat16)
        with torch.device("meta"):
            model = transformers.LlamaForCausalLM(config)
        model = model.to_empty(device="cpu")
        for p in model.parameters():
            p.data.normal_(0, 0.02)
        model.save_pretrained(where, max_shard_size="5GB", safe_serialization=True)
        del model
        from tests.hubstub import save_tiny_tokenizer  # the server loads a tokenizer; its size is nothing

        save_tiny_tokenizer(where)
    return sum(f.stat().st_size for f in where.glob("*.safetensors")) / 1e9


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_server(app: Path, model_dir: Path, weights_gb: float, gpus: int, timeout_s: float = 3600) -> dict:
    port = free_port()
    env = dict(os.environ, PORT=str(port), MODEL_ID=str(model_dir), MODEL_DTYPE="bf16", DLGEN_GPUS=str(gpus),
               MODEL_WEIGHTS_GB=f"{weights_gb:.2f}", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    t0 = time.monotonic()
    log = open(app.parent / "server.log", "w+")  # a file, not a pipe: -X importtime writes a lot
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "server.py"], cwd=app, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    ready = None
    lines: list[str] = []
    try:
        while time.monotonic() - t0 < timeout_s and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as r:
                    if r.status == 200:
                        ready = time.monotonic() - t0
                        break
            except OSError:
                pass
            time.sleep(0.1)
        used = gpu_memory_used()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.seek(0)
        lines = log.read().splitlines()
        log.close()
    torch_import = next((int(m.group(1)) / 1e6 for line in lines
                         if (m := re.search(r"import time:\s+\d+ \|\s+(\d+) \| torch$", line))), None)
    loaded = next((float(m.group(1)) for line in lines
                   if (m := re.search(r"ready on .* after ([\d.]+) s", line))), None)
    return {"ready_s": round(ready, 2) if ready else None, "import_torch_s": torch_import, "load_and_warmup_s": loaded,
            "gpu_memory_used_gb": used, "log_tail": [line for line in lines if "import time" not in line][-10:]}


def gpu_memory_used() -> float | None:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    q = subprocess.run([smi, "--query-gpu=memory.used", "--format=csv,noheader,nounits"], capture_output=True,
                       text=True)
    return round(sum(float(x) for x in q.stdout.split()) / 1024, 2) if q.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1b,3b,8b,70b")
    ap.add_argument("--dir", default="/tmp/dlgen-gpu-load", help="local disk for the checkpoints")
    ap.add_argument("--out", default=str(ROOT / "bench" / "gpu_load.json"))
    args = ap.parse_args(argv)
    from dlgen import bundle, gpuplan
    from dlgen import spec as spec_mod

    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    host = machine()
    import torch

    gpu_gb = torch.cuda.get_device_properties(0).total_memory / 1e9 if torch.cuda.is_available() else 0
    results = []
    for size in args.sizes.split(","):
        name = SHAPES[size][0]
        spec = spec_mod.build(model=name, gpu_memory=max(1.0, round(gpu_gb)) if gpu_gb else None)
        count = spec.gpu_count
        if not torch.cuda.is_available() or count > torch.cuda.device_count():
            results.append({"size": size, "model": name, "skipped": f"needs {count} GPUs of {gpu_gb:.0f} GB"})
            continue
        ckpt = work / size
        weights_gb = write_checkpoint(ckpt, size)
        app = work / f"bundle-{size}"
        bundle.write(bundle.render(spec, "bench.gpu_load"), app, force=True)
        cold_dropped = drop_caches()
        cold = run_server(app / "app", ckpt, weights_gb, count)
        warm = run_server(app / "app", ckpt, weights_gb, count)
        results.append({"size": size, "model": name, "weights_gb": round(weights_gb, 2), "gpus": count,
                        "page_cache_dropped": cold_dropped, "cold": cold, "warm": warm,
                        "estimate_load_s": spec.timing.load_s, "start_period_s": spec.timing.start_period_s,
                        "headroom_constant": float(gpuplan.table()["serving_headroom"])})
        print(json.dumps(results[-1], indent=2), flush=True)
    Path(args.out).write_text(json.dumps({"machine": host, "measured": time.strftime("%Y-%m-%d"),
                                          "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
