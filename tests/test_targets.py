"""Deployment targets are registered like rules (dlgen.targets): `dlgen new` renders every
registered target, `verify --target` offers those that can boot, and `--write-timings` has each
target rewrite the files it owns through a YAML round-trip that keeps what a person edited."""

import json
import sys
import textwrap

import pytest
from ruamel.yaml import YAML

from dlgen import bundle, cli, targets, timing, tune
from dlgen import spec as spec_mod

yaml = YAML(typ="safe", pure=True)


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_a_target_added_from_a_module_of_its_own_is_rendered_by_dlgen_new(tmp_path, capsys, monkeypatch):
    """A new target is one module that registers itself and one template: dlgen new emits its file,
    records it as its own, and the other targets are untouched."""
    module = tmp_path / "mods" / "nomad_target.py"
    module.parent.mkdir()
    module.write_text(textwrap.dedent('''
        from dlgen.targets import Target, register

        def files(spec, ctx):
            return {"nomad.hcl": "nomad.hcl.j2"} if spec.kind == "serve" else {}

        def context(spec, ctx):
            health = spec.health()
            return {"nomad_check_s": health.start_period if health else 0}

        TARGET = register(Target(key="nomad", title="nomad job run", files=files, context=context,
                                 owns=("nomad.hcl",)))
    '''))
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "nomad.hcl.j2").write_text('job "{{ spec.name }}" {\n  # grace {{ nomad_check_s }}s\n'
                                            '  image = "{{ spec.name }}:latest"\n}\n')
    monkeypatch.syspath_prepend(str(module.parent))
    try:
        import nomad_target  # noqa: F401  (registers the target)

        assert "nomad" in [t.key for t in targets.all_targets()]
        out = tmp_path / "b"
        code, _, err = run_cli(["new", str(out), "--params", "0.05B", "--name", "tiny", "--templates",
                                str(templates)], capsys)
        assert code == 0, err
        spec = spec_mod.build(params="0.05B", name="tiny")
        text = (out / "nomad.hcl").read_text()
        assert 'job "tiny"' in text and f"grace {spec.timing.start_period_s}s" in text
        manifest = json.loads((out / ".dlgen-manifest.json").read_text())
        assert "nomad.hcl" in manifest["files"] and "compose.yaml" in manifest["files"]
        assert "nomad" not in targets.verifiable()          # it registered no verify
        # a kind the target does not serve gets none of its files
        code, _, err = run_cli(["new", str(tmp_path / "t"), "--kind", "train", "--params", "0.05B", "--name", "tt",
                                "--templates", str(templates)], capsys)
        assert code == 0, err
        assert not (tmp_path / "t" / "nomad.hcl").exists() and (tmp_path / "t" / "compose.yaml").exists()
    finally:
        targets.unregister("nomad")
        sys.modules.pop("nomad_target", None)
    assert "nomad" not in [t.key for t in targets.all_targets()]
    assert "nomad.hcl" not in bundle.render(spec_mod.build(params="0.05B"), "t")


def test_verify_targets_come_from_the_registry(tmp_path, capsys):
    assert {"docker", "compose", "swarm"} <= set(targets.verifiable())
    code, _, err = run_cli(["verify", str(tmp_path), "--target", "k8s"], capsys)
    assert code == 2 and "unknown --target 'k8s'" in err and "compose" in err


def measurement(load_s):
    return tune.Measurement([{"ready_s": load_s, "healthy_s": load_s + 0.8, "first_log_s": 0.4,
                              "failing_streak_max": 0}], {"gpu": "1 x NVIDIA H100"}, "2026-12-07", "docker")


HAND_EDITED_COMPOSE = '''\
# my team's notes: keep this file in git
services:
  tiny:
    # health first: we read it most
    healthcheck:
      test: ["CMD", "python", "/app/probe.py", "http://127.0.0.1:8000/ready"]   # the probe
      start_period: 20s   # too short, I know
      interval: 30s
      timeout: 10s
      retries: 3
    build:
      context: .
      dockerfile: Dockerfile
    image: tiny:latest
    x-owner: ml-platform
    ports:
      - "127.0.0.1:8000:8000"
'''


