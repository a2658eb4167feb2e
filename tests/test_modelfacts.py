"""A model's facts from its own files (dlgen/modelfacts.py, issue 27): config.json and the
safetensors headers of a local checkpoint folder, or of a Hub repository through a local endpoint
(tests/hubstub.py) that answers model_info, file downloads and Range requests as the Hub does.
The checkpoints are sparse files whose headers list every tensor of a published architecture
(tests/modelckpt.py), so sizes are the real ones while the disk holds a few KB."""

import copy

import pytest

from dlgen import catalog, modelfacts
from dlgen import spec as spec_mod
from dlgen.errors import DlgenError
from tests import modelckpt as ck
from tests.hubstub import HubStub

GB = 1e9


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test has its own facts cache and Hugging Face cache, and no token unless it sets one."""
    monkeypatch.setenv("DLGEN_CACHE_DIR", str(tmp_path / "dlgen-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    for var in ("HF_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


def test_a_dense_checkpoint_is_its_published_size(tmp_path):
    """Llama-3.1-8B's tensors from its published config: 8,030,261,248 parameters, 16.06 GB bf16;
    the publisher's second copies (original/, consolidated.safetensors) are not counted."""
    tensors = ck.llama_tensors(ck.LLAMA_31_8B)
    folder = ck.write_checkpoint(tmp_path / "llama", ck.LLAMA_31_8B, tensors, shards=4, twins=True)
    f = modelfacts.read_local(folder)
    assert f.params == 8_030_261_248
    assert f.stored_bytes == 2 * 8_030_261_248 and f.dtype == "bf16" and f.quant_method is None
    assert (f.layers, f.heads, f.kv_heads, f.head_dim, f.context) == (32, 32, 8, 128, 131072)
    assert len(f.files) == 4 and not any("original" in n or "consolidated" in n for n in f.files)
    assert sum(p.stat().st_blocks for p in folder.rglob("*")) * 512 < 10 * 2**20, "sparse: a few KB on disk"


@pytest.mark.parametrize("config,published", [(ck.MIXTRAL_8X7B, 46_702_792_704), (ck.QWEN3_30B_A3B, 30_532_122_624)],
                         ids=["mixtral-8x7b", "qwen3-30b-a3b"])
def test_a_mixture_of_experts_counts_every_expert(tmp_path, config, published):
    tensors = ck.llama_tensors(config)
    f = modelfacts.read_local(ck.write_checkpoint(tmp_path / "moe", config, tensors, shards=3))
    assert f.params == published, "all experts load"
    assert f.stored_bytes == 2 * published
    assert f.experts == (config.get("num_local_experts") or config.get("num_experts"))
    assert f.active_params is not None and f.active_params < f.params / 3


def test_deepseek_style_latent_attention_and_routed_experts(tmp_path):
    config = {"model_type": "deepseek_v3", "hidden_size": 1024, "intermediate_size": 2048, "moe_intermediate_size": 256,
              "num_hidden_layers": 4, "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 32000,
              "n_routed_experts": 16, "num_experts_per_tok": 4, "kv_lora_rank": 512, "qk_rope_head_dim": 64,
              "max_position_embeddings": 163840}
    tensors = ck.llama_tensors({**config, "num_experts": 16})
    f = modelfacts.read_local(ck.write_checkpoint(tmp_path / "ds", config, tensors))
    assert f.attention == "mla" and f.experts == 16 and f.experts_per_token == 4 and f.context == 163840
    assert f.stored_bytes == ck.nbytes(tensors)


@pytest.mark.parametrize("method,dtype", [("fp8", "fp8"), ("awq", "int4"), ("mxfp4", "int4")])
def test_quantized_checkpoints_are_their_stored_bytes(tmp_path, method, dtype):
    """An FP8 (block scales), AWQ (int4 in I32) or MXFP4 (fp4 pairs in U8) checkpoint: the stored
    bytes are what is downloaded and held, the parameters are the model's, the dtype the method's."""
    base = ck.llama_tensors(ck.LLAMA_31_8B)
    tensors = ck.quantize(base, method)
    config = {**ck.LLAMA_31_8B, "quantization_config": {"quant_method": method}}
    f = modelfacts.read_local(ck.write_checkpoint(tmp_path / method, config, tensors, shards=2))
    assert f.quant_method == method and f.dtype == dtype
    assert f.stored_bytes == ck.nbytes(tensors) < 0.6 * ck.nbytes(base)
    assert abs(f.params - ck.count(base)) / ck.count(base) < 0.01


def test_a_diffusers_pipeline_counts_its_components(tmp_path):
    folder = tmp_path / "pipe"
    folder.mkdir()
    (folder / "model_index.json").write_text('{"_class_name": "FluxPipeline"}')
    parts = {"transformer/diffusion_pytorch_model.safetensors": [("w", "BF16", [3072, 3072, 100])],
             "text_encoder_2/model.safetensors": [("w", "BF16", [4096, 4096, 20])],
             "vae/diffusion_pytorch_model.safetensors": [("w", "F32", [512, 512, 10])]}
    total = sum(ck.write_safetensors(folder / n, t) for n, t in parts.items())
    ck.write_safetensors(folder / "flux1-dev.safetensors", parts["transformer/diffusion_pytorch_model.safetensors"])
    f = modelfacts.read_local(folder)
    assert f.task == "diffusion" and f.stored_bytes == total, "the single-file twin at the root is not counted"


def test_a_broken_header_is_one_clear_line(tmp_path):
    folder = ck.write_checkpoint(tmp_path / "m", ck.LLAMA_31_8B, ck.llama_tensors(ck.LLAMA_31_8B)[:3])
    (folder / "model.safetensors").write_bytes(b"\xff" * 16)
    with pytest.raises(DlgenError, match="not a safetensors file"):
        modelfacts.read_local(folder)


