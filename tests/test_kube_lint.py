"""dlgen lint on Kubernetes manifests (issue 29): every pod template, in the built-in workloads and in
the CRDs people serve and train with, read into one run configuration per container with the YAML's
line numbers; the run rules that carry over and the Kubernetes rules on public manifests (sources
in each file's first line, tests/data/k8s/); standard input for `helm template ... | dlgen lint -`;
what operators add not reported missing; generated bundles clean."""

import json
from pathlib import Path

import pytest

from dlgen import bundle, kubesource, lint
from dlgen import spec as spec_mod
from tests.conftest import ROOT, run_dlgen

DATA = ROOT / "tests" / "data" / "k8s"
RULES = lint.load_rules()


def lint_file(path: Path, **ctx):
    findings, crashes = lint.lint_text(path.read_text(), str(path), "kubernetes", RULES, lint.Context(**ctx))
    assert not crashes, crashes
    return findings


def line_of(text: str, needle: str, after: int = 0) -> int:
    """The 1-based number of the first line at or after ``after`` that holds ``needle``."""
    lines = text.splitlines()
    return next(n for n, ln in enumerate(lines, 1) if n > after and needle in ln)


# file -> (kind, containers as (role, container name), what dlgen finds there: rule ids)
PUBLIC = {
    "lws-vllm.yaml": ("LeaderWorkerSet", [("leader", "vllm-leader"), ("worker", "vllm-worker")],
                      {"DLG107", "DLG112", "DLG132", "DLG136", "DLG137"}),
    "lws-sglang.yaml": ("LeaderWorkerSet", [("leader", "sglang-leader"), ("worker", "sglang-worker")],
                        {"DLG020", "DLG107", "DLG112", "DLG132", "DLG133", "DLG136", "DLG137"}),
    "trainer-torch-distributed.yaml": ("ClusterTrainingRuntime", [("node", "node")], set()),
    "rayservice-vllm.yaml": ("RayService", [("head", "ray-head"), ("worker", "llm")], set()),
    "jobset-pytorch-resnet.yaml": ("JobSet", [("workers", "pytorch")], {"DLG020", "DLG135"}),
    "pytorchjob-mnist-nccl.yaml": ("PyTorchJob", [("master", "pytorch"), ("worker", "pytorch")], {"DLG020"}),
    "dynamo-vllm-agg.yaml": ("DynamoGraphDeployment", [("Frontend", "Frontend"), ("VllmDecodeWorker",
                                                                               "VllmDecodeWorker")], set()),
    "llmisvc-qwen2-7b.yaml": ("LLMInferenceService", [("leader", "main")], set()),
    # vLLM's own Kubernetes page: 60 s + 3 x 10 s of liveness for a 165 s load (its troubleshooting
    # section describes the restart this causes)
    "vllm-deployment.yaml": ("Deployment", [("", "mistral-7b")], {"DLG020", "DLG131", "DLG138"}),
    "kserve-vllm-runtime.yaml": ("ClusterServingRuntime", [("", "kserve-container")], {"DLG133"}),
}

