"""Every catalog model x kind, and every server preset: the bundle is right by construction."""

import json
import shlex
import subprocess
from pathlib import Path

import dockerfile
import pytest
from ruamel.yaml import YAML

from dlgen import bundle, catalog, memory, reference
from dlgen import spec as spec_mod
from dlgen.runspec import RunSpec
from tests.conftest import tool

KINDS = tuple(spec_mod.kinds())
MODELS = [m["name"] for m in reference.models()]
SERVE_PRESETS = [n for n, s in reference.servers()["servers"].items() if "serve" in s["kinds"]]
CASES = [(m, k, None) for m in MODELS for k in KINDS] + [("llama-8b", "serve", s) for s in SERVE_PRESETS]
yaml = YAML(typ="safe", pure=True)
# Cases no host of 80 GB GPUs can run, worked out here from the catalog: serving spreads the
# weights (+20 %) over at most 8 GPUs at 90 % use; DDP training holds them on every GPU.
USABLE_GB = 80 * 0.9
# Quantized checkpoints are refused by dlgen's own servers, the serve and train defaults (vLLM serves them).
TOO_BIG = {(m["name"], k, None) for m in reference.models() for k in ("serve", "train")
           if catalog.entry_model(m).quant
           or (catalog.entry_model(m).weights_gb * 1.2 > USABLE_GB * 8 if k == "serve"
               else memory.training(catalog.entry_model(m), 1, 80, 0.9).strategy is None)}


def test_models_no_host_holds_are_refused_with_the_fix(dlgen):
    assert ("llama-405b", "serve", None) in TOO_BIG and ("llama-70b", "train", None) in TOO_BIG
    assert ("llama-8b", "train", None) not in TOO_BIG
    for model, kind, _ in sorted(TOO_BIG):
        with pytest.raises(spec_mod.DlgenError) as err:
            spec_mod.build(model=model, kind=kind)
        said = ("GB with serving headroom", "does not load") if kind == "serve" else ("does not fit 1 x 80 GB",
                                                                                    "does not load")
        assert any(s in str(err.value) for s in said) and err.value.hint
    proc = dlgen("new", "--model", "llama-405b", "--stdout")
    assert proc.returncode == 2 and "--gpu h200" in proc.stderr
    big = spec_mod.build(model="llama-405b", gpu="h200", server="vllm")
    assert big.gpu_count == 8 and big.gpu_plan.usable_gb >= big.gpu_plan.need_gb


# Servers that read model files get them with --model-path (mounted read-only where they read).
MODEL_FILES = {"llamacpp": "/srv/models/llama-8b-q4_k_m.gguf", "triton": "/srv/triton-models",
               "torchserve": "/srv/model-store"}




def needs(server):
    """What a preset needs besides a model: the files servers read (--model-path), or the user's
    app (--app) for the app preset."""
    if server in MODEL_FILES:
        return {"model_path": MODEL_FILES[server]}
    if (reference.servers()["servers"].get(server) or {}).get("user_app"):
        return {"app": "main:app"}
    return {}


def make(model, kind, server=None, **kw):
    kw = {**needs(server), **kw}
    spec = spec_mod.build(model=model, kind=kind, server=server, **kw)
    return spec, bundle.render(spec, f"dlgen new --model {model} --kind {kind}")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    out = {}
    for model, kind, server in CASES:
        if (model, kind, server) in TOO_BIG:
            continue
        spec, files = make(model, kind, server)
        d = root / f"{model}-{kind}-{server or 'default'}"
        bundle.write(files, d)
        out[(model, kind, server)] = (spec, files, d)
    return out


def test_hadolint_passes_every_dockerfile(bundles, hadolint):
    paths = [str(d / "Dockerfile") for _, _, d in bundles.values()]
    proc = subprocess.run([hadolint, "--failure-threshold", "warning", "--format", "json", *paths],
                          capture_output=True, text=True)
    findings = [f for f in json.loads(proc.stdout or "[]") if f["level"] in ("error", "warning")]
    assert proc.returncode == 0 and not findings, findings[:5]