# ------------------------------------------------------------------------------------ the Hub
def hub_repo(tmp_path, name="org/Big-MoE", config=ck.QWEN3_30B_A3B, shards=3):
    return ck.write_checkpoint(tmp_path / "repos" / name.replace("/", "__"), config, ck.llama_tensors(config), shards)


def test_dlgen_new_sizes_a_hub_model_from_its_files_and_asks_only_once(tmp_path, monkeypatch):
    """An id the catalog does not know and whose name cannot size it (-A3B): read from the Hub's
    files (model_info, config.json, the index, two Range reads per header); the second dlgen new
    makes no request; with HF_HUB_OFFLINE the cache still answers."""
    with HubStub({"org/Qwen3-30B-A3B-Base": hub_repo(tmp_path)}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        spec = spec_mod.build(model="org/Qwen3-30B-A3B-Base", server="vllm")
        assert spec.model.params == 30_532_122_624 and spec.model.weights_gb == pytest.approx(61.06, abs=0.01)
        assert spec.model.source.startswith("read from hub:org/Qwen3-30B-A3B-Base@")
        assert spec.gpu_plan.need_gb == pytest.approx(61.06 * 1.2, abs=0.1), "sized from the stored bytes"
        asked = hub.requests
        assert asked > 0
        again = spec_mod.build(model="org/Qwen3-30B-A3B-Base", server="vllm")
        assert hub.requests == asked and again.model == spec.model, "the second call makes no network call"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert spec_mod.build(model="org/Qwen3-30B-A3B-Base", server="vllm").model.params == 30_532_122_624


def test_the_headers_are_read_with_range_requests_not_downloaded(tmp_path, monkeypatch):
    repo = hub_repo(tmp_path, config=ck.LLAMA_31_8B, shards=4)
    with HubStub({"org/L8": repo}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        f = modelfacts.from_hub("org/L8")
    assert f.stored_bytes == 2 * 8_030_261_248
    hf_cache = tmp_path / "hf-home"
    assert sum(p.stat().st_size for p in hf_cache.rglob("*") if p.is_file()) < 2**20, "no weights downloaded"


def test_a_gated_repository_needs_the_token(tmp_path, monkeypatch):
    with HubStub({"org/Gated-8B": hub_repo(tmp_path, config=ck.LLAMA_31_8B, shards=2)}, gated={"org/Gated-8B"}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        with pytest.raises(DlgenError) as err:
            spec_mod.build(model="org/Gated-8B")
        assert "gated" in str(err.value) and "HF_TOKEN" in err.value.hint and f"{hub.url}/org/Gated-8B" in err.value.hint
        monkeypatch.setenv("HF_TOKEN", hub.token)
        assert spec_mod.build(model="org/Gated-8B").model.params == 8_030_261_248


def test_a_mirror_is_its_own_source(tmp_path, monkeypatch):
    """HF_ENDPOINT names the mirror; facts read from one endpoint are not reused for another."""
    small = {**ck.LLAMA_31_8B, "num_hidden_layers": 2}
    with HubStub({"org/M-8B": hub_repo(tmp_path, config=ck.LLAMA_31_8B, shards=2)}) as a, \
            HubStub({"org/M-8B": hub_repo(tmp_path / "b", config=small, shards=1)}) as b:
        monkeypatch.setenv("HF_ENDPOINT", a.url)
        first = catalog.resolve("org/M-8B", online=True)
        monkeypatch.setenv("HF_ENDPOINT", b.url)
        second = catalog.resolve("org/M-8B", online=True)
    assert first.params == 8_030_261_248 and second.params < first.params


def test_without_the_hub_a_name_is_the_last_resort(tmp_path, monkeypatch, capsys):
    """Unreachable Hub: a plain size in the name is used and said; a name that marks a mixture of
    experts or a quantization is refused with the fix; lint never goes online."""
    with HubStub({}, mode="error") as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        spec = spec_mod.build(model="org/Plain-7B")
        assert spec.model.params == 7e9 and any("from its name" in n and "not read" in n for n in spec.notes)
        for name in ("org/Scout-17B-16E-Instruct", "org/Qwen3-235B-A22B-FP8", "org/Qwen2.5-72B-Instruct-AWQ",
                     "org/Mixtral-8x7B"):
            with pytest.raises(DlgenError) as err:
                spec_mod.build(model=name)
            assert "--params" in err.value.hint and "HF_ENDPOINT" in err.value.hint
        asked = hub.requests
        model = catalog.resolve("org/Other-3B")     # lint's call: offline, catalog and cache only
        assert model.params == 3e9 and hub.requests == asked


def test_a_cached_copy_changes_lint_sizing_without_the_network(tmp_path, monkeypatch):
    """Lint reads the facts cache dlgen new filled (opt-in to the Hub is dlgen new's)."""
    with HubStub({"org/Scout-17B-16E": hub_repo(tmp_path, config=ck.MIXTRAL_8X7B, shards=2)}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        with pytest.raises(DlgenError):
            catalog.resolve("org/Scout-17B-16E")          # offline: nothing cached, the name cannot size it
        catalog.resolve("org/Scout-17B-16E", online=True)
        asked = hub.requests
        assert catalog.resolve("org/Scout-17B-16E").params == 46_702_792_704 and hub.requests == asked


def test_facts_round_trip_through_the_cache():
    f = modelfacts.ModelFacts(where="x", stored_bytes=10, params=5, dtype="bf16", files=("a", "b"),
                              bytes_by_dtype={"BF16": 10})
    assert modelfacts.ModelFacts.from_json(copy.deepcopy(f.to_json())) == f