C = "- {name: %s, image: my/image:1.0}"
# The other kinds (dlgen/data/kube_workloads.yaml), in a minimal shape of their API: where the pods are.
KINDS = {
    "StatefulSet": f"spec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        {C % 'a'}\n",
    "DaemonSet": f"spec:\n  template:\n    spec:\n      containers:\n        {C % 'a'}\n",
    "ReplicaSet": f"spec:\n  template:\n    spec:\n      containers:\n        {C % 'a'}\n",
    "Job": f"spec:\n  parallelism: 2\n  template:\n    spec:\n      containers:\n        {C % 'a'}\n",
    "CronJob": "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n"
               f"            {C % 'a'}\n",
    "Pod": f"spec:\n  initContainers:\n    {C % 'init'}\n  containers:\n    {C % 'a'}\n    {C % 'b'}\n",
    "InferenceService": f"spec:\n  predictor:\n    containers:\n      {C % 'kserve-container'}\n"
                        f"  transformer:\n    containers:\n      {C % 't'}\n",
    "RayCluster": f"spec:\n  headGroupSpec:\n    template:\n      spec:\n        containers:\n          {C % 'head'}\n"
                  f"  workerGroupSpecs:\n    - groupName: gpu\n      template:\n        spec:\n          containers:\n"
                  f"            {C % 'w'}\n",
    "RayJob": f"spec:\n  rayClusterSpec:\n    headGroupSpec:\n      template:\n        spec:\n          containers:\n"
              f"            {C % 'head'}\n",
    "TrainJob": "spec:\n  trainer:\n    image: my/image:1.0\n    numNodes: 2\n",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_dlgen_knows_is_read(kind):
    text = f"apiVersion: x/v1\nkind: {kind}\nmetadata: {{name: m}}\n" + KINDS[kind]
    specs = kubesource.containers(text)
    names = [s.extra["k8s"].container for s in specs]
    expected = {"Pod": ["a", "b"], "InferenceService": ["kserve-container", "t"], "RayCluster": ["head", "w"],
                "RayJob": ["head"], "TrainJob": ["trainer"]}.get(kind, ["a"])
    assert names == expected, names
    for s in specs:
        assert f"name: {s.extra['k8s'].container}" in text.splitlines()[s.line - 1] or kind == "TrainJob"
    if kind in ("StatefulSet", "Job"):
        assert specs[0].extra["k8s"].replicas == 2
    if kind == "TrainJob":
        assert specs[0].extra["k8s"].group == 2


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_pod_template_of_a_public_manifest_is_read_with_its_lines(name):
    kind, expected, _ = PUBLIC[name]
    text = (DATA / name).read_text()
    assert text.startswith("# ") and " @ " in text.splitlines()[0], "the first line names its source and commit"
    specs = kubesource.containers(text)
    got = [(s.extra["k8s"].role, s.extra["k8s"].container) for s in specs]
    assert got == expected, got
    after = 0
    for s in specs:
        info = s.extra["k8s"]
        assert info.kind == kind and s.origin == "kubernetes"
        # the line of the container's mapping: its `- name:` item (or, for Dynamo, its mainContainer)
        first = text.splitlines()[s.line - 1]
        assert (f"name: {info.container}" in first) or ("image:" in first), (s.line, first)
        assert s.line > after, "in the order of the file"
        after = s.line


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_manifests_get_the_findings_a_reviewer_would_give(name):
    _, _, expected = PUBLIC[name]
    assert {f.rule for f in lint_file(DATA / name)} == expected


def test_findings_point_at_the_line_that_has_the_defect():
    path = DATA / "lws-sglang.yaml"
    text = path.read_text()
    by_rule = {}
    for f in lint_file(path):
        by_rule.setdefault(f.rule, []).append(f.line)
    assert by_rule["DLG132"] == [line_of(text, "readinessProbe:")]           # the tcpSocket probe
    assert by_rule["DLG107"] == [line_of(text, "value: $HF_TOKEN"), line_of(text, "value: $HF_TOKEN", 30)]
    assert by_rule["DLG020"] == [line_of(text, "image: lmsysorg/sglang:latest"),
                                 line_of(text, "image: lmsysorg/sglang:latest", 30)]
    assert by_rule["DLG133"][0] == line_of(text, "- name: dshm")             # the volume without sizeLimit


def test_an_operator_that_adds_shm_and_probes_is_not_reported(tmp_path):
    """KubeRay mounts /dev/shm and probes its Ray containers: a Ray worker running a GPU server is not
    told it lacks them; the same container in a plain Deployment is."""
    ray = (DATA / "rayservice-vllm.yaml").read_text()
    assert not [f for f in lint_file(DATA / "rayservice-vllm.yaml") if f.rule in ("DLG105", "DLG130")]
    dep = tmp_path / "dep.yaml"
    dep.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n"
                   "      containers:\n        - name: vllm\n          image: vllm/vllm-openai:v0.11.0\n"
                   "          args: [--model, meta-llama/Llama-3.1-8B-Instruct, --tensor-parallel-size, '2']\n"
                   "          resources: {limits: {nvidia.com/gpu: 2}}\n")
    assert {"DLG105", "DLG130"} <= {f.rule for f in lint_file(dep)}
    assert "ray" in ray


HELM = """\
---
# Source: llm/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: llm
spec:
  ports: [{port: 8000}]
---
# Source: llm/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: llm
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:latest
          args: [--model, meta-llama/Llama-3.1-8B-Instruct]
          resources:
            requests: {nvidia.com/gpu: 1}
          startupProbe:
            httpGet: {path: /health, port: 8000}
            failureThreshold: 3
"""


def test_helm_template_output_on_standard_input_is_linted_with_its_lines():
    proc = run_dlgen("lint", "-", "--format", "json", input=HELM)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = {(f["rule"], f["line"]) for f in json.loads(proc.stdout)}
    assert ("DLG020", line_of(HELM, "image: vllm")) in found
    assert ("DLG134", line_of(HELM, "- name: vllm")) in found           # requests without the limit
    assert ("DLG131", line_of(HELM, "startupProbe:")) in found          # 30 s for a 168 s load
    assert all(f["file"] == "-" for f in json.loads(proc.stdout))
    text = run_dlgen("lint", "-", input=HELM)
    assert f"-:{line_of(HELM, 'startupProbe:')}:1: DLG131" in text.stdout
    refused = run_dlgen("lint", "-", "--fix", input=HELM)
    assert refused.returncode == 2 and "standard input" in refused.stderr and "Traceback" not in refused.stderr