def test_dlgen_lint_passes_every_bundle(bundles, dlgen):
    """Every bundle (every catalog model x kind, every serve preset) lints clean: no warning, no error."""
    proc = dlgen("lint", "--no-config", "--format", "json", *[d for _, _, d in bundles.values()], timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    findings = json.loads(proc.stdout)
    assert not [f for f in findings if f["severity"] != "info"], findings[:5]
    linted = {Path(f["file"]).name for f in findings}
    assert linted <= {"Dockerfile", "compose.yaml", "run.sh", "README.md"}


def test_command_in_exec_form_and_probe_tool_exists(bundles):
    for key, (spec, files, _) in bundles.items():
        cmds = dockerfile.parse_string(files["Dockerfile"])
        finals = [c for c in cmds if c.cmd in ("CMD", "ENTRYPOINT")]
        assert finals, key
        assert all(c.json for c in finals), key
        health = [c for c in cmds if c.cmd == "HEALTHCHECK"]
        if spec.kind == "dev":
            assert not health
            continue
        assert len(health) == 1, key
        h = health[0]
        assert h.json and h.value[0] == "CMD", key
        tool_name = h.value[1]
        facts = reference.image_facts(spec.base_image)
        if tool_name in ("curl", "wget"):
            assert facts[tool_name] is True, (key, tool_name)
        else:
            assert tool_name == facts["python"], (key, tool_name)
        flags = dict(f.lstrip("-").split("=", 1) for f in h.flags)
        assert "start-interval" in flags and "start-period" in flags, key
        assert int(flags["start-period"].rstrip("s")) == spec.timing.start_period_s


def test_start_period_sizes(bundles):
    sp = {m: bundles[(m, "serve", None)][0].timing.start_period_s for m in ("resnet50", "llama-8b", "llama-70b")}
    assert sp["resnet50"] < sp["llama-8b"] < sp["llama-70b"]
    assert sp["llama-8b"] >= 60


def _run_line(text):
    """The server's docker run line (a fetch line before it carries ai.dlgen.phase=fetch)."""
    lines = text.replace("\\\n", " ").splitlines()
    runs = [RunSpec.from_docker_run(shlex.split(l)) for l in lines if l.strip().startswith("docker run")]
    return next(r for r in runs if r.labels.get("ai.dlgen.phase") != "fetch")


def test_run_sh(bundles):
    for key, (spec, files, d) in bundles.items():
        run = _run_line(files["run.sh"])
        assert run.gpus or spec.kind == "tensorboard", key
        assert not (run.remove and run.restart), key
        expected_restart = spec_mod.kinds()[spec.kind]["restart"]
        assert run.restart == expected_restart, key
        if spec.kind in ("serve", "train", "notebook", "dev"):
            assert run.ipc == "host" or run.shm_size, key
        if spec.kind == "dev":
            assert run.interactive and run.tty and run.remove and run.command == ["bash"]
            assert any(v.target == "/app" for v in run.volumes)
        if spec.kind in ("notebook", "tensorboard"):
            assert all(p.host_ip == "127.0.0.1" for p in run.ports), key
        assert (d / "run.sh").stat().st_mode & 0o111
        bash = subprocess.run(["bash", "-n", str(d / "run.sh")], capture_output=True, text=True)
        assert bash.returncode == 0, bash.stderr


def test_compose(bundles):
    for key, (spec, files, _) in bundles.items():
        doc = yaml.load(files["compose.yaml"])
        (svc,) = [v for k, v in doc["services"].items() if not k.endswith("-fetch")]
        if spec.gpus:
            devs = svc["deploy"]["resources"]["reservations"]["devices"]
            assert devs and all("gpu" in d["capabilities"] for d in devs), key
        if spec.kind != "dev":
            hc = svc["healthcheck"]
            assert hc["start_period"] == f"{spec.timing.start_period_s}s"
            assert hc["start_interval"] == f"{spec.timing.start_interval_s}s"
            assert hc["test"][0] == "CMD"


def test_compose_config_validates(bundles):
    docker = tool("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True) if docker else None
    if not probe or probe.returncode != 0:
        pytest.skip("docker compose is not installed (scripts/test-engine.sh up installs it)")
    for key in [("llama-8b", k, None) for k in KINDS] + [("llama-8b", "serve", s) for s in SERVE_PRESETS]:
        d = bundles[key][2]
        proc = subprocess.run([docker, "compose", "-f", str(d / "compose.yaml"), "config", "--quiet"],
                              capture_output=True, text=True, cwd=d)
        assert proc.returncode == 0, (key, proc.stderr)


def test_kubernetes(bundles):
    kv = pytest.importorskip("kubernetes_validate")
    version = kv.utils.latest_version()
    for key, (spec, files, _) in bundles.items():
        docs = list(yaml.load_all(files["k8s.yaml"]))
        for doc in docs:
            kv.validate(doc, version, strict=True)
        workload = docs[0]
        pod = workload["spec"]["template"]["spec"] if "template" in workload["spec"] else workload["spec"]
        (c,) = pod["containers"]
        assert any(v.get("emptyDir", {}).get("medium") == "Memory" and v["name"] == "dshm" for v in pod["volumes"])
        assert any(m["mountPath"] == "/dev/shm" for m in c["volumeMounts"])
        if spec.gpus:
            assert c["resources"]["limits"]["nvidia.com/gpu"] >= 1
        if spec.probe.argv:
            sp = c["startupProbe"]
            assert sp["periodSeconds"] * sp["failureThreshold"] >= spec.timing.start_period_s, key


def test_same_input_same_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        spec, files = make("llama-8b", "serve")
        bundle.write(files, d)
    for f in a.rglob("*"):
        if f.is_file():
            assert f.read_bytes() == (b / f.relative_to(a)).read_bytes(), f


def test_docker_version_24_drops_start_interval():
    spec, files = make("llama-8b", "serve", docker_version="24")
    assert "--start-interval" not in files["Dockerfile"]
    assert "start_interval" not in files["compose.yaml"]
    assert "Engine 24" in files["README.md"]


def test_default_bundle_mentions_start_interval_requirement():
    _, files = make("llama-8b", "serve")
    assert "Docker Engine" in files["README.md"] and "--start-interval" in files["README.md"]


def test_templates_override_named_block(tmp_path, dlgen):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "Dockerfile.j2").write_text(
        '{% extends "dlgen/Dockerfile.j2" %}\n{% block system %}RUN echo custom-layer\n{% endblock %}\n')
    proc = dlgen("new", tmp_path / "out", "--model", "resnet50", "--templates", tmp_path / "tpl")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out" / "Dockerfile").read_text()
    assert "RUN echo custom-layer" in text and "HEALTHCHECK" in text


def test_dependency_layer_comes_before_app_code():
    _, files = make("llama-8b", "serve")
    text = files["Dockerfile"]
    assert text.index("pip install") < text.index("COPY --chown=1000 app/") if "--chown=1000" in text else \
        text.index("pip install") < text.index("app/ /app/")
