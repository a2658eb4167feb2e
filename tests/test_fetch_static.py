"""Weights off the health clock, for every preset that loads a model: run.sh fetches before it
starts the server, compose waits for a one-shot fetch service, Kubernetes fills a claim sized
for the weights in an init container; caches on volumes; servers that read files get the user's
files mounted where their command reads them."""

import shlex

import dockerfile
import pytest
from ruamel.yaml import YAML

from dlgen import bundle, reference
from dlgen import spec as spec_mod
from dlgen.errors import DlgenError
from dlgen.runspec import RunSpec
from tests.test_new_bundles import MODEL_FILES, needs

yaml = YAML(typ="safe", pure=True)
SERVERS = [n for n, p in reference.servers()["servers"].items()
           if (p.get("serves_model") and not p.get("lint_only")) or n == "trainer"]
HUB = [n for n in SERVERS if not reference.servers()["servers"][n].get("model_dir")]


def render(server, model="llama-8b"):
    kind = "train" if server == "trainer" else "serve"
    spec = spec_mod.build(model=model, kind=kind, server=server, **needs(server))
    return spec, bundle.render(spec, "test")


def run_lines(text):
    lines = [line for line in text.replace("\\\n", " ").splitlines() if line.strip().startswith("docker run")]
    return [RunSpec.from_docker_run(shlex.split(line)) for line in lines]