def test_ignores_as_yaml_comments_and_the_config(tmp_path):
    text = HELM.replace("          startupProbe:", "          # dlgen: ignore=DLG131\n          startupProbe:")
    path = tmp_path / "llm.yaml"
    path.write_text(text)
    proc = run_dlgen("lint", path, "--format", "json", "--no-config")
    rules = {f["rule"] for f in json.loads(proc.stdout)}
    assert "DLG131" not in rules and {"DLG020", "DLG134"} <= rules
    (tmp_path / ".dlgen.yaml").write_text("disable: [DLG134]\n")
    rules = {f["rule"] for f in json.loads(run_dlgen("lint", path, "--format", "json", cwd=tmp_path).stdout)}
    assert "DLG134" not in rules and "DLG020" in rules


def test_sarif_and_github_output_carry_the_kubernetes_rules(tmp_path):
    path = tmp_path / "llm.yaml"
    path.write_text(HELM)
    sarif = json.loads(run_dlgen("lint", path, "--format", "sarif", "--no-config").stdout)
    ids = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"DLG131", "DLG134"} <= ids
    github = run_dlgen("lint", path, "--format", "github", "--no-config").stdout
    assert "::error file=" in github and "DLG134" in github


def test_a_directory_finds_manifests_by_their_content(tmp_path):
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "serving.yml").write_text(HELM)
    (tmp_path / "values.yaml").write_text("replicaCount: 1\nimage: {repository: vllm}\n")   # helm values: not one
    proc = run_dlgen("lint", tmp_path, "--format", "json", "--no-config")
    paths = {Path(f["file"]).name for f in json.loads(proc.stdout)}
    assert paths == {"serving.yml"}
    assert run_dlgen("lint", tmp_path / "values.yaml").returncode == 2
    assert run_dlgen("lint", "--only-known", tmp_path / "values.yaml").returncode == 0


def test_broken_yaml_is_one_finding_not_a_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n")
    proc = run_dlgen("lint", path, "--format", "json")
    assert "Traceback" not in proc.stderr
    (f,) = json.loads(proc.stdout)
    assert f["rule"] == "DLG000"


GENERATED = [dict(model="llama-8b"), dict(model="llama-8b", server="vllm"), dict(model="llama-70b", server="vllm"),
             dict(model="llama-70b", server="sglang"), dict(model="llama-8b", server="tgi"),
             dict(model="llama-405b", server="vllm"), dict(model="llama-405b", server="sglang"),
             dict(model="llama-8b", kind="train"), dict(model="llama-8b", kind="train", nodes=2, gpus="8"),
             dict(model="whisper-large-v3"), dict(model="resnet50", kind="train"), dict(kind="notebook"),
             dict(kind="dev"), dict(model="llama-8b", server="llamacpp"), dict(model="deepseek-v3", server="vllm")]


@pytest.mark.parametrize("opts", GENERATED, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_generated_manifests_lint_clean(opts, tmp_path, dlgen):
    spec = spec_mod.build(**opts)
    files = bundle.render(spec, "t")
    bundle.write(files, tmp_path / "b")
    proc = dlgen("lint", "--no-config", "--format", "json", tmp_path / "b")
    found = json.loads(proc.stdout)
    kube = [f for f in found if Path(f["file"]).name in ("k8s.yaml", "kserve.yaml")]
    assert any(Path(p).name == "k8s.yaml" for p in [tmp_path / "b" / "k8s.yaml"]) and kube == [] \
        or all(f["severity"] == "info" for f in kube), kube
    assert proc.returncode == 0, proc.stdout
    linted = lint.lint_paths([str(tmp_path / "b" / "k8s.yaml")], RULES, lint.Context())
    assert linted.files == 1 and not linted.input_errors


def test_text_output_closes_with_one_summary_line_and_quiet_drops_it(tmp_path):
    path = tmp_path / "llm.yaml"
    path.write_text(HELM)
    lines = run_dlgen("lint", path, "--no-config").stdout.splitlines()
    assert lines[-1] == "4 findings (1 error, 3 warnings) in 1 file", lines   # DLG020, DLG112, DLG131, DLG134
    assert all(ln.startswith(str(path)) for ln in lines[:-1])
    quiet = run_dlgen("lint", path, "--no-config", "-q").stdout.splitlines()
    assert quiet == lines[:-1]
    clean = run_dlgen("lint", ROOT / "samples" / "llama-8b-serve", "--no-config").stdout.splitlines()
    assert clean == ["no findings in 7 files"]
