"""Beyond one node (issue 28): a model past one node's GPUs, or --nodes N, gives one group over several
nodes: run.sh per node (host network, the leader's address as one setting, the interface variables),
a LeaderWorkerSet for serving and a Kubeflow TrainJob for training on Kubernetes, each checked field by
field against its published API, and start-up budgets for the group's own clocks."""

import os
import shlex
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from dlgen import bundle, sources
from dlgen import spec as spec_mod
from dlgen.errors import DlgenError
from tests.apimodels import check_model, check_table, core
from tests.conftest import ROOT

yaml = YAML(typ="safe", pure=True)
LWS = yaml.load((ROOT / "tests" / "data" / "lws_v1.yaml").read_text())


def render(**opts):
    spec = spec_mod.build(**opts)
    return spec, bundle.render(spec, "dlgen new (test)")


def docs_of(files) -> list[dict]:
    return [d for d in yaml.load_all(files["k8s.yaml"]) if d]


def kinds_of(files) -> dict[str, dict]:
    return {d["kind"]: d for d in docs_of(files)}


def server_words(container: dict) -> list[str]:
    """The server's argv in a container: `bash -c "assemble && exec SERVER ..."` or command + args."""
    if container.get("command", [])[:2] == ["bash", "-c"]:
        return shlex.split(container["args"][0].split("&& exec ", 1)[1])
    return [*container.get("command", []), *container.get("args", [])]


def k8s_validate(doc: dict) -> None:
    kv = pytest.importorskip("kubernetes_validate")
    kv.validate(doc, kv.utils.latest_version(), strict=True)


@pytest.fixture(scope="module", params=["vllm", "sglang"])
def served(request):
    spec, files = render(model="llama-405b", server=request.param)
    return request.param, spec, files


def test_405b_bf16_on_80_gb_gpus_is_a_group_of_two_nodes_of_eight(served):
    server, spec, files = served
    assert (spec.nodes, spec.gpu_count) == (2, 8)
    assert "compose.yaml" not in files and "stack.yaml" not in files and "kserve.yaml" not in files
    lws = kinds_of(files)["LeaderWorkerSet"]
    t = lws["spec"]["leaderWorkerTemplate"]
    assert t["size"] == 2 and lws["spec"]["replicas"] == 1
    leader, worker = t["leaderTemplate"]["spec"], t["workerTemplate"]["spec"]
    words = server_words(leader["containers"][0])
    if server == "vllm":   # tensor parallel inside a node x a pipeline stage per node = the group's GPUs
        tp, pp = int(words[words.index("--tensor-parallel-size") + 1]), int(words[words.index("--pipeline-parallel-size") + 1])
        assert (tp, pp) == (8, 2) and words[words.index("--distributed-executor-backend") + 1] == "ray"
    else:                  # tensor parallel over every GPU of the group, and this node's rank
        assert words[words.index("--tp-size") + 1] == "16" and words[words.index("--nnodes") + 1] == "2"
        assert words[words.index("--node-rank") + 1] == "$(LWS_WORKER_INDEX)"
        assert words[words.index("--dist-init-addr") + 1] == "$(LWS_LEADER_ADDRESS):20000"
    for pod in (leader, worker):
        (c,) = pod["containers"]
        assert c["resources"]["limits"]["nvidia.com/gpu"] == 8
        assert any(v["name"] == "dshm" and v["emptyDir"]["medium"] == "Memory" for v in pod["volumes"])
        assert any(m["mountPath"] == "/dev/shm" for m in c["volumeMounts"])
        assert pod["initContainers"][0]["name"] == "fetch", "the weights are fetched before the server starts"
        sp = c["startupProbe"]
        assert sp["periodSeconds"] * sp["failureThreshold"] >= 600, "never below the server's own wait"
        assert c["livenessProbe"], "every pod has a probe of its own"


