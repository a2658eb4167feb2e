"""Sizing error on the models people serve in 2026 (issue 27): what dlgen says a model weighs and
how many 80 GB GPUs it gives it with vLLM, against the published size and the count a person would
choose, for dlgen now and at an earlier revision.

    python -m bench.sizing --write --baseline REV

The models' files are served by a local Hub (tests/hubstub.py) as sparse checkpoints with each
model's published architecture (tests/modelckpt.py); dlgen at REV runs from a git worktree against
the same endpoint. Results go to bench/sizing.json; `python -m bench --render-only` shows them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GIB = 2**30


def models():
    from tests import modelckpt as ck

    qwen72_awq = {"model_type": "qwen2", "hidden_size": 8192, "intermediate_size": 29568, "num_hidden_layers": 80,
                  "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 152064,
                  "max_position_embeddings": 32768, "quantization_config": {"quant_method": "awq"}}
    # id: (config, tensors, published stored bytes and its source, the count a person would choose)
    return {
        "acme/Dense-8B": (ck.LLAMA_31_8B, lambda: ck.llama_tensors(ck.LLAMA_31_8B),
                                                  2 * 8_030_261_248, 1),
        "openai/gpt-oss-120b": (ck.GPT_OSS_120B, lambda: ck.gpt_oss_tensors(ck.GPT_OSS_120B), 60.8 * GIB, 1),
        "meta-llama/Llama-4-Scout-17B-16E-Instruct": (
            ck.LLAMA4_SCOUT, lambda: ck.llama4_tensors(dict(ck.LLAMA4_SCOUT["text_config"])), 109e9 * 2, 4),
        "Qwen/Qwen3-235B-A22B-FP8": ({**ck.QWEN3_235B_A22B, "quantization_config": {"quant_method": "fp8"}},
                                     lambda: ck.quantize(ck.llama_tensors(ck.QWEN3_235B_A22B), "fp8"), 235e9, 4),
        "Qwen/Qwen2.5-72B-Instruct-AWQ": (qwen72_awq, lambda: ck.quantize(ck.llama_tensors(
            {**qwen72_awq, "tie_word_embeddings": False}, dtype="F16"), "awq"), 41.6e9, 1),
        "zai-org/GLM-4.5-Air": (ck.GLM_45_AIR, lambda: ck.llama_tensors(ck.GLM_45_AIR), 106e9 * 2, 4),
        "mistralai/Mistral-Large-Instruct-2411": (ck.MISTRAL_LARGE_2411,
                                                  lambda: ck.llama_tensors(ck.MISTRAL_LARGE_2411), 123e9 * 2, 4),
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct": (
            ck.LLAMA4_MAVERICK, lambda: ck.llama4_tensors(dict(ck.LLAMA4_MAVERICK["text_config"])), 400e9 * 2,
            "2 x 8"),
        "deepseek-ai/DeepSeek-V3": (ck.DEEPSEEK_V3, lambda: ck.deepseek_tensors(ck.DEEPSEEK_V3), 688e9, "2 x 8"),
        "moonshotai/Kimi-K2-Instruct": (ck.KIMI_K2, lambda: ck.deepseek_tensors(ck.KIMI_K2), 1.04e12, "2 x 8"),
    }


PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from dlgen import spec
out = {}
for repo in json.loads(sys.argv[2]):
    try:
        s = spec.build(model=repo, server="vllm")
        out[repo] = {"weights_gb": round(s.model.weights_gb, 1), "gpus": s.gpu_count, "nodes": getattr(s, "nodes", 1)}
    except Exception as exc:
        out[repo] = {"weights_gb": None, "gpus": None, "refused": str(exc)[:120]}
print(json.dumps(out))
"""


def measure(root: Path, repos: list[str], env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(root), json.dumps(repos)], env=env, capture_output=True,
                          text=True, timeout=900)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    from tests import modelckpt as ck
    from tests.hubstub import HubStub

    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", help="a git revision to measure too")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    table = models()
    with tempfile.TemporaryDirectory() as tmp:
        repos = {repo: ck.write_checkpoint(Path(tmp) / repo.replace("/", "__"), config, tensors(), shards=8)
                 for repo, (config, tensors, _, _) in table.items()}
        with HubStub(repos) as hub:
            env = {**os.environ, "HF_ENDPOINT": hub.url, "DLGEN_CACHE_DIR": f"{tmp}/facts", "HF_HOME": f"{tmp}/hf"}
            env.pop("HF_HUB_OFFLINE", None)
            runs = {"now": measure(ROOT, list(table), env)}
            if args.baseline:
                base = Path(tmp) / "base"
                subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base), args.baseline], cwd=ROOT,
                               check=True)
                try:
                    runs[args.baseline] = measure(base, list(table), {**env, "DLGEN_CACHE_DIR": f"{tmp}/facts-base"})
                finally:
                    subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    rows = []
    for repo, (_, _, published, person) in table.items():
        row = {"model": repo, "published_gb": round(published / 1e9, 1), "person_gpus": person}
        for name, run in runs.items():
            r = run[repo]
            err = None if r["weights_gb"] is None else round(abs(r["weights_gb"] * 1e9 - published) / published, 3)
            row[name] = {**r, "weights_error": err}
        rows.append(row)
    print(json.dumps(rows, indent=2))
    if args.write:
        (ROOT / "bench" / "sizing.json").write_text(json.dumps({"baseline": args.baseline, "rows": rows}, indent=2)
                                                    + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
