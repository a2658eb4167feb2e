"""What new users hit (issue 25), the static half: names every target accepts, nothing published
on every interface by Swarm, the user's pins winning, bad numbers refused, the bundle README's CPU
path. The engine half is tests/test_new_user_engine.py."""

import re

import pytest
import yaml  # PyYAML: a YAML 1.1 reader, as kubectl's and compose's Go parsers are

from dlgen import bundle, catalog, names, reference, sources
from dlgen import spec as spec_mod
from tests.conftest import assert_one_line_error
from tests.test_user_data_safety import project_with

# The rules as their owners publish them (Kubernetes "Object Names and IDs"; moby; distribution).
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DOCKER_CONTAINER = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
DOCKER_REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


def names_in(files) -> dict[str, set[str]]:
    """Every name the bundle gives each target, read back from the files with a YAML 1.1 reader."""
    out: dict[str, set[str]] = {"k8s_object": set(), "k8s_service": set(), "k8s_container": set(),
                                "compose_service": set(), "docker_repo": set()}
    for doc in yaml.safe_load_all(files["k8s.yaml"]):
        if not doc:
            continue
        name = doc["metadata"]["name"]
        out["k8s_object"].add(name)
        if doc["kind"] == "Service":
            out["k8s_service"].add(name)
        for pod in pod_specs(doc):   # a Deployment's, a LeaderWorkerSet's leader and worker, a TrainingRuntime's
            for c in [*pod.get("containers", []), *pod.get("initContainers", [])]:
                out["k8s_container"].add(c["name"])
    if "compose.yaml" in files:
        for key, svc in yaml.safe_load(files["compose.yaml"])["services"].items():
            out["compose_service"].add(key)
            out["docker_repo"].add(str(svc["image"]).rsplit(":", 1)[0])
    for run in sources.run_lines(files["run.sh"]):
        if run.name:
            out["compose_service"].add(run.name)   # a container name: the same rules as a service's
    return out


def pod_specs(node):
    """Every pod spec in a Kubernetes object (a mapping with a list of containers), however deep."""
    if isinstance(node, dict):
        if isinstance(node.get("containers"), list):
            yield node
        for value in node.values():
            yield from pod_specs(value)
    elif isinstance(node, list):
        for value in node:
            yield from pod_specs(value)


def assert_valid(files):
    found = names_in(files)
    for name in found["k8s_object"]:
        assert isinstance(name, str) and DNS_1123_SUBDOMAIN.match(name) and len(name) <= 253, name
    for name in found["k8s_service"]:
        assert isinstance(name, str) and DNS_1035.match(name) and len(name) <= 63, name
    for name in found["k8s_container"]:
        assert isinstance(name, str) and DNS_1123_LABEL.match(name) and len(name) <= 63, name
    for name in found["compose_service"]:
        assert isinstance(name, str) and DOCKER_CONTAINER.match(name), name
    for name in found["docker_repo"]:
        assert DOCKER_REPO.match(name), name


@pytest.mark.parametrize("model", [m["name"] for m in reference.models()])
def test_every_catalog_model_gives_valid_names_for_every_target(model):
    from dlgen.errors import DlgenError

    server = "vllm" if catalog.find(model).quant else None   # dlgen's own server loads no quantized checkpoint
    try:
        spec = spec_mod.build(model=model, server=server)
    except DlgenError:   # too large for one node of 80 GB GPUs: on the largest GPUs
        spec = spec_mod.build(model=model, gpu="b200", server=server)
    assert names.problem(spec.name) is None, spec.name
    assert_valid(bundle.render(spec, "test"))
    if spec.nodes > 1:   # a group over nodes: the one-host files are valid on the largest GPUs too
        assert_valid(bundle.render(spec_mod.build(model=model, gpu="b200", server=server), "test"))


@pytest.mark.parametrize("hostile", ["on", "yes", "no", "off", "null", "true", "false"])
def test_yaml_1_1_words_stay_strings(hostile):
    spec = spec_mod.build(model="llama-8b", name=hostile)
    files = bundle.render(spec, "test")
    assert_valid(files)
    assert names_in(files)["k8s_service"] == {hostile}


@pytest.mark.parametrize("given", ["a", "a-", "a._b", "A", "1abc", "x" * 64, "a_b", "a.b"])
def test_names_docker_or_kubernetes_refuse_are_refused_with_one_that_works(dlgen, tmp_path, given):
    proc = dlgen("new", tmp_path / "b", "--model", "llama-8b", "--name", given)
    assert_one_line_error(proc, "invalid name", "--name")
    suggested = proc.stderr.rsplit("--name ", 1)[1].split()[0]
    assert names.problem(suggested) is None
    assert dlgen("new", tmp_path / "b", "--model", "llama-8b", "--name", suggested).returncode == 0
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("text", ["Qwen/Qwen2.5-7B-Instruct", "01-ai/Yi-1.5_34B", "my_model.v2", "___", "9", "ü"])
def test_derived_names_are_valid(text):
    assert names.problem(names.derive(text.rsplit("/", 1)[-1], "serve")) is None