def test_workers_probe_the_leaders_group_port_and_serve_no_api(served):
    server, spec, files = served
    t = kinds_of(files)["LeaderWorkerSet"]["spec"]["leaderWorkerTemplate"]
    (worker,) = t["workerTemplate"]["spec"]["containers"]
    (leader,) = t["leaderTemplate"]["spec"]["containers"]
    assert leader["readinessProbe"]["httpGet"]["path"] == "/health" and "readinessProbe" not in worker
    argv = worker["startupProbe"]["exec"]["command"]
    assert argv == worker["livenessProbe"]["exec"]["command"] and "LWS_LEADER_ADDRESS" in argv
    assert {"name": "GROUP_PORT", "value": str(spec.group.port)} in worker["env"]
    # the probe the manifest runs, run here: it fails while nothing listens, passes once the port answers
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        env = {"LWS_LEADER_ADDRESS": "127.0.0.1", "GROUP_PORT": str(port), "PATH": os.environ["PATH"]}
        probe = ["python3", *argv[1:]]
        assert subprocess.run(probe, env=env, capture_output=True).returncode != 0
        s.listen()
        assert subprocess.run(probe, env=env, capture_output=True).returncode == 0


def test_the_leader_worker_set_uses_only_fields_its_api_defines(served):
    server, spec, files = served
    found = kinds_of(files)
    problems: list[str] = []
    check_table(found["LeaderWorkerSet"], "LeaderWorkerSet", LWS, "LeaderWorkerSet", problems)
    assert problems == [], "\n".join(problems)
    assert found["LeaderWorkerSet"]["apiVersion"] == "leaderworkerset.x-k8s.io/v1"
    t = found["LeaderWorkerSet"]["spec"]["leaderWorkerTemplate"]
    # the pod templates and the claim template are valid core objects, as Kubernetes would take them
    for role in ("leaderTemplate", "workerTemplate"):
        k8s_validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{spec.name}-{role.lower()}"},
                      "spec": t[role]["spec"]})
    for claim in t["volumeClaimTemplates"]:
        k8s_validate({"apiVersion": "v1", "kind": "PersistentVolumeClaim", **claim})
        assert any(m["name"] == claim["metadata"]["name"] for m in t["leaderTemplate"]["spec"]["containers"][0]
                   ["volumeMounts"]), "every claim template is mounted"
    k8s_validate(found["Service"])
    # the Service selects the leader by the labels LWS puts on its pods; args use only what it injects
    assert found["Service"]["spec"]["selector"] == {LWS["pod_labels"]["name"]: spec.name,
                                                    LWS["pod_labels"]["worker_index"]: "0"}
    text = str(t)
    used = {w.split(")")[0] for w in text.split("$(")[1:]}
    assert used and used <= set(LWS["injected_env"]), used
    assert t["restartPolicy"] == "RecreateGroupAfterStart" and "Pending" in files["k8s.yaml"]


def test_the_check_finds_an_unknown_field_and_a_wrong_value():
    problems: list[str] = []
    check_table({"spec": {"leaderWorkerTemplate": {"sizee": 2, "restartPolicy": "Always",
                                                   "workerTemplate": {"spec": {"containerz": []}}}}},
                "LeaderWorkerSet", LWS, "lws", problems)
    assert any("sizee" in p for p in problems) and any("'Always'" in p for p in problems)
    assert any("containerz" in p for p in problems)
    problems = []
    check_model({"spec": {"trainer": {"numNodes": "2", "nodes": 2}}}, core("TrainerV1alpha1TrainJob"), "tj", problems)
    assert any("numNodes" in p for p in problems) and any(".nodes" in p for p in problems)


@pytest.fixture(scope="module")
def trained():
    return render(model="llama-8b", kind="train", nodes=2, gpus="8")


