"""The KServe target (dlgen/targets/kserve.py): a serve bundle's kserve.yaml is an InferenceService
whose every field is one the published v1beta1 API defines (tests/data/kserve_v1beta1.yaml, from
KServe's Go types), with the same container, fetch phase, claim and startup budget as k8s.yaml."""

import pytest
from ruamel.yaml import YAML

from dlgen import bundle, timing, tune
from dlgen import spec as spec_mod
from tests.apimodels import check_table
from tests.conftest import ROOT

yaml = YAML(typ="safe", pure=True)
API = yaml.load((ROOT / "tests" / "data" / "kserve_v1beta1.yaml").read_text())


def check(value, type_name: str, where: str, problems: list[str]) -> None:
    """``value`` against a type of the API table: known field names, values of the right kind."""
    check_table(value, type_name, API, where, problems)


def render(**opts):
    spec = spec_mod.build(**opts)
    return spec, bundle.render(spec, "dlgen new (test)")


CASES = [dict(model="llama-8b"), dict(model="llama-8b", server="vllm"), dict(model="llama-70b", server="vllm"),
         dict(model="whisper-large-v3"), dict(model="resnet50"), dict(params="0.05B"),
         dict(model="llama-8b", server="llamacpp"), dict(model="llama-8b", server="tgi")]


@pytest.mark.parametrize("opts", CASES, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_the_inference_service_uses_only_fields_the_api_defines(opts):
    spec, files = render(**opts)
    docs = [d for d in yaml.load_all(files["kserve.yaml"]) if d]
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    problems: list[str] = []
    check(isvc, "InferenceService", "InferenceService", problems)
    assert problems == [], "\n".join(problems)
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    predictor = isvc["spec"]["predictor"]
    names = [c["name"] for c in predictor["containers"]]
    assert names == [API["predictor_container_name"]], "KServe finds the predictor by this name"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert not any(k in predictor for k in ("model", "sklearn", "huggingface")), "a custom predictor, one-of"


def test_it_is_the_k8s_container_the_fetch_phase_and_the_claim():
    """One builder: the predictor's container is k8s.yaml's (name aside), the weights come from the
    same fetch init container into the same claim, the startup budget covers the start period, and
    every container is Pod Security "restricted"."""
    spec, files = render(model="llama-8b", server="vllm")
    k8s = [d for d in yaml.load_all(files["k8s.yaml"]) if d]
    kserve = [d for d in yaml.load_all(files["kserve.yaml"]) if d]
    deployment = next(d for d in k8s if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    predictor = next(d for d in kserve if d["kind"] == "InferenceService")["spec"]["predictor"]
    mine, theirs = dict(predictor["containers"][0]), dict(deployment["containers"][0])
    assert {**mine, "name": theirs["name"]} == theirs
    assert predictor["initContainers"] == deployment["initContainers"]
    assert predictor["initContainers"][0]["command"] == spec.fetch_run_spec().full_command()
    assert predictor["volumes"] == deployment["volumes"]
    assert predictor["securityContext"] == deployment["securityContext"]
    claim = next(d for d in kserve if d["kind"] == "PersistentVolumeClaim")
    assert claim == next(d for d in k8s if d["kind"] == "PersistentVolumeClaim")
    probe = mine["startupProbe"]
    assert probe["failureThreshold"] * probe["periodSeconds"] >= spec.timing.start_period_s
    assert mine["resources"]["limits"]["nvidia.com/gpu"] == spec.gpu_count
    for c in [mine, *predictor["initContainers"]]:
        ctx = c["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"]["drop"] == ["ALL"]
        assert ctx["runAsNonRoot"] is True and ctx["seccompProfile"]["type"] == "RuntimeDefault"
    assert all(e.get("valueFrom") for e in mine["env"] if e["name"] == "HF_TOKEN"), "the token by name only"


@pytest.mark.parametrize("kind", ["train", "notebook", "tensorboard", "dev"])
def test_only_serve_bundles_get_one(kind):
    opts = {"kind": kind, **({"params": "0.05B"} if kind == "train" else {})}
    assert "kserve.yaml" not in render(**opts)[1]


def test_write_timings_sizes_its_startup_probe(tmp_path):
    spec = spec_mod.build(params="0.05B", name="tiny", start_period=10)
    bundle.write(bundle.render(spec, "dlgen new (test)"), tmp_path)
    m = tune.Measurement([{"ready_s": 30.0, "healthy_s": 30.8}], {"gpu": "1 x NVIDIA H100"}, "2026-12-07", "docker")
    made = tune.rewrite(tmp_path, m)
    assert "kserve.yaml" in made.changed
    text = (tmp_path / "kserve.yaml").read_text()
    isvc = next(d for d in yaml.load_all(text) if d and d["kind"] == "InferenceService")
    probe = isvc["spec"]["predictor"]["containers"][0]["startupProbe"]
    sp = timing.start_period_for(30.0)
    assert probe["failureThreshold"] == timing.k8s_startup_failures(sp, probe["periodSeconds"])
    assert f"covers the {sp} s start period (measured on 1 x NVIDIA H100" in text


def test_the_check_finds_an_unknown_field_and_a_wrong_kind():
    problems: list[str] = []
    check({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
           "spec": {"predictor": {"minReplica": 1, "maxReplicas": "1", "containers": [{"nam": "x"}]}}},
          "InferenceService", "isvc", problems)
    assert "isvc.spec.predictor.minReplica: not a field of PredictorSpec" in problems
    assert any(p.startswith("isvc.spec.predictor.maxReplicas: int, not str") for p in problems)
    assert "isvc.spec.predictor.containers[0].nam: not a field of Container" in problems
