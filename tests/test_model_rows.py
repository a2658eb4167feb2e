"""The models of issue 27's table, as a user generates them: Hugging Face ids the catalog does not
know, whose facts come from their files on a Hub (tests/hubstub.py serving sparse checkpoints with
each model's published architecture). Before, dlgen sized them from the name: gpt-oss-120b as 240 GB
bf16 on 4 GPUs (it is a ~65 GB MXFP4 checkpoint that runs on one 80 GB GPU), Llama-4-Scout as 17 B
on one GPU (109 B, ~218 GB), Qwen3-235B-A22B-FP8 as 470 GB on 8 GPUs (~235 GB), DeepSeek-V3 refused
with "add --params"."""

import pytest

from dlgen import spec as spec_mod
from dlgen.errors import DlgenError
from tests import modelckpt as ck
from tests.hubstub import HubStub

GIB = 2**30

ROWS = {
    # id: (config, tensors, shards, published stored size in bytes, the GPU count a person would choose)
    "openai/gpt-oss-120b": (ck.GPT_OSS_120B, lambda: ck.gpt_oss_tensors(ck.GPT_OSS_120B), 8,
                            60.8 * GIB, 1),      # the model card: a 60.8 GiB checkpoint, one 80 GB GPU
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": (
        ck.LLAMA4_SCOUT, lambda: ck.llama4_tensors(ck.LLAMA4_SCOUT["text_config"]), 8, 109e9 * 2, 4),
    "Qwen/Qwen3-235B-A22B-FP8": ({**ck.QWEN3_235B_A22B, "quantization_config": {"quant_method": "fp8"}},
                                 lambda: ck.quantize(ck.llama_tensors(ck.QWEN3_235B_A22B), "fp8"), 16,
                                 235e9 * 1.0, 4),
    "zai-org/GLM-4.5-Air": (ck.GLM_45_AIR, lambda: ck.llama_tensors(ck.GLM_45_AIR), 8, 106e9 * 2, 4),
    "mistralai/Mistral-Large-Instruct-2411": (ck.MISTRAL_LARGE_2411, lambda: ck.llama_tensors(ck.MISTRAL_LARGE_2411),
                                              8, 123e9 * 2, 4),
}
# More than one node of 80 GB GPUs holds: refused in one line; on 8 of the largest GPUs, served.
TOO_BIG = {
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct": (ck.LLAMA4_MAVERICK,
                                                      lambda: ck.llama4_tensors(ck.LLAMA4_MAVERICK["text_config"]),
                                                      400e9 * 2, "h200"),
    "moonshotai/Kimi-K2-Instruct": (ck.KIMI_K2, lambda: ck.deepseek_tensors(ck.KIMI_K2), 1.04e12, "b200"),
}


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("DLGEN_CACHE_DIR", str(tmp_path / "dlgen-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    repos = {}
    for repo, (config, tensors, shards, _, _) in ROWS.items():
        repos[repo] = ck.write_checkpoint(tmp_path / repo.replace("/", "__"), config, tensors(), shards=shards)
    with HubStub(repos) as stub:
        monkeypatch.setenv("HF_ENDPOINT", stub.url)
        yield stub


@pytest.mark.parametrize("repo", list(ROWS))
def test_the_table_row_is_sized_from_the_model_and_gets_the_count_a_person_would_choose(hub, repo):
    _, _, _, published, gpus = ROWS[repo]
    spec = spec_mod.build(model=repo, server="vllm")
    assert abs(spec.model.weights_gb * 1e9 - published) / published < 0.05, (spec.model.weights_gb, published / 1e9)
    assert spec.gpu_count == gpus, spec.gpu_plan.summary()


def test_deepseek_v3_past_one_node_is_a_group_of_two(tmp_path, monkeypatch):
    """671 B parameters in FP8 (~690 GB): more than 8 x 80 GB holds, so vLLM serves it from two nodes
    (tensor parallel 8 on each, a pipeline stage per node); a server that runs on one host refuses in
    one line naming the servers that go further, never sized from a name ("add --params")."""
    monkeypatch.setenv("DLGEN_CACHE_DIR", str(tmp_path / "dlgen-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    tensors = ck.deepseek_tensors(ck.DEEPSEEK_V3)
    repo = ck.write_checkpoint(tmp_path / "ds", ck.DEEPSEEK_V3, tensors, shards=16)
    with HubStub({"deepseek-ai/DeepSeek-V3": repo}) as stub:
        monkeypatch.setenv("HF_ENDPOINT", stub.url)
        from dlgen import modelfacts

        f = modelfacts.from_hub("deepseek-ai/DeepSeek-V3")
        assert f.attention == "mla" and f.experts == 256 and f.quant_method == "fp8"
        assert 660e9 < f.params < 690e9 and 670e9 < f.stored_bytes < 700e9
        group = spec_mod.build(model="deepseek-ai/DeepSeek-V3", server="vllm")
        plan = group.gpu_plan
        assert (plan.nodes, plan.count, plan.tensor, plan.pipeline) == (2, 8, 8, 2) and plan.serving.fits
        with pytest.raises(DlgenError) as err:
            spec_mod.build(model="deepseek-ai/DeepSeek-V3", server="tgi")
        assert "more than" in err.value.line() and "--params" not in err.value.line()
        assert "--server vllm or sglang" in err.value.line()
        one = spec_mod.build(model="deepseek-ai/DeepSeek-V3", server="vllm", gpu="b200")
        assert (one.gpu_count, one.nodes) == (8, 1)


@pytest.mark.parametrize("repo", list(TOO_BIG))
def test_a_model_past_one_node_is_a_group_and_fits_one_node_of_the_largest_gpus(tmp_path, monkeypatch, repo):
    config, tensors, published, gpu = TOO_BIG[repo]
    monkeypatch.setenv("DLGEN_CACHE_DIR", str(tmp_path / "dlgen-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with HubStub({repo: ck.write_checkpoint(tmp_path / "m", config, tensors(), shards=16)}) as stub:
        monkeypatch.setenv("HF_ENDPOINT", stub.url)
        group = spec_mod.build(model=repo, server="vllm")
        assert group.nodes >= 2 and group.gpu_count == 8 and group.gpu_plan.pipeline == group.nodes
        with pytest.raises(DlgenError) as err:
            spec_mod.build(model=repo, server="vllm", nodes=1)   # one host, asked for: refused
        assert "more than" in err.value.line() and "--params" not in err.value.line()
        spec = spec_mod.build(model=repo, server="vllm", gpu=gpu)
        assert abs(spec.model.weights_gb * 1e9 - published) / published < 0.05 and spec.gpu_count == 8