def test_write_timings_keeps_comments_and_key_order_of_hand_edited_files(tmp_path):
    spec = spec_mod.build(params="0.05B", name="tiny", start_period=10)
    bundle.write(bundle.render(spec, "dlgen new (test)"), tmp_path)
    (tmp_path / "compose.yaml").write_text(HAND_EDITED_COMPOSE)
    k8s = (tmp_path / "k8s.yaml").read_text().replace("          startupProbe:\n",
                                                      "          # sized by dlgen\n          startupProbe:\n", 1)
    (tmp_path / "k8s.yaml").write_text(k8s)
    stack = (tmp_path / "stack.yaml").read_text()
    assert "start_period:" in stack and "# sized by dlgen" in k8s

    made = tune.rewrite(tmp_path, measurement(30.0))
    sp = timing.start_period_for(30.0)
    assert made.start_period_s == sp
    compose = (tmp_path / "compose.yaml").read_text()
    lines = compose.splitlines()
    # every comment and key of the person's stays where it was; only the start period changed
    assert lines[0] == "# my team's notes: keep this file in git"
    assert "    # health first: we read it most" in lines
    assert any(ln.endswith("# the probe") for ln in lines)
    order = [ln.strip().split(":")[0] for ln in lines if ln.startswith("    ") and not ln.startswith("      ")
             and not ln.strip().startswith("#")]
    assert order == ["healthcheck", "build", "image", "x-owner", "ports"]
    assert '"127.0.0.1:8000:8000"' in compose            # quoting kept
    start = next(ln for ln in lines if "start_period:" in ln)
    assert start.split("#")[0].strip() == f"start_period: {sp}s" and "measured on 1 x NVIDIA H100" in start
    assert "too short" not in compose
    assert len(lines) == len(HAND_EDITED_COMPOSE.splitlines())
    # the Kubernetes manifest keeps the comment above its probe; the budget covers the start period
    k8s_after = (tmp_path / "k8s.yaml").read_text()
    assert "          # sized by dlgen\n          startupProbe:\n" in k8s_after
    dep = next(d for d in yaml.load_all(k8s_after) if d and d["kind"] == "Deployment")
    probe = dep["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    assert probe["failureThreshold"] * probe["periodSeconds"] >= sp


def test_a_file_its_target_cannot_read_is_one_clear_line(tmp_path, capsys):
    spec = spec_mod.build(params="0.05B", name="tiny", start_period=10)
    bundle.write(bundle.render(spec, "dlgen new (test)"), tmp_path)
    (tmp_path / "compose.yaml").write_text("services: [unclosed\n")
    with pytest.raises(Exception) as err:
        tune.rewrite(tmp_path, measurement(30.0))
    assert "compose.yaml: cannot write the measured timings" in str(err.value)
    assert "services: [unclosed" == (tmp_path / "compose.yaml").read_text().strip()   # nothing written


@pytest.mark.parametrize("margin", [None, 3.0])
def test_the_stack_start_period_is_one_formula_with_the_users_margin(tmp_path, margin):
    """The stack's start period (loading plus the download a stack does itself) is computed by one
    function, at `dlgen new` and after a measurement, with the margin the user gave."""
    opts = {"model": "llama-8b", "server": "vllm", **({"margin": margin} if margin else {})}
    spec = spec_mod.build(**opts)
    m = margin or timing.MARGIN
    t = spec.timing
    assert spec.stack_download_s == spec.download_s > 0
    expect = max(t.start_period_s, timing.round_up(m * (t.load_s + spec.download_s), timing.ROUND_TO_S))
    assert spec.stack_start_period_s == expect
    stack = yaml.load(bundle.render(spec, "t")["stack.yaml"])
    assert stack["services"][spec.name]["healthcheck"]["start_period"] == f"{expect}s"
    # after a measurement, the same function with the measured load and the planned download
    out = tmp_path / "b"
    made = bundle.new({**opts, "name": "llm"}, out)
    assert json.loads((out / ".dlgen-manifest.json").read_text())["plan"]["stack_download_s"] == spec.download_s
    tune.rewrite(out, measurement(50.0), margin=margin)
    sp = timing.start_period_for(50.0, timing.Constants().override(margin=margin))
    after = yaml.load((out / "stack.yaml").read_text())["services"]["llm"]
    want = timing.with_download(sp, 50.0, made.spec.download_s, m)
    assert after["healthcheck"]["start_period"] == f"{want}s" and want > sp
    assert after["deploy"]["update_config"]["monitor"] == f"{timing.stack_monitor_s(want, 3, 30)}s"
