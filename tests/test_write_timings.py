"""`dlgen verify DIR --write-timings` (issue 18): the start-up measured on this host is written back
into every file that carries a timing, as the one start period each target renders; timings.json
records it and `dlgen lint` prefers it to the estimate. The engine tests measure a python bundle
with a synthetic 30 s load, generated with a start period far too short, as a user would."""

import hashlib
import json
import shutil

import pytest
from ruamel.yaml import YAML

from dlgen import bundle, timing, tune
from dlgen import spec as spec_mod
from dlgen.runspec import Health
from dlgen.sources import parse_dockerfile

yaml = YAML(typ="safe", pure=True)
TIMED = ("Dockerfile", "compose.yaml", "stack.yaml", "k8s.yaml", "README.md")
# What one host's start-ups differ by between runs, and what --write-timings leaves alone: a new
# start period within timing.MEASURE_TOLERANCE_S (10 s) or 10 % of the measured one already written.
SYNTHETIC_S = 30


def make(tmp_path, **opts):
    opts = {"start_period": 10, **({} if "model" in opts else {"params": "0.05B"}), **opts}
    spec = spec_mod.build(**{k: v for k, v in opts.items() if v is not None})
    bundle.write(bundle.render(spec, "dlgen new (test)"), tmp_path, plan=bundle.plan(spec))
    return tmp_path


def measurement(load_s, gpu="1 x NVIDIA H100", device="gpu", model_source="auto"):
    return tune.Measurement([{"ready_s": load_s, "healthy_s": load_s + 0.8, "first_log_s": 0.4,
                              "failing_streak_max": 0}], {"gpu": gpu}, "2026-12-02", "docker",
                            device=device, model_source=model_source)


def digests(path):
    return {n: hashlib.sha256((path / n).read_bytes()).hexdigest() for n in TIMED if (path / n).is_file()}