@pytest.mark.parametrize("server", HUB)
def test_hub_servers_fetch_first_on_every_target(server):
    spec, files = render(server)
    cache = {v.target for v in spec.volumes if v.kind == "volume" and v.target in spec.cache_paths}
    # run.sh: a one-off fetch container (removed when done) with the cache volume, then the server
    fetch, serve = run_lines(files["run.sh"])
    assert fetch.remove and fetch.labels.get("ai.dlgen.phase") == "fetch" and not fetch.detach
    assert {v.target for v in fetch.volumes} == {v.target for v in serve.volumes if v.target in cache}
    assert "HF_TOKEN" in fetch.env and fetch.env["HF_TOKEN"] is None and "HF_ENDPOINT" in fetch.env
    # the weights are in the cache first, so dlgen's servers never ask the hub again; a user's own
    # app may download more than the model (a tokenizer of another repo, a dataset), so it stays online
    assert serve.env.get("HF_HUB_OFFLINE") == (None if spec.user_app else "1")
    # compose: the server waits for the fetch service to complete
    services = yaml.load(files["compose.yaml"])["services"]
    one_shot = services[f"{spec.name}-fetch"]
    assert services[spec.name]["depends_on"] == {f"{spec.name}-fetch": {"condition": "service_completed_successfully"}}
    assert one_shot["restart"] == "no" and "deploy" not in one_shot
    assert one_shot["healthcheck"] == {"disable": True}, "the image's probe checks a server the fetch never runs"
    assert set(one_shot["volumes"]) <= set(services[spec.name]["volumes"])
    # kubernetes: an init container with a memory limit fills a claim sized for the weights
    docs = list(yaml.load_all(files["k8s.yaml"]))
    claim = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")
    storage = claim["spec"]["resources"]["requests"]["storage"]
    assert storage.endswith("Gi") and int(storage[:-2]) * 2**30 >= spec.model.weights_gb * 1e9 * 1.2
    assert "storageClassName" not in claim["spec"], "the cluster's default storage class"
    pod = docs[0]["spec"]["template"]["spec"] if "template" in docs[0]["spec"] else docs[0]["spec"]
    (init,) = pod["initContainers"]
    assert init["resources"]["limits"]["memory"] and init["command"] == fetch.full_command()
    (container,) = pod["containers"]
    on_claim = {m["mountPath"] for m in container["volumeMounts"] if m["name"] == "cache"} - {"/checkpoints"}
    assert on_claim == cache == {m["mountPath"] for m in init["volumeMounts"]}
    assert {"name": "cache", "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}} in pod["volumes"]
    assert not any("emptyDir" in v and v["name"] == "cache" for v in pod["volumes"])


def test_the_fetch_uses_what_the_image_has():
    tgi, files = render("tgi")
    fetch, _ = run_lines(files["run.sh"])
    assert fetch.full_command()[:2] == ["text-generation-server", "download-weights"], "TGI's own downloader"
    for server in ("python", "vllm", "sglang", "trainer"):
        spec, files = render(server)
        fetch, _ = run_lines(files["run.sh"])
        assert fetch.full_command() == [spec.python, "/app/fetch.py"] and "app/fetch.py" in files
        assert "COPY" in files["Dockerfile"] and "app/" in files["Dockerfile"]


def test_vllm_keeps_its_compile_cache_on_a_volume():
    spec, files = render("vllm")
    _, serve = run_lines(files["run.sh"])
    root = serve.env["VLLM_CACHE_ROOT"]
    assert any(v.target == root and v.kind == "volume" for v in serve.volumes)
    services = yaml.load(files["compose.yaml"])
    assert any(v.endswith(f":{root}") for v in services["services"][spec.name]["volumes"])


@pytest.mark.parametrize("server", [n for n in SERVERS if n not in HUB])
def test_servers_that_read_files_get_them_where_their_command_reads(server, tmp_path):
    spec, files = render(server)
    target = reference.servers()["servers"][server]["model_dir"]
    (serve,) = run_lines(files["run.sh"])
    mount = next(v for v in serve.volumes if v.target == target)
    assert mount.mode == "ro" and MODEL_FILES[server].startswith(mount.source)
    argv = [w for c in dockerfile.parse_string(files["Dockerfile"]) if c.cmd in ("ENTRYPOINT", "CMD") for w in c.value]
    paths = [w.split("=", 1)[-1] for w in argv if "/" in w and not w.startswith("http")]
    assert paths and all(p.startswith(target) for p in paths if p.startswith("/") and "model" in p), argv
    assert "HF_TOKEN" not in serve.env and not any(v.kind == "volume" for v in serve.volumes)
    if server != "llamacpp":  # no catalog default for a Triton repository or a .mar
        with pytest.raises(DlgenError, match="has no default") as err:
            spec_mod.build(model="llama-8b", server=server)
        assert "--model-path" in err.value.hint and "--model-repo" in err.value.hint


REPOS = {"llamacpp": None, "triton": "acme/triton-repo", "torchserve": "acme/mar-store"}


@pytest.mark.parametrize("server", list(REPOS))
def test_servers_that_read_files_get_them_fetched_into_the_volume_their_command_reads(server):
    """--model-repo (llama.cpp: the catalog's GGUF by default): a small fetch image fills a volume
    at the preset's model folder on every target, before the server starts."""
    spec = spec_mod.build(model="llama-8b", server=server, model_repo=REPOS[server])
    files = bundle.render(spec, "test")
    target = reference.servers()["servers"][server]["model_dir"]
    assert "Dockerfile.fetch" in files and "fetch/fetch.py" in files and "app/fetch.py" not in files
    assert "COPY fetch/" in files["Dockerfile.fetch"]
    fetch_df = dockerfile.parse_string(files["Dockerfile.fetch"])
    assert [c.value for c in fetch_df if c.cmd == "USER"] == [("app",)]
    fetch, serve = run_lines(files["run.sh"])
    assert fetch.image == "${FETCH_IMAGE}" and serve.image == "${IMAGE}"
    assert 'docker build -t "${FETCH_IMAGE}" -f Dockerfile.fetch .' in files["run.sh"]
    assert files["run.sh"].index("Dockerfile.fetch") < files["run.sh"].index("docker run")
    (fv,) = [v for v in fetch.volumes if v.target == target]
    (sv,) = [v for v in serve.volumes if v.target == target]
    assert fv.source == sv.source and fv.kind == sv.kind == "volume"
    assert fetch.env["MODEL_DIR"] == target and fetch.env["MODEL_REPO"] == spec.model_files["repo"]
    argv = [w for c in dockerfile.parse_string(files["Dockerfile"]) if c.cmd in ("ENTRYPOINT", "CMD") for w in c.value]
    if server == "llamacpp":
        repo, file, size = spec.model.gguf
        assert fetch.env["MODEL_FILE"] == file and f"{target}/{file}" in argv
        assert spec.download_s == pytest.approx(size / 0.1, rel=0.01), "the GGUF's size, not the bf16 weights'"
    else:
        assert "MODEL_FILE" not in fetch.env and any(w.endswith(target) for w in argv)
    services = yaml.load(files["compose.yaml"])["services"]
    one_shot = services[f"{spec.name}-fetch"]
    assert one_shot["build"]["dockerfile"] == "Dockerfile.fetch" and one_shot["image"] == spec.fetch_image
    assert services[spec.name]["depends_on"][f"{spec.name}-fetch"]["condition"] == "service_completed_successfully"
    docs = list(yaml.load_all(files["k8s.yaml"]))
    pod = docs[0]["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["image"] == spec.fetch_image
    assert {m["mountPath"] for m in init["volumeMounts"]} == {target}
    assert target in {m["mountPath"] for m in pod["containers"][0]["volumeMounts"] if m["name"] == "cache"}
    assert "docker run --rm -v" in files["stack.yaml"], "the stack header says how to fill the volume"
    stack = yaml.load(files["stack.yaml"])["services"][spec.name]
    assert stack["healthcheck"]["start_period"] == f"{spec.timing.start_period_s}s", "no download on the clock"


def test_model_repo_values_are_checked():
    for value, match in (("nope", "OWNER/NAME"), ("a/b:../x.gguf", "OWNER/NAME"), ("a/b:x.bin", "one GGUF"),
                         ("a/b", "one GGUF")):
        with pytest.raises(DlgenError, match=match):
            spec_mod.build(model="llama-8b", server="llamacpp", model_repo=value)
    with pytest.raises(DlgenError, match="a folder, not one file"):
        spec_mod.build(model="llama-8b", server="triton", model_repo="a/b:model.onnx")
    with pytest.raises(DlgenError, match="both name"):
        spec_mod.build(model="llama-8b", server="triton", model_repo="a/b", model_path="/srv/m")
    with pytest.raises(DlgenError, match="from the hub"):
        spec_mod.build(model="llama-8b", server="vllm", model_repo="a/b")


def test_model_path_is_refused_where_the_server_fetches_from_the_hub():
    with pytest.raises(DlgenError, match="from the hub") as err:
        spec_mod.build(model="llama-8b", server="vllm", model_path="/srv/models")
    assert "drop --model-path" in err.value.hint
    with pytest.raises(DlgenError, match="absolute path"):
        spec_mod.build(model="llama-8b", server="triton", model_path="models")
    with pytest.raises(DlgenError, match="GGUF"):
        spec_mod.build(model="llama-8b", server="llamacpp", model_path="/srv/models")


def test_readme_states_the_download_and_the_load_only_start_period():
    spec, files = render("python")
    readme = files["README.md"]
    assert f"about {spec.download_s:.0f} s" in readme and "for loading only" in readme
    assert spec.download_s == pytest.approx(spec.model.weights_gb / 0.1, rel=0.01)
