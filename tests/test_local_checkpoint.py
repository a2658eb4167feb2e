"""--model ./folder (issue 27): a checkpoint folder on this host is sized from its own config.json and
safetensors headers, mounted read-only where the server loads it, and nothing is downloaded."""

import pytest
from ruamel.yaml import YAML

from dlgen import bundle
from dlgen import spec as spec_mod
from dlgen.errors import DlgenError
from dlgen.sources import run_lines
from tests import modelckpt as ck

yaml = YAML(typ="safe", pure=True)


@pytest.fixture
def folder(tmp_path):
    return ck.write_checkpoint(tmp_path / "ckpt" / "my-llama", ck.LLAMA_31_8B, ck.llama_tensors(ck.LLAMA_31_8B),
                               shards=2, twins=True)


def test_a_checkpoint_folder_is_mounted_and_served_without_a_download(folder, monkeypatch):
    monkeypatch.chdir(folder.parent.parent)
    spec = spec_mod.build(model="./ckpt/my-llama", server="vllm")
    assert spec.model.weights_gb == pytest.approx(16.06, abs=0.01) and spec.model.source.startswith("read from /")
    assert spec.name == "my-llama-serve" and spec.fetch is None and "HF_TOKEN" not in spec.env
    files = bundle.render(spec, "t")
    run = next(r for r in run_lines(files["run.sh"]) if r.name == spec.name)
    mount = next(v for v in run.volumes if v.target == spec_mod.LOCAL_MODEL_DIR)
    assert (mount.source, mount.mode) == (str(folder), "ro") and run.env.get("HF_HUB_OFFLINE") == "1"
    assert '"/models/model", "--host"' in files["Dockerfile"]
    compose = yaml.load(files["compose.yaml"])
    assert list(compose["services"]) == [spec.name], "no fetch service: nothing to download"
    k8s = [d for d in yaml.load_all(files["k8s.yaml"]) if d]
    pod = next(d for d in k8s if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert {"name": "models", "mountPath": "/models/model", "readOnly": True} in pod["containers"][0]["volumeMounts"]
    assert "initContainers" not in pod


def test_the_python_server_loads_the_folder_by_its_path(folder):
    files = bundle.render(spec_mod.build(model=str(folder)), "t")
    assert 'MODEL_ID = os.environ.get("MODEL_ID", "/models/model")' in files["app/model.py"]


def test_a_server_that_reads_its_own_files_is_told_to_use_model_path(folder):
    with pytest.raises(DlgenError) as err:
        spec_mod.build(model=str(folder), server="llamacpp")
    assert f"--model-path {folder}" in err.value.hint


def test_a_missing_or_odd_folder_is_one_line(dlgen, tmp_path):
    proc = dlgen("new", str(tmp_path / "b"), "--model", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "no such checkpoint folder" in proc.stderr and "Traceback" not in proc.stderr
    proc = dlgen("new", str(tmp_path / "b"), "--model", "/tmp/a b")
    assert proc.returncode == 2 and "--model" in proc.stderr
    assert not (tmp_path / "b").exists()


def test_a_gguf_file_is_sized_by_itself(tmp_path):
    """llama.cpp with --model-path FILE.gguf: the model is the file (4.9 GB of Q4_K_M), with the
    architecture its metadata states, not the catalog's 16 GB bf16 checkpoint."""
    from dlgen import modelfacts

    tensors = [(n, s) for n, _, s in ck.llama_tensors(ck.LLAMA_31_8B)]
    gguf = ck.write_gguf(tmp_path / "m" / "llama-8b-q4_k_m.gguf", "llama",
                         {"block_count": 32, "context_length": 131072, "embedding_length": 4096,
                          "attention.head_count": 32, "attention.head_count_kv": 8}, tensors, size=4_920_000_000)
    f = modelfacts.read_gguf(gguf)
    assert f.params == 8_030_261_248 and f.stored_bytes == 4_920_000_000 and f.layers == 32 and f.kv_heads == 8
    spec = spec_mod.build(model="llama-8b", server="llamacpp", model_path=str(gguf))
    assert spec.model.weights_gb == pytest.approx(4.92) and spec.model.context == 131072
    catalog_gguf = spec_mod.build(model="llama-8b", server="llamacpp")   # the catalog's Q4_K_M, fetched
    assert catalog_gguf.model.weights_gb == pytest.approx(4.92) and catalog_gguf.timing.load_s == spec.timing.load_s
    (tmp_path / "bad.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    with pytest.raises(DlgenError, match="ends early"):
        modelfacts.read_gguf(tmp_path / "bad.gguf")
