"""Every GPU requested is used: one GPU count per bundle, requested identically by run.sh,
compose.yaml and k8s.yaml and passed to the server; the count divides the heads and holds the
weights; torchrun DDP training and the device_map="auto" server run for real on the CPU."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import dockerfile
import pytest
from ruamel.yaml import YAML

from dlgen import bundle, memory, reference, sources
from dlgen import spec as spec_mod
from dlgen.errors import DlgenError
from dlgen.runspec import RunSpec
from tests.conftest import assert_one_line_error
from tests.trainrun import stop_cleanly

yaml = YAML(typ="safe", pure=True)
LLMS = [m for m in reference.models() if m["task"] == "llm"]
# How each server is told the count (from each project's documentation, not from dlgen's data).
TOLD = {"vllm": "--tensor-parallel-size", "sglang": "--tp-size", "tgi": "--num-shard"}
USABLE_GB = 80 * 0.9   # one 80 GB GPU at vLLM's default 0.9 utilisation


def weights_gb(m):
    from dlgen import catalog

    return catalog.entry_model(m).gpu_gb


def run_line(text):
    """The server's docker run line (not the fetch phase's)."""
    runs = [RunSpec.from_docker_run(shlex.split(line)) for line in text.replace("\\\n", " ").splitlines()
            if line.strip().startswith("docker run")]
    return next(r for r in runs if r.labels.get("ai.dlgen.phase") != "fetch")


def requested(files, name):
    """The GPU count each target asks for, and what the server is told, read from the files."""
    run = run_line(files["run.sh"])
    svc = yaml.load(files["compose.yaml"])["services"][name]
    (dev,) = svc["deploy"]["resources"]["reservations"]["devices"]
    docs = list(yaml.load_all(files["k8s.yaml"]))
    pod = docs[0]["spec"]["template"]["spec"] if "template" in docs[0]["spec"] else docs[0]["spec"]
    (container,) = pod["containers"]
    k8s = container["resources"]["limits"]["nvidia.com/gpu"]
    compose = len(dev["device_ids"]) if "device_ids" in dev else dev["count"]
    argv = [w for c in dockerfile.parse_string(files["Dockerfile"]) if c.cmd in ("ENTRYPOINT", "CMD")
            for w in c.value]
    env = {"run.sh": run.env.get("DLGEN_GPUS"),
           "compose": dict(e.split("=", 1) for e in svc.get("environment", []) if "=" in e).get("DLGEN_GPUS"),
           "k8s": {e["name"]: e.get("value") for e in container.get("env", [])}.get("DLGEN_GPUS")}
    return run.gpu_request.k8s_count(), compose, k8s, argv, env


@pytest.mark.parametrize("server", ["vllm", "sglang", "tgi", "python"])
def test_every_llm_one_count_everywhere_that_divides_the_heads_and_holds_the_weights(server):
    for m in LLMS:
        need = weights_gb(m) * 1.2
        try:
            spec = spec_mod.build(model=m["name"], server=server)
        except DlgenError as err:  # only a model no 8 x 80 GB host holds
            assert need > 8 * USABLE_GB or "KV cache" in str(err) or "does not load" in str(err), (m["name"], str(err))
            continue
        n = spec.gpu_count
        files = bundle.render(spec, "test")
        if spec.nodes > 1:   # past one host: a group, every node's container and pod asks for n
            assert_group(spec, files, server)
            continue
        run_n, compose_n, k8s_n, argv, env = requested(files, spec.name)
        assert run_n == compose_n == k8s_n == n, m["name"]
        # a server with a KV cache holds the weights, its overhead and a useful context on each GPU
        # (dlgen/memory.py); the others the weights plus 20 %
        holds = (lambda c, model=spec.model: memory.serving(model, c, 80, 0.9).fits) if spec.gpu_plan.serving \
            else (lambda c, need=need: c * USABLE_GB >= need)
        assert holds(n), m["name"]
        if server in TOLD:
            assert argv[argv.index(TOLD[server]) + 1] == str(n), (m["name"], argv)
            heads, kv = m["num_attention_heads"], m["num_key_value_heads"]
            assert heads % n == 0 and (kv % n == 0 or n % kv == 0), m["name"]
            fewer = [c for c in range(1, n) if holds(c) and heads % c == 0 and (kv % c == 0 or c % kv == 0)]
        else:
            assert env == {"run.sh": str(n), "compose": str(n), "k8s": str(n)}, m["name"]
            fewer = [c for c in range(1, n) if c * USABLE_GB >= need]
        assert not fewer, f"{m['name']}: {fewer[0]} GPUs would do"
        if n > 1 and server in TOLD:  # NCCL between worker processes: shared memory and locked memory
            run = run_line(files["run.sh"])
            assert run.ulimits.get("memlock") == "-1" and (run.ipc == "host" or run.shm_size), m["name"]


def test_llama_70b_gets_4_and_a_count_that_cannot_hold_it_is_refused(dlgen, tmp_path):
    spec = spec_mod.build(model="llama-70b", server="vllm")
    assert spec.gpu_count == 4 and spec.model.heads == 64
    readme = bundle.render(spec, "test")["README.md"]
    assert "needs 4 GPUs with at least 80 GB each" in readme and "--tensor-parallel-size 4" in readme
    line = assert_one_line_error(dlgen("new", tmp_path / "a", "--model", "llama-70b", "--server", "vllm",
                                       "--gpus", "1"), "llama-70b", "80 GB", "--gpus 4")
    assert "141" in line
    assert not (tmp_path / "a").exists()
    assert_one_line_error(dlgen("new", tmp_path / "b", "--model", "llama-70b", "--server", "vllm", "--gpus", "3"),
                          "64 attention heads", "--gpus 4 or 8")
    assert_one_line_error(dlgen("new", tmp_path / "c", "--model", "llama-70b", "--gpus", "all"),
                          "--gpus all", "--gpus 4")
    assert_one_line_error(dlgen("new", tmp_path / "d", "--model", "llama-8b", "--gpus", "16"), "at most 8")
    # device indexes: the same count, the devices named where the target can name them
    ids = spec_mod.build(model="llama-70b", server="vllm", gpus="0,1,2,3")
    run_n, compose_n, k8s_n, argv, _ = requested(bundle.render(ids, "test"), ids.name)
    assert run_n == compose_n == k8s_n == 4 and argv[argv.index("--tensor-parallel-size") + 1] == "4"
    # GPU size by name, or in GB: larger GPUs, fewer of them
    assert spec_mod.build(model="llama-70b", server="vllm", gpu="h200").gpu_count == 2
    assert spec_mod.build(model="llama-70b", server="vllm", gpu_memory=40).gpu_count == 8
    assert_one_line_error(dlgen("new", tmp_path / "e", "--model", "llama-8b", "--gpu", "h900"), "unknown GPU",
                          "h100")


def assert_group(spec, files, server):
    """A group over nodes: each node's docker run and pod asks for the GPUs of one node, and the server's
    parallelism over the group equals nodes x GPUs per node (vLLM: tensor parallel inside a node, a
    pipeline stage per node; SGLang: tensor parallel over all of them)."""
    n, nodes = spec.gpu_count, spec.nodes
    runs = [r for r in sources.run_lines(files["run.sh"]) if r.labels.get("ai.dlgen.phase") != "fetch"]
    assert runs and all(r.gpus == str(n) and r.network == "host" for r in runs), spec.name
    assert "compose.yaml" not in files and "stack.yaml" not in files
    lws = next(d for d in yaml.load_all(files["k8s.yaml"]) if d and d["kind"] == "LeaderWorkerSet")
    t = lws["spec"]["leaderWorkerTemplate"]
    assert t["size"] == nodes
    pods = [t["leaderTemplate"]["spec"], t["workerTemplate"]["spec"]]
    assert all(p["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == n for p in pods)
    leader = t["leaderTemplate"]["spec"]["containers"][0]
    words = shlex.split(leader["args"][0].split("&& exec ", 1)[1]) if leader["command"][:2] == ["bash", "-c"] \
        else leader["args"]
    if server == "vllm":
        assert words[words.index("--tensor-parallel-size") + 1] == str(n)
        assert words[words.index("--pipeline-parallel-size") + 1] == str(nodes)
    else:
        assert words[words.index("--tp-size") + 1] == str(n * nodes) and words[words.index("--nnodes") + 1] == str(nodes)
    assert memory.serving(spec.model, n * nodes // spec.gpu_plan.pipeline, 80, 0.9, spec.gpu_plan.pipeline).fits


def test_models_table_shows_the_gpu_count(dlgen):
    rows = {r["model"]: r for r in json.loads(dlgen("models", "--server", "vllm", "--format", "json").stdout)}
    assert rows["llama-70b"]["gpus"] == 4 and rows["llama-8b"]["gpus"] == 1 and rows["llama-70b"]["nodes"] == 1
    assert (rows["llama-405b"]["nodes"], rows["llama-405b"]["gpus"]) == (2, 8)   # a group of two nodes
    assert rows["llama-405b"]["start_period_s"] >= 600, "never below vLLM's own wait for its group"
    assert "GPUs (80 GB)" in dlgen("models").stdout
    line = next(ln for ln in dlgen("models", "--server", "vllm").stdout.splitlines() if ln.startswith("llama-405b "))
    assert " 2 x 8 " in line
    assert rows == {r["model"]: r for r in json.loads(dlgen("models", "--server", "vllm", "--format",
                                                            "json").stdout)}


def test_generated_multi_gpu_bundles_lint_clean_and_dlg111_reads_a_mismatch(tmp_path, dlgen):
    spec = spec_mod.build(model="llama-70b", server="vllm")
    files = bundle.render(spec, "test")
    bundle.write(files, tmp_path / "ok")
    proc = dlgen("lint", "--no-config", "--format", "json", tmp_path / "ok")
    assert not [f for f in json.loads(proc.stdout) if f["rule"] == "DLG111"]
    # the same compose service, its command saying 8 while the reservation says 4
    doc = yaml.load(files["compose.yaml"])
    argv = [w for c in dockerfile.parse_string(files["Dockerfile"]) if c.cmd in ("ENTRYPOINT", "CMD")
            for w in c.value]
    argv[argv.index("--tensor-parallel-size") + 1] = "8"
    doc["services"][spec.name]["command"] = argv
    (tmp_path / "bad").mkdir()
    with open(tmp_path / "bad" / "compose.yaml", "w") as fh:
        yaml.dump(doc, fh)
    found = [f for f in json.loads(dlgen("lint", "--format", "json", tmp_path / "bad").stdout)
             if f["rule"] == "DLG111"]
    assert len(found) == 1 and "uses 8 GPUs" in found[0]["message"] and "requests 4" in found[0]["message"]


def _train_bundle(tmp_path, gpus="2"):
    spec = spec_mod.build(model="resnet50", kind="train", gpus=gpus)
    files = bundle.render(spec, "test")
    bundle.write(files, tmp_path / "b")
    (cmd,) = [c for c in dockerfile.parse_string(files["Dockerfile"]) if c.cmd == "CMD"]
    app = tmp_path / "b" / "app"
    # the bundle's own command, its /app paths pointed at the bundle written here
    argv = [sys.executable if i == 0 else w.replace("/app/", f"{app}/") for i, w in enumerate(cmd.value)]
    return spec, argv, app


def test_torchrun_ddp_training_on_cpu_steps_checkpoints_resumes_and_stops_cleanly(tmp_path):
    spec, argv, app = _train_bundle(tmp_path)
    assert spec.gpu_count == 2 and argv[argv.index("--nproc-per-node") + 1] == "2"
    ck, hb = tmp_path / "ck", tmp_path / "hb"
    env = dict(os.environ, MODEL_SOURCE="synthetic", DLGEN_SYNTHETIC_MB="2", DLGEN_HEARTBEAT=str(hb),
               CHECKPOINT_DIR=str(ck), TRAIN_STEPS="20", CHECKPOINT_EVERY="1000", NUM_WORKERS="0",
               CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(app), OMP_NUM_THREADS="1")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "rank 0 of 2 (gloo)" in out
    assert not [l for l in out.splitlines() if " rank1 " in l and " INFO " in l], "rank 0 alone logs at INFO"
    assert sorted(p.name for p in ck.iterdir()) == ["last.pt", "last.step"], "one checkpoint, by rank 0 only"
    import torch

    assert torch.load(ck / "last.pt")["step"] == 20 and hb.exists()
    # a restart resumes where it stopped
    env["TRAIN_STEPS"] = "30"
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0 and "resumed from step 20" in again.stdout + again.stderr
    assert torch.load(ck / "last.pt")["step"] == 30
    # SIGTERM (docker stop) reaches the launcher: both ranks stop at the same step, rank 0 saves, exit 0
    rest = stop_cleanly(argv, env, tmp_path, after="step 40 ")
    assert torch.load(ck / "last.pt")["step"] >= 40  # saved at the step where both ranks stopped
    assert "stopped at step" in rest and "(signal)" in rest


def test_python_server_places_a_transformers_model_with_device_map_auto(tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from tests.test_generated_server import free_port, get, wait_for

    model_dir = tmp_path / "tiny-llama"
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    transformers.LlamaForCausalLM(config).save_pretrained(model_dir)
    from tests.hubstub import save_tiny_tokenizer

    save_tiny_tokenizer(model_dir)
    spec = spec_mod.build(model="llama-8b", gpus="2", gpu_memory=80)
    assert spec.env["DLGEN_GPUS"] == "2"
    bundle.write(bundle.render(spec, "test"), tmp_path / "b")
    port = free_port()
    env = dict(os.environ, PORT=str(port), MODEL_ID=str(model_dir), MODEL_DTYPE="fp32", DLGEN_GPUS="2",
               MODEL_WEIGHTS_GB="0.001", CUDA_VISIBLE_DEVICES="", HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "server.py"], cwd=tmp_path / "b" / "app", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_for(url + "/health", time.monotonic() + 30) == 200
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and get(url + "/ready")[0] != 200:
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            time.sleep(0.2)
        assert get(url + "/ready")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert "device_map=auto" in out and proc.returncode == 0, out[-3000:]
