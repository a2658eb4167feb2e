"""Training memory (dlgen/memory.py, issue 27): DDP where the whole training state fits each GPU,
else FSDP sharded over the job's GPUs, else LoRA; the generated app/train.py runs the choice. The
FSDP and LoRA paths run here on the CPU: 2 gloo processes through the bundle's own torchrun command,
steps, a checkpoint, a resume from it, and a clean SIGTERM."""

import os
import subprocess
import sys

import dockerfile
import pytest

from dlgen import bundle, memory
from dlgen import spec as spec_mod
from dlgen.errors import DlgenError
from tests.trainrun import stop_cleanly


def test_an_8b_model_on_4_x_80_gb_trains_with_fsdp():
    spec = spec_mod.build(model="llama-8b", kind="train", gpus="4")
    t = spec.training
    assert t.strategy == "fsdp" and spec.env["DLGEN_TRAIN_STRATEGY"] == "fsdp"
    assert t.per_gpu_gb["ddp"] == pytest.approx(8.03 * 16, abs=0.2), "16 bytes per parameter on every GPU"
    assert t.per_gpu_gb["fsdp"] == pytest.approx(8.03 * 16 / 4, abs=0.1)
    assert t.per_gpu_gb["fsdp"] <= t.usable_gb < t.per_gpu_gb["ddp"]
    readme = bundle.render(spec, "t")["README.md"]
    assert "| FSDP (sharded over 4 GPUs) | 32.1 GB | chosen |" in readme and "DDP (full copy" in readme


@pytest.mark.parametrize("opts,strategy", [(dict(model="llama-3.2-1b", gpus="2"), "ddp"),
                                           (dict(model="llama-8b"), "lora"),
                                           (dict(model="llama-8b", gpus="3"), "fsdp"),
                                           (dict(model="qwen2.5-14b", gpus="8", gpu="h200"), "fsdp")])
def test_the_first_strategy_that_fits_is_chosen(opts, strategy):
    spec = spec_mod.build(kind="train", **opts)
    assert spec.training.strategy == strategy
    reqs = bundle.render(spec, "t")["requirements.txt"]
    assert ("peft==" in reqs) == (strategy == "lora"), "PEFT only where LoRA runs"


def test_nothing_fits_is_one_line_with_the_three_numbers_and_the_fix():
    with pytest.raises(DlgenError) as err:
        spec_mod.build(model="llama-70b", kind="train", gpus="4")
    line = err.value.line()
    assert "does not fit 4 x 80 GB" in line and "DDP 1128.9 GB, FSDP 282.2 GB, LORA 152.4 GB" in line
    assert "--nodes 3 --gpus 8" in err.value.hint   # 24 GPUs shard it (FSDP: 47 GB each); one host does not


def _train(tmp_path, strategy, **opts):
    spec = spec_mod.build(kind="train", **opts)
    assert spec.training.strategy == strategy
    files = bundle.render(spec, "test")
    bundle.write(files, tmp_path / "b")
    (cmd,) = [c for c in dockerfile.parse_string(files["Dockerfile"]) if c.cmd == "CMD"]
    app = tmp_path / "b" / "app"
    argv = [sys.executable if i == 0 else w.replace("/app/", f"{app}/") for i, w in enumerate(cmd.value)]
    argv[argv.index("--nproc-per-node") + 1] = "2"    # two CPU processes stand for the GPUs
    env = dict(os.environ, MODEL_SOURCE="synthetic", DLGEN_SYNTHETIC_MB="2", DLGEN_HEARTBEAT=str(tmp_path / "hb"),
               CHECKPOINT_DIR=str(tmp_path / "ck"), TRAIN_STEPS="12", CHECKPOINT_EVERY="5", NUM_WORKERS="0",
               CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(app), OMP_NUM_THREADS="1")
    return argv, env, tmp_path / "ck"


def test_fsdp_training_on_two_processes_shards_checkpoints_resumes_and_stops(tmp_path):
    argv, env, ck = _train(tmp_path, "fsdp", model="llama-8b", gpus="4")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "FSDP over 2 ranks" in out and "sharded checkpoint at step 12 (2 ranks)" in out
    shards = sorted(p.name for p in (ck / "sharded").iterdir())
    assert [n for n in shards if n.endswith(".distcp")] == ["__0_0.distcp", "__1_0.distcp"], "one file per rank"
    assert (ck / "last.step").read_text().strip() == "12" and not (ck / "last.pt").exists()
    env["TRAIN_STEPS"] = "20"
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0 and "resumed from step 12" in again.stdout + again.stderr, again.stderr[-3000:]
    assert (ck / "last.step").read_text().strip() == "20"
    rest = stop_cleanly(argv, env, tmp_path, after="step 30 ")
    assert int((ck / "last.step").read_text()) >= 30 and "(signal)" in rest
    assert not (ck / "sharded.tmp").exists() and not (ck / "sharded.old").exists()


def test_lora_training_trains_and_saves_only_the_adapters(tmp_path):
    pytest.importorskip("peft")
    import torch

    argv, env, ck = _train(tmp_path, "lora", model="llama-8b", gpus="2", gpu="l40s")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "LoRA r=16" in out
    saved = torch.load(ck / "last.pt")
    assert saved["step"] == 12 and saved["model"] and all("lora_" in k for k in saved["model"])
    env["TRAIN_STEPS"] = "15"
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0 and "resumed from step 12" in again.stdout + again.stderr, again.stderr[-3000:]


def test_the_training_terms_are_the_zero_paper_s():
    from dlgen import catalog

    fit = memory.training(catalog.find("llama-8b"), 4, 80, 0.9)
    assert fit.per_gpu_gb["ddp"] == round(8_030_261_248 * 16 / 1e9, 1)
    assert fit.per_gpu_gb["lora"] == round(8_030_261_248 * (2 + 0.01 * 16) / 1e9, 1)