def test_two_node_training_is_torchrun_with_a_rendezvous_on_the_leader(trained):
    spec, files = trained
    assert spec.training.gpus == 16 and spec.training.strategy == "fsdp"   # 128 GB of state over 16 GPUs
    (run,) = [r for r in sources.run_lines(files["run.sh"]) if r.labels.get("ai.dlgen.phase") != "fetch"]
    argv = run.full_command()
    assert argv[argv.index("--nnodes") + 1] == "2" and argv[argv.index("--nproc-per-node") + 1] == "8"
    assert argv[argv.index("--rdzv-backend") + 1] == "c10d"
    assert argv[argv.index("--rdzv-endpoint") + 1] == "${LEADER_HOST}:${GROUP_PORT}"
    assert "is_host=${IS_HOST}" in argv[argv.index("--rdzv-conf") + 1]
    assert "--standalone" not in argv and run.network == "host" and run.gpus == "8"
    assert any(v.target == "/checkpoints" and v.source == "${CHECKPOINTS}" for v in run.volumes)


def test_two_node_training_on_kubernetes_is_one_train_job_with_a_pod_per_node(trained):
    spec, files = trained
    found = kinds_of(files)
    job, runtime, claim = found["TrainJob"], found["TrainingRuntime"], found["PersistentVolumeClaim"]
    assert claim["metadata"]["name"] == f"{spec.name}-shared"
    assert job["spec"]["trainer"]["numNodes"] == 2 and job["spec"]["trainer"]["numProcPerNode"] == 8
    assert job["spec"]["runtimeRef"] == {"name": spec.name, "apiGroup": "trainer.kubeflow.org",
                                         "kind": "TrainingRuntime"}
    assert runtime["spec"]["mlPolicy"]["numNodes"] == 2
    (rjob,) = runtime["spec"]["template"]["spec"]["replicatedJobs"]
    assert rjob["name"] == "node" and rjob["replicas"] == 1   # the trainer runs numNodes pods of it
    pod = rjob["template"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["name"] == "node" and c["command"] == ["python", "/app/launch.py", "/app/train.py"]
    assert [i["name"] for i in pod["initContainers"]] == ["fetch", "wait-for-leader"]
    shared = {m["mountPath"]: m["subPath"] for m in c["volumeMounts"] if m["name"] == "shared"}
    assert shared == {"/checkpoints": "checkpoints", "/cache/huggingface": "huggingface"}, shared
    assert pod["initContainers"][0]["volumeMounts"] == [{"name": "shared", "mountPath": "/cache/huggingface",
                                                         "subPath": "huggingface"}], "the fetch fills the shared cache"
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "every node writes the checkpoints"
    assert c["startupProbe"]["exec"]["command"][1] == "/app/probe.py"   # the heartbeat, on every node
    problems: list[str] = []
    check_model(job, core("TrainerV1alpha1TrainJob"), "TrainJob", problems)
    check_model(runtime, core("TrainerV1alpha1TrainingRuntime"), "TrainingRuntime", problems)
    assert problems == [], "\n".join(problems)
    k8s_validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "node"}, "spec": pod})
    k8s_validate(claim)


@pytest.mark.parametrize("opts,needle,fix", [
    (dict(model="llama-405b", server="python", nodes=2), "does not run one model across nodes", "--server vllm"),
    (dict(model="llama-8b", nodes=0), "invalid --nodes 0", "give 1 to"),
    (dict(model="llama-405b", server="vllm", nodes=2, gpus="0,1"), "names devices of one host", "--gpus 2"),
    (dict(model="llama-405b", server="sglang", nodes=3, gpus="8"), "does not divide", "another --gpus"),
    (dict(model="llama-405b", server="vllm", nodes=2, gpus="2"), "does not fit 2 nodes", "--nodes"),
    (dict(model="llama-70b", server="vllm", nodes=2, gpus="2", start_period=300), "below the 600 s vllm waits",
     "at least 600"),
    (dict(kind="tensorboard", nodes=2), "runs on one host", "drop --nodes"),
])
def test_a_group_that_cannot_work_is_one_line_with_the_fix(opts, needle, fix):
    with pytest.raises(DlgenError) as err:
        spec_mod.build(**opts)
    assert needle in err.value.line() and fix in err.value.hint, err.value.line()


def test_nodes_asked_for_a_model_that_fits_one_host():
    spec, files = render(model="llama-70b", server="vllm", nodes=2, gpus="2")
    plan = spec.gpu_plan
    assert (plan.nodes, plan.count, plan.tensor, plan.pipeline) == (2, 2, 2, 2)
    assert spec.timing.start_period_s >= 600


