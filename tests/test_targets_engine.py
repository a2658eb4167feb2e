"""verify --target compose and --target swarm on the real engine, the stack file as Swarm reads it,
and a real rollback: an update to an image whose probe always fails is rolled back by Swarm."""

import json
import shutil
import subprocess
import time

import pytest

from dlgen import reference
from dlgen.verify import build_image  # BuildKit, as run.sh builds (the SDK's legacy builder has no RUN --mount)
from dlgen.verify_targets import left_by_stack, remove_stack
from tests.conftest import run_dlgen
from tests.test_engine import SYNTHETIC, make_bundle
from tests.test_new_bundles import needs

KINDS = {"serve": dict(model="llama-8b", kind="serve"), "train": dict(model="llama-8b", kind="train"),
         "notebook": dict(kind="notebook")}
TRAIN_ENV = ["-e", "DLGEN_STEP_SLEEP_S=0.05", "-e", "TRAIN_STEPS=100000"]


def docker():
    path = shutil.which("docker")
    if not path or subprocess.run([path, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker CLI with compose is not installed (scripts/test-engine.sh up)")
    return path


def swarm_state(engine):
    return (engine.info().get("Swarm") or {}).get("LocalNodeState")


def verify(path, target, *extra):
    # a relative DIR from the folder above, as every README shows it: resolved once, at the boundary
    proc = run_dlgen("verify", path.name, "--cpu", "--format", "json", "--target", target, *SYNTHETIC, *extra,
                     cwd=path.parent, timeout=900)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc, json.loads(proc.stdout)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("target", ["compose", "swarm"])
def test_verify_target_turns_healthy_and_leaves_nothing(engine, tmp_path, kind, target):
    docker()
    before = swarm_state(engine)
    path = make_bundle(tmp_path / kind, **KINDS[kind])
    proc, r = verify(path, target, *(TRAIN_ENV if kind == "train" else []))
    assert proc.returncode == 0 and r["healthy"], json.dumps(r, indent=2)[-3000:]
    assert r["warnings"] == [], r["warnings"]
    if kind != "train":
        assert r["ready_s"] is not None
    if kind == "serve" and target == "compose":   # the 0.5 s start interval and a cheap probe
        assert r["health_lag_s"] is not None and r["health_lag_s"] <= 1.0, r
    label = f"ai.dlgen.verify={r['run_id']}"
    assert not engine.containers.list(all=True, filters={"label": label})
    if target == "swarm":
        assert left_by_stack(engine, f"dlgen-verify-{r['run_id']}") == {"services": [], "containers": [],
                                                                          "volumes": [], "networks": []}
        assert swarm_state(engine) == before, "a swarm verify created is left again"
    else:
        project = f"com.docker.compose.project=dlgen-verify-{r['run_id']}"
        assert not engine.containers.list(all=True, filters={"label": project})
        assert not engine.volumes.list(filters={"label": project})


def test_stack_config_accepts_every_kind_and_preset(tmp_path):
    cli = docker()
    servers = reference.servers()["servers"]
    cases = [dict(model="llama-8b", server=s, **needs(s)) for s, p in servers.items()
             if "serve" in p["kinds"]]
    cases += [dict(model="llama-8b", kind="train"), dict(kind="notebook"), dict(kind="tensorboard"),
              dict(model="llama-70b", server="vllm")]
    for i, opts in enumerate(cases):
        path = make_bundle(tmp_path / str(i), **{k: v for k, v in opts.items() if v is not None})
        proc = subprocess.run([cli, "stack", "config", "-c", "stack.yaml"], capture_output=True, text=True, cwd=path)
        assert proc.returncode == 0, (opts, proc.stderr)
        assert not [l for l in proc.stderr.splitlines() if "unsupported" in l.lower() or "not supported" in l], opts


def test_swarm_rolls_back_an_update_whose_probe_always_fails(engine, tmp_path):
    cli = docker()
    created = swarm_state(engine) != "active"
    if created:
        subprocess.run([cli, "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True, capture_output=True)
    stack = f"dlgen-rollback-{int(time.time())}"
    path = make_bundle(tmp_path / "b", model="resnet50", kind="serve")
    good, bad = f"dlgen-test/{stack}:good", f"dlgen-test/{stack}:bad"
    try:
        assert build_image(path, good, {"ai.dlgen.test": "1"}, lambda line: None) is None
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "Dockerfile").write_text(
            f"FROM {good}\nUSER root\nRUN printf 'import sys\\nsys.exit(1)\\n' > /app/probe.py\nUSER 1000\n")
        assert build_image(tmp_path / "bad", bad, {"ai.dlgen.test": "1"}, lambda line: None) is None
        from ruamel.yaml import YAML

        yaml = YAML(typ="safe", pure=True)
        stack_file = path / "stack.yaml"
        doc = yaml.load(stack_file.read_text())
        (svc,) = doc["services"].values()
        svc["image"] = good
        svc["environment"] = [*(svc.get("environment") or []), "MODEL_SOURCE=synthetic"]
        svc["ports"] = [{k: v for k, v in p.items() if k != "published"} for p in svc.get("ports") or []]
        svc["deploy"].pop("resources", None)
        with open(stack_file, "w") as fh:
            yaml.dump(doc, fh)
        deploy = subprocess.run([cli, "stack", "deploy", "--detach=false", "-c", "stack.yaml", stack],
                                capture_output=True, text=True, cwd=path, timeout=600)
        assert deploy.returncode == 0, deploy.stderr
        service = f"{stack}_resnet50-serve"
        t0 = time.monotonic()
        update = subprocess.run([cli, "service", "update", "--detach=false", "--image", bad, service],
                                capture_output=True, text=True, timeout=900)
        took = time.monotonic() - t0
        spec = engine.api.inspect_service(service)
        monitor_s = int(svc["deploy"]["update_config"]["monitor"].rstrip("s"))
        assert (spec.get("UpdateStatus") or {}).get("State") == "rollback_completed", (update.stdout, update.stderr)
        assert spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].startswith(good)
        # the bad task fails within the update's monitor window, then the rollback is monitored in turn
        assert took <= 2 * monitor_s + 60, (took, monitor_s)
    finally:
        remove_stack(engine, cli, stack)
        for tag in (bad, good):
            try:
                engine.images.remove(tag, force=True)
            except Exception:
                pass
        if created:
            subprocess.run([cli, "swarm", "leave", "--force"], capture_output=True)


def test_stack_deploy_prints_no_warning_for_every_kind_and_preset(engine, tmp_path):
    """`docker stack deploy` of every stack.yaml, as its header says to run it, on a real swarm: no
    "Ignoring unsupported options" or "not supported" line, the service is created with the GPU
    reservation, /dev/shm tmpfs and health check the file asks for, and the stack is removed again.
    The images are not built: --resolve-image never keeps the deploy from asking a registry."""
    cli = docker()
    created = swarm_state(engine) != "active"
    if created:
        subprocess.run([cli, "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True, capture_output=True)
    servers = reference.servers()["servers"]
    cases = [dict(model="llama-8b", server=s, **(needs(s) if s != "llamacpp" else {}))
             for s, p in servers.items() if "serve" in p["kinds"]]
    cases += [dict(model="llama-8b", kind="train"), dict(kind="notebook"), dict(kind="tensorboard"),
              dict(model="llama-70b", server="vllm"), dict(model="llama-8b", server="llamacpp")]
    stacks = []
    try:
        for i, opts in enumerate(cases):
            path = make_bundle(tmp_path / str(i), **{k: v for k, v in opts.items() if v is not None})
            stack = f"dlgen-deploy-{uuid_tag()}-{i}"
            stacks.append(stack)
            proc = subprocess.run([cli, "stack", "deploy", "--detach=true", "--resolve-image", "never", "-c",
                                   "stack.yaml", stack], capture_output=True, text=True, cwd=path, timeout=120)
            assert proc.returncode == 0, (opts, proc.stderr)
            said = proc.stdout + proc.stderr
            assert not [line for line in said.splitlines() if "unsupported" in line.lower()
                        or "not supported" in line.lower()], (opts, said)
            from ruamel.yaml import YAML

            doc = YAML(typ="safe", pure=True).load((path / "stack.yaml").read_text())
            (name, svc), = doc["services"].items()
            spec = engine.api.inspect_service(f"{stack}_{name}")["Spec"]
            task = spec["TaskTemplate"]
            gpus = [r["DiscreteResourceSpec"] for r in
                    ((task.get("Resources") or {}).get("Reservations") or {}).get("GenericResources") or []]
            want = (svc["deploy"].get("resources") or {}).get("reservations", {}).get("generic_resources") or []
            assert [(g["Kind"], g["Value"]) for g in gpus] == [
                (w["discrete_resource_spec"]["kind"], w["discrete_resource_spec"]["value"]) for w in want], opts
            mounts = {m["Target"]: m for m in task["ContainerSpec"].get("Mounts") or []}
            if any(isinstance(v, dict) and v.get("target") == "/dev/shm" for v in svc.get("volumes") or []):
                assert mounts["/dev/shm"]["Type"] == "tmpfs", opts
            if svc.get("healthcheck"):
                hc = task["ContainerSpec"]["Healthcheck"]
                assert hc["StartPeriod"] == int(svc["healthcheck"]["start_period"].rstrip("s")) * 10**9, opts
            remove_stack(engine, cli, stack)
            assert left_by_stack(engine, stack) == {"services": [], "containers": [], "volumes": [], "networks": []}
    finally:
        for stack in stacks:
            remove_stack(engine, cli, stack)
        if created:
            subprocess.run([cli, "swarm", "leave", "--force"], capture_output=True)


def uuid_tag():
    import uuid

    return uuid.uuid4().hex[:8]
