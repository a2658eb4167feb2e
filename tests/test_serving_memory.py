"""Serving memory (dlgen/memory.py, issue 27): weights + KV cache for the context + the server's
activation peak per GPU; the context limit when the full context does not fit; --dtype only where
the server converts (online FP8), and a quantized checkpoint served as it is stored."""

import json

import pytest
from ruamel.yaml import YAML

from dlgen import bundle, catalog, memory
from dlgen import spec as spec_mod
from dlgen.errors import DlgenError
from dlgen.sources import parse_dockerfile
from tests import modelckpt as ck
from tests.hubstub import HubStub

yaml = YAML(typ="safe", pure=True)


def cmd(files) -> list[str]:
    return json.loads(parse_dockerfile(files["Dockerfile"]).final.find("CMD")[-1].original.split(None, 1)[1])


def test_the_kv_cache_of_one_token_is_the_published_shape():
    m = catalog.find("llama-8b")
    assert memory.kv_bytes_per_token(m, 1) == 2 * 32 * 8 * 128 * 2 == 128 * 1024   # 128 KiB per token
    assert memory.kv_bytes_per_token(m, 8) == 128 * 1024 // 8, "KV heads are divided over the ranks"
    assert memory.kv_bytes_per_token(m, 16) == memory.kv_bytes_per_token(m, 8), "a KV head is not split"


def test_llama_8b_on_a_24_gb_gpu_gets_a_context_limit_that_fits():
    spec = spec_mod.build(model="llama-8b", server="vllm", gpu_memory=24)
    files = bundle.render(spec, "t")
    argv = cmd(files)
    limit = int(argv[argv.index("--max-model-len") + 1])
    room = 24 * 0.9 - 16.06 - memory.SERVER_OVERHEAD_GB
    assert limit * 128 * 1024 <= room * 1e9 < (limit + 2 * memory.CONTEXT_STEP) * 128 * 1024
    assert 20_000 < limit < 32_768, "about 27k tokens: far below the model's 131,072"
    assert limit % memory.CONTEXT_STEP == 0
    assert f"--max-model-len {limit}" in files["README.md"] and "does not fit" in files["README.md"]
    assert any("does not fit the KV cache" in n for n in spec.notes)


def test_on_80_gb_the_full_context_fits_and_no_limit_is_set():
    spec = spec_mod.build(model="llama-8b", server="vllm")
    assert "--max-model-len" not in cmd(bundle.render(spec, "t")) and spec.context_limit is None
    assert spec.gpu_plan.serving.tokens >= 131072


@pytest.mark.parametrize("server,flags", [("sglang", ["--context-length"]),
                                          ("tgi", ["--max-total-tokens", "--max-input-tokens"])])
def test_each_server_gets_its_own_context_flag(server, flags):
    argv = cmd(bundle.render(spec_mod.build(model="llama-8b", server=server, gpu_memory=24), "t"))
    values = [int(argv[argv.index(f) + 1]) for f in flags]
    assert values[0] > 20_000 and (len(values) == 1 or values[1] == values[0] - 1)


def test_a_gpu_that_holds_no_useful_context_is_refused_with_the_count_that_would():
    with pytest.raises(DlgenError) as err:
        spec_mod.build(model="llama-8b", server="vllm", gpu_memory=20, gpus="1")
    assert "KV cache" in err.value.message and "--gpus 2" in err.value.hint


def test_fp8_with_vllm_converts_at_load_and_downloads_the_bf16_checkpoint():
    """--dtype fp8 on a bf16 checkpoint: vLLM gets --quantization fp8; the download, the volume and
    the load time follow the bf16 bytes; the GPU count follows the fp8 bytes (405B fits one host)."""
    spec = spec_mod.build(model="llama-405b", server="vllm", dtype="fp8")
    files = bundle.render(spec, "t")
    argv = cmd(files)
    assert argv[argv.index("--quantization") + 1] == "fp8" and argv[argv.index("--dtype") + 1] == "auto"
    assert spec.model.weights_gb == pytest.approx(811.7, abs=0.1), "the bf16 download"
    assert spec.model.gpu_gb == pytest.approx(405.9, abs=0.1)
    assert spec.gpu_count == 8
    claim = next(d for d in yaml.load_all(files["k8s.yaml"]) if d and d["kind"] == "PersistentVolumeClaim")
    assert int(claim["spec"]["resources"]["requests"]["storage"][:-2]) > 811 * 1.25 / 1.0737
    bf16 = spec_mod.build(model="llama-405b", server="vllm")     # bf16 does not fit 8 x 80 GB: two nodes
    assert (bf16.nodes, bf16.gpu_count) == (2, 8)


@pytest.mark.parametrize("opts,needle", [
    (dict(model="llama-8b", server="vllm", dtype="int4"), "AWQ or GPTQ"),
    (dict(model="llama-8b", dtype="fp8"), "--server vllm"),
    (dict(model="llama-8b", dtype="int8"), "checkpoint quantized"),
])
def test_a_dtype_the_server_cannot_load_is_one_line_with_the_fix(opts, needle):
    with pytest.raises(DlgenError) as err:
        spec_mod.build(**opts)
    assert needle in err.value.line()


def test_an_awq_checkpoint_is_served_with_its_quantization(tmp_path, monkeypatch):
    """An AWQ checkpoint on the Hub: sized by its stored int4 bytes (one GPU for a 72B), served by
    vLLM reading its quantization_config (--dtype auto, no conversion); dlgen's python server and a
    --dtype conversion are refused."""
    monkeypatch.setenv("DLGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    qwen72 = {"model_type": "qwen2", "hidden_size": 8192, "intermediate_size": 29568, "num_hidden_layers": 80,
              "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 152064,
              "max_position_embeddings": 32768, "tie_word_embeddings": False,
              "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128}}
    tensors = ck.quantize(ck.llama_tensors(qwen72, dtype="F16"), "awq")
    repo = ck.write_checkpoint(tmp_path / "awq", qwen72, tensors, shards=4)
    with HubStub({"Qwen/Qwen2.5-72B-Instruct-AWQ": repo}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        spec = spec_mod.build(model="Qwen/Qwen2.5-72B-Instruct-AWQ", server="vllm")
        assert spec.model.quant == "awq" and spec.model.dtype == "int4"
        assert 38 < spec.model.weights_gb < 46 and spec.gpu_count == 1
        argv = cmd(bundle.render(spec, "t"))
        assert argv[argv.index("--dtype") + 1] == "auto" and "--quantization" not in argv
        with pytest.raises(DlgenError, match="does not load"):
            spec_mod.build(model="Qwen/Qwen2.5-72B-Instruct-AWQ")
        with pytest.raises(DlgenError, match="served as stored"):
            spec_mod.build(model="Qwen/Qwen2.5-72B-Instruct-AWQ", server="vllm", dtype="fp8")
