import pytest

from dlgen import catalog, matrix, reference
from dlgen.errors import DlgenError


def test_catalog_covers_the_families():
    models = reference.models()
    assert len(models) >= 30
    names = " ".join(m["name"] for m in models)
    for family in ("llama-3.2-1b", "llama-8b", "llama-70b", "llama-405b", "mistral", "mixtral", "qwen",
                   "gemma", "phi", "resnet", "vit", "sdxl", "flux", "whisper", "bert", "bge"):
        assert family in names, family
    for m in models:
        assert m["source"] and m["params"] > 0 and m["dtype"] in catalog.BYTES_PER_PARAM


def test_llama_8b_weights_match_published_size():
    m = catalog.resolve("llama-8b")
    assert m.weights_gb == pytest.approx(16.06, abs=0.01)  # safetensors metadata of Llama-3.1-8B: 8,030,261,248 parameters


@pytest.mark.parametrize("dtype,gb", [("fp32", 32.1), ("bf16", 16.06), ("fp8", 8.03), ("int4", 4.0)])
def test_dtype_changes_what_the_gpu_holds_not_what_is_downloaded(dtype, gb):
    """--dtype is how the checkpoint is loaded: the GPU bytes follow it, the download stays bf16."""
    m = catalog.resolve("llama-8b", dtype=dtype)
    assert m.gpu_gb == pytest.approx(gb, abs=0.1) and m.weights_gb == pytest.approx(16.06, abs=0.01)


@pytest.mark.parametrize("dtype,gb", [("bf16", 16.0), ("int4", 4.0)])
def test_params_and_dtype_describe_the_checkpoint(dtype, gb):
    """--params with --dtype sizes a checkpoint dlgen cannot read: stored in that dtype."""
    m = catalog.resolve("org/x", params="8B", dtype=dtype)
    assert m.weights_gb == pytest.approx(gb) == m.gpu_gb


def test_hugging_face_ids():
    assert catalog.resolve("meta-llama/Llama-3.1-8B-Instruct").name == "llama-8b"
    m = catalog.resolve("someorg/CoolModel-13B-chat")
    assert m.params == 13_000_000_000 and m.hf_id == "someorg/CoolModel-13B-chat"
    assert catalog.resolve("acme/tiny-350M").params == 350_000_000


def test_moe_name_needs_params():
    with pytest.raises(DlgenError) as exc:
        catalog.resolve("acme/Foo-8x7B")
    assert "--params" in exc.value.line()


def test_explicit_params():
    m = catalog.resolve(None, params="8B", dtype="bf16")
    assert m.params == 8_000_000_000 and m.weights_gb == pytest.approx(16.0)


def test_unknown_model_suggests():
    with pytest.raises(DlgenError) as exc:
        catalog.resolve("lama-8b")
    assert "did you mean" in exc.value.line() and "llama-8b" in exc.value.line()


@pytest.mark.parametrize("bad", ["llama\n8b", 'llama"8b', "llama'8b", "a$b"])
def test_injection_rejected(bad):
    with pytest.raises(DlgenError):
        catalog.resolve(bad)


def test_matrix_default_is_published():
    base = matrix.choose(None, None)
    assert matrix.tag_exists(base.image) is True
    assert base.image.startswith("pytorch/pytorch:") and base.image.endswith("-runtime")


def test_matrix_cuda_only_picks_newest_torch_with_it():
    assert matrix.choose(None, "11.8").torch == "2.7.1"
    assert matrix.choose(None, "cu124").cuda == "12.4"


def test_matrix_rejects_impossible_pairs():
    with pytest.raises(DlgenError, match="no CUDA 11.8"):
        matrix.choose("2.9", "11.8")
    with pytest.raises(DlgenError):
        matrix.choose("1.99", None)


def test_tag_exists():
    assert matrix.tag_exists("pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime") is True
    assert matrix.tag_exists("pytorch/pytorch:2.4.0-cuda11.8-cudnn8-runtime") is False  # cuDNN 9 from 2.4
    assert matrix.tag_exists("pytorch/pytorch:2.1.1-cuda12.1-cudnn8-devel") is True
    assert matrix.tag_exists("nvidia/cuda:12.4.1-base-ubuntu22.04") is None
    assert matrix.tag_exists("pytorch/pytorch:1.13.0-cuda11.6-cudnn8-runtime") is None  # before the matrix


@pytest.mark.parametrize("server", ["python", "fastapi", "vllm", "tgi", "sglang"])
def test_models_and_new_agree_for_every_catalog_model(dlgen, server):
    """`dlgen models` is what `dlgen new` would emit (issue 26): GPUs, load, start period, for every model."""
    import json

    from dlgen import spec as spec_mod
    from dlgen.errors import DlgenError

    rows = json.loads(dlgen("models", "--server", server, "--format", "json").stdout)
    assert rows
    for r in rows:
        try:
            s = spec_mod.build(model=r["model"], server=server)
        except DlgenError:
            assert r["gpus"] in (None, "-"), (r["model"], "models gives a GPU count that new refuses")
            continue
        got = {"gpus": s.gpu_count, "nodes": s.nodes, "load_s": round(s.timing.load_s, 1),
               "start_period_s": s.timing.start_period_s}
        assert got == {k: r[k] for k in got}, (r["model"], got)