def _run_sh(tmp_path: Path, files: dict, env: dict, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """run.sh as a person runs it, with a `docker` on PATH that records what it is asked to do."""
    bundle.write(files, tmp_path / "b", force=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "docker.log"
    (bin_dir / "docker").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n')
    (bin_dir / "docker").chmod(0o755)
    full = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "DLGEN_SKIP_GPU_CHECK": "1", **env}
    proc = subprocess.run(["bash", str(tmp_path / "b" / "run.sh"), *args], env=full, capture_output=True, text=True)
    calls = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return proc, calls


def test_run_sh_takes_the_rank_and_one_leader_setting_and_refuses_without_them(tmp_path, trained):
    spec, files = trained
    base = {"LEADER_ADDR": "10.0.0.1:29400", "CHECKPOINTS": "/shared/ck", "NET_IF": "ens5"}
    for env, args, said in [(base, (), "usage: LEADER_ADDR"), (base, ("2",), "usage: LEADER_ADDR"),
                            ({**base, "LEADER_ADDR": ""}, ("0",), "set LEADER_ADDR"),
                            ({**base, "CHECKPOINTS": "ck"}, ("1",), "set CHECKPOINTS")]:
        proc, calls = _run_sh(tmp_path, files, env, *args)
        assert proc.returncode == 2 and said in proc.stderr and not calls, (args, proc.stderr)
    proc, calls = _run_sh(tmp_path, files, base, "1")
    assert proc.returncode == 0, proc.stderr
    (run,) = [c for c in calls if c.startswith("run -d")]
    assert "--rdzv-endpoint 10.0.0.1:29400" in run and "is_host=0,join_timeout=600" in run
    assert "--network=host" in run and "-v /shared/ck:/checkpoints" in run
    assert any(c.startswith("run ") and "ai.dlgen.phase=fetch" in c for c in calls), "the fetch comes first"
    proc, calls = _run_sh(tmp_path, files, {**base, "LEADER_ADDR": "leader-host"}, "0")
    (run,) = [c for c in calls if c.startswith("run -d")]
    assert "--rdzv-endpoint leader-host:29400" in run and "is_host=1" in run   # the default port


def test_run_sh_starts_the_leader_server_and_a_headless_worker(tmp_path, served):
    server, spec, files = served
    base = {"LEADER_ADDR": "10.0.0.1", "NET_IF": "ens5"}
    _, leader = _run_sh(tmp_path, files, base, "0")
    _, worker = _run_sh(tmp_path, files, base, "1")
    (lead,) = [c for c in leader if c.startswith("run -d")]
    (work,) = [c for c in worker if c.startswith("run -d")]
    assert "--host 127.0.0.1" in lead, "the API on the host's loopback (host network, not --publish-all)"
    assert "--health-cmd" in work and "--health-cmd" not in lead   # the image's probe on the leader
    if server == "vllm":
        assert "leader --ray_port=${GROUP_PORT}" in lead and "--ray_address=10.0.0.1" in work
    else:
        assert "--node-rank 0" in lead and "--node-rank 1" in work and "--dist-init-addr 10.0.0.1:20000" in work


def test_the_group_bundles_lint_clean(tmp_path, served, trained, dlgen):
    for name, files in (("serve", served[2]), ("train", trained[1])):
        bundle.write(files, tmp_path / name)
        proc = dlgen("lint", "--no-config", tmp_path / name)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_models_and_new_agree_on_the_group(dlgen):
    import json

    rows = {r["model"]: r for r in json.loads(dlgen("models", "--server", "sglang", "--format", "json").stdout)}
    spec = spec_mod.build(model="llama-405b", server="sglang")
    assert (rows["llama-405b"]["nodes"], rows["llama-405b"]["gpus"]) == (spec.nodes, spec.gpu_count) == (2, 8)
    assert rows["llama-405b"]["start_period_s"] == spec.timing.start_period_s
