"""A 2-node training bundle on the real engine (issue 28): `dlgen verify --cpu` runs each node as its own
container with the command run.sh gives it, the rendezvous forms across the two, the group trains and
checkpoints once into the folder both share, every node turns healthy and stops cleanly; a wrong
leader address fails within verify's short join timeout with the node's own words, and nothing is
left on the engine either way. One bundle (a 1B model, random weights, one CPU process per node) for
both runs."""

import json
import os
import time

import pytest

from dlgen import bundle, verify_group
from dlgen import spec as spec_mod
from tests.conftest import run_dlgen

SYNTHETIC = ["-e", "MODEL_SOURCE=synthetic", "-e", "DLGEN_SYNTHETIC_DELAY_S=3", "-e", "DLGEN_STEP_SLEEP_S=0.05",
             "-e", "TRAIN_STEPS=100000"]


@pytest.fixture(scope="module")
def group_bundle(tmp_path_factory):
    path = tmp_path_factory.mktemp("group") / "b"
    spec = spec_mod.build(model="llama-3.2-1b", kind="train", nodes=2, gpus="1")
    bundle.write(bundle.render(spec, "dlgen new (test)"), path)
    return path


def left_by(engine, path):
    label = f"ai.dlgen.verify.bundle={os.path.realpath(path)}"
    return {"containers": [c.name for c in engine.containers.list(all=True, filters={"label": label})],
            "volumes": [v.name for v in engine.volumes.list(filters={"label": label})],
            "networks": [n.name for n in engine.networks.list(filters={"label": label})],
            "images": [i.id for i in engine.images.list(all=True, filters={"label": label})]}


def test_two_nodes_form_their_rendezvous_train_checkpoint_once_and_stop(engine, group_bundle):
    proc = run_dlgen("verify", group_bundle, "--cpu", "--format", "json", *SYNTHETIC, timeout=900)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    r = json.loads(proc.stdout)
    assert proc.returncode == 0 and r["healthy"] and r["failure"] is None, json.dumps(r, indent=2)[-3000:]
    assert [n["rank"] for n in r["nodes"]] == [0, 1]
    assert all(n["healthy"] and n["healthy_s"] is not None and n["exit_code"] == 0 for n in r["nodes"]), r["nodes"]
    assert r["world_size"] == 2, "one rank on each node, joined through the leader's rendezvous"
    assert r["steps"] >= 10
    assert r["checkpoints"] == ["last.pt", "last.step"], "one checkpoint in the shared folder, by rank 0"
    assert left_by(engine, group_bundle) == {"containers": [], "volumes": [], "networks": [], "images": []}
    text = run_dlgen("verify", group_bundle, "--cpu", *SYNTHETIC, timeout=900)
    assert text.returncode == 0 and "node 0 (" in text.stdout and "node 1 (" in text.stdout, text.stdout


def test_the_group_stops_clean_whichever_node_is_stopped_first(engine, group_bundle):
    """verify stops the leader first (its torchrun holds the rendezvous store: the worker's torchrun
    loses it); here the worker goes first, so the leader's workers end before its own stop comes and
    must not leave its torchrun in the exit barrier that docker stop can only kill."""
    env = dict(pair.split("=", 1) for pair in SYNTHETIC[1::2])
    r = verify_group.verify_group(group_bundle, 2, cpu=True, env=env, leader_first=False)
    assert r["healthy"] and r["failure"] is None, json.dumps(r, indent=2)[-3000:]
    assert [n["exit_code"] for n in r["nodes"]] == [0, 0], r["nodes"]
    assert r["stop_s"] < 2 * 10, "no node waited out docker stop's grace period to be killed"
    assert r["checkpoints"] == ["last.pt", "last.step"]
    assert left_by(engine, group_bundle) == {"containers": [], "volumes": [], "networks": [], "images": []}


def test_a_wrong_leader_address_fails_fast_and_leaves_nothing(engine, group_bundle):
    t = time.monotonic()
    proc = run_dlgen("verify", group_bundle, "--cpu", "--format", "json", "-e", "LEADER_ADDR=nowhere.invalid:29400",
                     *SYNTHETIC, timeout=600)
    took = time.monotonic() - t
    r = json.loads(proc.stdout)
    assert proc.returncode == 1 and not r["healthy"], json.dumps(r, indent=2)[-3000:]
    f = r["failure"]
    assert f["stage"] == "start" and "before the group of 2 was healthy" in f["error"], f["error"]
    assert "nowhere.invalid:29400" in f["hint"] and any("C10d store" in line or "rendezvous" in line.lower()
                                                       for line in f["log_tail"]), f
    assert took < 120, f"verify's join timeout is 30 s; the run took {took:.0f} s"
    assert left_by(engine, group_bundle) == {"containers": [], "volumes": [], "networks": [], "images": []}