@pytest.mark.parametrize("kind,opts", [("serve", {"model": "llama-8b"}), ("tensorboard", {}), ("notebook", {}),
                                       ("serve", {"model": "llama-8b", "server": "vllm"})])
def test_stack_publishes_nothing_on_all_interfaces_by_default(kind, opts):
    spec = spec_mod.build(kind=kind, **opts)
    files = bundle.render(spec, "test")
    stack = yaml.safe_load(files["stack.yaml"])
    assert all(not svc.get("ports") for svc in stack["services"].values()), stack
    assert "docker service update --publish-add" in files["stack.yaml"]
    opened = yaml.safe_load(bundle.render(spec_mod.build(kind=kind, publish_all=True, **opts), "t")["stack.yaml"])
    assert any(svc.get("ports") for svc in opened["services"].values()), "--publish-all opens it"


@pytest.mark.parametrize("flag,value", [("--margin", "nan"), ("--net-gbps", "nan"), ("--disk-gbps", "nan"),
                                        ("--margin", "inf"), ("--start-period", "9999999999")])
def test_bad_numbers_are_one_line(dlgen, tmp_path, flag, value):
    proc = dlgen("new", tmp_path / "b", "--model", "llama-8b", flag, value)
    assert proc.returncode == 2 and "internal error" not in proc.stderr and len(proc.stderr.splitlines()) == 1, \
        proc.stderr


def test_a_project_pin_outside_the_wrappers_range_is_one_note(dlgen, tmp_path):
    ok = project_with(tmp_path / "ok", {"requirements.txt": "fastapi\nuvicorn[standard]==0.30.6\n"})
    proc = dlgen("new", ok, "--app", "main:app")
    assert proc.returncode == 0 and "uvicorn" not in proc.stderr, proc.stderr
    assert "uvicorn" not in (ok / "requirements-dlgen.txt").read_text(), "the user's pin is the one installed"
    old = project_with(tmp_path / "old", {"requirements.txt": "fastapi\nuvicorn==0.20.0\n"})
    proc = dlgen("new", old, "--app", "main:app")
    notes = [line for line in proc.stderr.splitlines() if "uvicorn" in line]
    assert proc.returncode == 0 and len(notes) == 1 and "uvicorn==0.20.0" in notes[0] and ">=0.29" in notes[0]


def test_the_bundle_readme_shows_the_cpu_path(tmp_path):
    files = bundle.render(spec_mod.build(model="llama-8b"), "test")
    readme = files["README.md"]
    assert "Try it without a GPU" in readme and "dlgen verify . --cpu -e MODEL_SOURCE=synthetic" in readme
    assert "compose.cpu.yaml" in readme and "compose.cpu.yaml" in files
    cpu = files["compose.cpu.yaml"]
    assert "deploy: !reset {}" in cpu and "MODEL_SOURCE=${MODEL_SOURCE:-auto}" in cpu
    assert "compose.cpu.yaml" not in bundle.render(spec_mod.build(model="llama-8b", server="vllm"), "t")


def test_the_fetch_runs_without_the_images_healthcheck():
    files = bundle.render(spec_mod.build(model="llama-8b"), "test")
    assert "--no-healthcheck" in files["run.sh"]
    fetch = yaml.safe_load(files["compose.yaml"])["services"]["llama-8b-serve-fetch"]
    assert fetch["healthcheck"] == {"disable": True}


def test_doctor_prints_no_escape_sequences_from_logs():
    from dlgen import doctor

    attrs = {"Name": "/x", "State": {"Status": "exited", "ExitCode": 1}, "HostConfig": {}, "Config": {"Image": "i"}}
    logs = [doctor.printable(line) for line in ["\x1b]0;pwned\x07ok \x1b[31mred\x1b[0m", "\x1b[2J\x1b[Hclear", "a\rb"]]
    text = doctor.text_report(doctor.diagnose(attrs, logs))
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "ok red" in text and "clear" in text


def test_the_dev_bundle_points_to_what_exists(tmp_path, dlgen):
    project = project_with(tmp_path / "p", {})
    assert dlgen("new", project, "--kind", "dev").returncode == 0
    deploy = (project / "DEPLOY.md").read_text()
    assert "stack.yaml" not in deploy and not (project / "stack.yaml").exists()
    docs = [d for d in yaml.safe_load_all((project / "k8s.yaml").read_text()) if d]
    for d in docs:
        for c in (d["spec"].get("template", d).get("spec", d["spec"]).get("containers") or []):
            env = [e["name"] for e in c.get("env") or []]
            assert len(env) == len(set(env)), env


def test_run_sh_and_compose_share_one_weights_volume():
    files = bundle.render(spec_mod.build(model="llama-8b"), "test")
    compose = yaml.safe_load(files["compose.yaml"])
    (key, vol), = compose["volumes"].items()
    assert vol == {"name": key} and f"-v {key}:/cache/huggingface" in files["run.sh"]


def test_lint_kind_is_file_kind_and_says_so(dlgen, tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("FROM python:3.11\nUSER 1000\nCMD [\"python\"]\n")
    old = dlgen("lint", "--kind", "dockerfile", f)
    assert old.returncode == 0 and "--file-kind" in old.stderr
    assert dlgen("lint", "--file-kind", "dockerfile", f).returncode == 0