def timings_in(path) -> dict:
    """The start period as every target states it, read back from the files."""
    df = parse_dockerfile((path / "Dockerfile").read_text())
    hc = Health.from_instruction(df.final.find("HEALTHCHECK")[-1])
    compose = yaml.load((path / "compose.yaml").read_text())["services"]
    stack = yaml.load((path / "stack.yaml").read_text())["services"]
    k8s = [d for d in yaml.load_all((path / "k8s.yaml").read_text()) if d and d.get("kind") == "Deployment"][0]
    startup = k8s["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    server = next(s for s in compose.values() if (s.get("healthcheck") or {}).get("test"))
    task = next(s for s in stack.values() if (s.get("healthcheck") or {}).get("test"))
    return {"dockerfile": hc.start_period, "compose": timing.parse_duration(server["healthcheck"]["start_period"]),
            "stack": timing.parse_duration(task["healthcheck"]["start_period"]),
            "monitor": timing.parse_duration(task["deploy"]["update_config"]["monitor"]),
            "rollback_monitor": timing.parse_duration(task["deploy"]["rollback_config"]["monitor"]),
            "k8s_budget": startup["failureThreshold"] * startup["periodSeconds"]}


def test_every_target_gets_the_measured_start_period(tmp_path):
    path = make(tmp_path)
    before = timings_in(path)
    assert before["dockerfile"] == 10
    made = tune.rewrite(path, measurement(31.2))
    sp = timing.start_period_for(31.2)
    assert made.start_period_s == sp == 70 and made.previous_s == 10 and not made.kept
    after = timings_in(path)
    assert after["dockerfile"] == after["compose"] == after["stack"] == sp
    assert after["monitor"] == after["rollback_monitor"] == timing.stack_monitor_s(sp, timing.RETRIES, timing.INTERVAL_S)
    assert sp <= after["k8s_budget"] < sp + timing.K8S_STARTUP_PERIOD_S
    note = "measured on 1 x NVIDIA H100, 2026-12-02"
    for name in TIMED:
        assert note in (path / name).read_text(), name
    k8s_head = (path / "k8s.yaml").read_text().splitlines()
    assert any(line.startswith(f"# startupProbe budget {after['k8s_budget']} s") for line in k8s_head)
    record = json.loads((path / "timings.json").read_text())
    assert record["load_s"] == 31.2 and record["start_period_s"] == sp and record["host"]["gpu"] == "1 x NVIDIA H100"
    assert record["runs"][0]["first_log_s"] == 0.4


def test_a_rewritten_bundle_is_still_dlgens_to_replace(dlgen, tmp_path):
    path = tmp_path / "b"
    assert dlgen("new", str(path), "--params", "0.05B", "--start-period", "10").returncode == 0
    tune.rewrite(path, measurement(31.2))
    assert dlgen("new", str(path), "--params", "0.05B", "--start-period", "10", "--force").returncode == 0
    assert timings_in(path)["dockerfile"] == 10, "--force regenerated the measured files: they were dlgen's"


def test_a_second_measurement_within_the_noise_changes_nothing(tmp_path):
    path = make(tmp_path)
    tune.rewrite(path, measurement(31.2))
    once = digests(path)
    again = tune.rewrite(path, measurement(33.9))   # +2.7 s: the same host's noise
    assert again.kept and digests(path) == once
    assert json.loads((path / "timings.json").read_text())["load_s"] == 33.9
    slower = tune.rewrite(path, measurement(95.0))  # a slower disk: well outside the noise
    assert not slower.kept and timings_in(path)["dockerfile"] == timing.start_period_for(95.0)


@pytest.mark.parametrize("device,source", [("cpu", "auto"), ("gpu", "synthetic"), ("cpu", "synthetic")])
def test_a_test_measurement_changes_no_file_of_the_bundle(tmp_path, device, source):
    path = make(tmp_path)
    before = digests(path)
    made = tune.rewrite(path, measurement(31.2, gpu=None, device=device, model_source=source))
    assert made.refused and made.kept and digests(path) == before
    record = json.loads((path / "timings.json").read_text())
    assert record["device"] == device and record["model_source"] == source and record["real"] is False
    assert "hostname" not in record["host"] and "platform" not in record["host"]
    assert "--accept-test-timings" in tune.report(made)
    assert tune.read_timings(path) is None, "lint does not take a test run for the real start-up"
    # asked for explicitly: written, and marked as a test wherever it is stated
    made = tune.rewrite(path, measurement(31.2, gpu=None, device=device, model_source=source), accept_test=True)
    assert not made.kept and timings_in(path)["dockerfile"] == timing.start_period_for(31.2)
    assert "a test run" in (path / "Dockerfile").read_text()
    assert json.loads((path / "timings.json").read_text())["accepted"] is True
    assert tune.read_timings(path) is not None


def test_host_facts_record_the_machine_not_who_ran_it():
    import platform

    facts = tune.host_facts()
    text = json.dumps(facts)
    assert platform.node() not in text and platform.release() not in text
    assert {"cpus", "gpu", "disk"} <= set(facts)


def test_the_stack_keeps_its_download_budget(tmp_path):
    path = make(tmp_path, model="llama-3.2-1b", start_period=None)
    stack_before = timings_in(path)["stack"]
    sp_before = timings_in(path)["dockerfile"]
    assert stack_before > sp_before, "a stack cannot fetch first: its start period includes the download"
    download = spec_mod.build(model="llama-3.2-1b").stack_download_s
    tune.rewrite(path, measurement(25.0))
    after = timings_in(path)
    assert after["dockerfile"] == timing.start_period_for(25.0)
    # the formula `dlgen new` used: margin x (load + download), now with the measured load
    assert after["stack"] == timing.with_download(after["dockerfile"], 25.0, download, timing.MARGIN)
    assert after["stack"] == timing.round_up(timing.MARGIN * (25.0 + download), timing.ROUND_TO_S)
    assert "for the download" in (path / "stack.yaml").read_text()


def test_dry_run_prints_the_diff_and_writes_nothing(dlgen, tmp_path, monkeypatch):
    path = make(tmp_path)
    before = digests(path)
    made = tune.rewrite(path, measurement(31.2), dry_run=True)
    assert digests(path) == before and not (path / "timings.json").exists()
    text = tune.report(made, dry_run=True)
    assert "-HEALTHCHECK --interval=30s --timeout=10s --start-period=10s" in text
    assert "+HEALTHCHECK --interval=30s --timeout=10s --start-period=70s" in text
    assert "nothing written" in text


def test_options_without_write_timings_are_one_line(dlgen, tmp_path):
    path = make(tmp_path)
    proc = dlgen("verify", str(path), "--runs", "3")
    assert proc.returncode == 2 and "--write-timings" in proc.stderr and "Traceback" not in proc.stderr
    proc = dlgen("verify", str(path), "--write-timings", "--margin", "0.5")
    assert proc.returncode == 2 and "outside 1-10" in proc.stderr


# ---------------------------------------------------------------------------- lint prefers timings.json
def dockerfile_with(start_period, model="llama-8b"):
    return (f'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nLABEL ai.dlgen.model="{model}"\nUSER 1000\n'
            f"HEALTHCHECK --interval=30s --timeout=10s --start-period={start_period}s --start-interval=2s "
            '--retries=3 CMD ["python", "/app/probe.py"]\nEXPOSE 8000\nCMD ["python", "/app/server.py"]\n')


def record(load_s, real=True):
    return json.dumps({"load_s": load_s, "margin": 2.0, "measured": "2026-12-02", "real": real,
                       "device": "gpu" if real else "cpu", "host": {"gpu": "1 x NVIDIA A10G"}})


def dlg012(dlgen, path):
    proc = dlgen("lint", str(path / "Dockerfile"), "--format", "json")
    return [f for f in json.loads(proc.stdout) if f["rule"] == "DLG012"]


def test_dlg012_uses_the_measurement_over_the_estimate(dlgen, tmp_path):
    est = timing.for_server(16.06, spec_mod.reference.servers()["servers"]["python"])
    short = int(est.load_s) - 5          # too short by the estimate
    (tmp_path / "Dockerfile").write_text(dockerfile_with(short))
    assert dlg012(dlgen, tmp_path), "the estimate says it is too short"
    (tmp_path / "timings.json").write_text(record(short - 10))   # this host loads it faster than estimated
    assert not dlg012(dlgen, tmp_path)
    (tmp_path / "Dockerfile").write_text(dockerfile_with(int(est.load_s) + 30))   # enough by the estimate
    (tmp_path / "timings.json").write_text(record(est.load_s + 60))  # a slow network disk
    found = dlg012(dlgen, tmp_path)
    assert len(found) == 1 and "measured on 1 x NVIDIA A10G" in found[0]["message"], found
    assert f"--start-period={timing.start_period_for(est.load_s + 60)}s" in found[0]["hint"]
    (tmp_path / "timings.json").write_text(record(est.load_s + 60, real=False))  # a CPU test run: not trusted
    assert not dlg012(dlgen, tmp_path)
    (tmp_path / "timings.json").write_text("{not json")   # unreadable: the estimate again
    assert not dlg012(dlgen, tmp_path)


def test_dlg121_uses_the_measurement(dlgen, tmp_path):
    path = make(tmp_path / "b", model="llama-3.2-1b", start_period=None)
    assert dlgen("lint", str(path / "compose.yaml")).returncode == 0
    (path / "timings.json").write_text(record(500.0))
    proc = dlgen("lint", str(path / "compose.yaml"), "--format", "json")
    found = [f for f in json.loads(proc.stdout) if f["rule"] == "DLG121"]
    assert found and "measured on 1 x NVIDIA A10G" in found[0]["message"], proc.stdout


# ---------------------------------------------------------------------------- engine
SYNTHETIC = ["-e", "MODEL_SOURCE=synthetic", "-e", f"DLGEN_SYNTHETIC_DELAY_S={SYNTHETIC_S}"]


@pytest.mark.parametrize("target", ["docker", "compose"])
def test_write_timings_measures_and_the_rewritten_bundle_passes(engine, tmp_path, target):
    from tests.conftest import run_dlgen

    path = tmp_path / f"short-{target}"
    assert run_dlgen("new", path, "--params", "0.05B", "--start-period", "10").returncode == 0
    if target == "docker":   # a CPU run of synthetic weights is recorded, not written into the bundle
        before = digests(path)
        proc = run_dlgen("verify", path, "--cpu", "--write-timings", "--format", "json", *SYNTHETIC, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        out = json.loads(proc.stdout)
        assert out["refused"] and not out["real"] and out["files"] == ["timings.json"], out
        assert digests(path) == before
        assert json.loads((path / "timings.json").read_text())["device"] == "cpu"
    proc = run_dlgen("verify", path, "--cpu", "--write-timings", "--target", target, "--format", "json",
                     "--accept-test-timings", *SYNTHETIC, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert SYNTHETIC_S <= out["load_s"] <= SYNTHETIC_S + 20, out      # the load, plus python and torch start-up
    assert out["previous_start_period_s"] == 10 and not out["kept"]
    sp = out["start_period_s"]
    assert sp == timing.start_period_for(out["load_s"])
    assert set(TIMED) | {"timings.json"} <= set(out["files"])
    read = timings_in(path)
    assert read["dockerfile"] == read["compose"] == read["stack"] == sp and read["k8s_budget"] >= sp
    assert run_dlgen("lint", path).returncode == 0, "the rewritten bundle lints clean"
    # the rewritten bundle: healthy, and Docker never counted a failed probe
    check = run_dlgen("verify", path, "--cpu", "--target", target, "--format", "json", *SYNTHETIC, timeout=900)
    r = json.loads(check.stdout)
    assert check.returncode == 0 and r["healthy"], json.dumps(r, indent=2)[-2000:]
    assert r["failing_streak_max"] == 0, r
    # a second measurement: within the noise, nothing but timings.json changes
    before = digests(path)
    again = run_dlgen("verify", path, "--cpu", "--write-timings", "--target", target, "--format", "json",
                      "--accept-test-timings", *SYNTHETIC, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    second = json.loads(again.stdout)
    assert second["kept"] and abs(second["load_s"] - out["load_s"]) <= timing.MEASURE_TOLERANCE_S, second
    assert digests(path) == before
    shutil.rmtree(path)
