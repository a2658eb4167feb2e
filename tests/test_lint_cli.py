"""dlgen lint as a user runs it: config, severity overrides, threshold, formats (SARIF checked
against the 2.1.0 schema), --fix/--diff, extra rule directories, a crashing rule, bad input,
explain, the generated rule reference and the pre-commit hook."""

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dlgen import lint
from tests.conftest import ROOT, assert_one_line_error

BAD = "FROM python:3.11-slim\nEXPOSE 8000\nRUN pip install numpy>=1.26\nCMD python serve.py\n"


@pytest.fixture
def bad(tmp_path):
    p = tmp_path / "Dockerfile"
    p.write_text(BAD)
    return p


def rules_of(proc):
    return sorted({f["rule"] for f in json.loads(proc.stdout)})


# ---------------------------------------------------------------------------- config
def test_config_disable_severity_threshold(tmp_path, bad, dlgen):
    base = rules_of(dlgen("lint", "--format", "json", bad, cwd=tmp_path))
    assert {"DLG004", "DLG010", "DLG030", "DLG037"} <= set(base)
    (tmp_path / ".dlgen.yaml").write_text("disable: [DLG004, pip-cache]\nseverity: {DLG037: info, DLG010: info}\n"
                                          "failure-threshold: warning\n")
    proc = dlgen("lint", "--format", "json", bad, cwd=tmp_path)
    found = json.loads(proc.stdout)
    assert "DLG004" not in rules_of(proc) and "DLG030" not in rules_of(proc)
    assert {f["rule"]: f["severity"] for f in found}["DLG037"] == "info"
    assert proc.returncode == 0, "every remaining finding is below the threshold"
    assert dlgen("lint", "--failure-threshold", "info", bad, cwd=tmp_path).returncode == 1
    # found from a subdirectory of the repository too, and ignored with --no-config
    (tmp_path / ".git").mkdir()
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert "DLG004" not in rules_of(dlgen("lint", "--format", "json", bad, cwd=sub))
    assert "DLG004" in rules_of(dlgen("lint", "--no-config", "--format", "json", bad, cwd=sub))


def test_pyproject_config_and_model(tmp_path, dlgen):
    d = tmp_path / "Dockerfile"
    d.write_text('FROM vllm/vllm-openai:v0.11.0\nHEALTHCHECK --start-period=60s --start-interval=2s '
                 'CMD ["curl", "-fsS", "http://localhost:8000/health"]\nCMD ["--port", "8000"]\n')
    assert "DLG012" not in rules_of(dlgen("lint", "--format", "json", d, cwd=tmp_path))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.dlgen]\nmodel = "llama-70b"\n')
    proc = dlgen("lint", "--format", "json", d, cwd=tmp_path)
    hit = [f for f in json.loads(proc.stdout) if f["rule"] == "DLG012"]
    assert hit and "config pyproject.toml" in hit[0]["message"] and proc.returncode == 1
    assert "--model" in [f for f in json.loads(dlgen("lint", "--format", "json", "--model", "llama-70b", d,
                                                          cwd=tmp_path).stdout) if f["rule"] == "DLG012"][0]["message"]


@pytest.mark.parametrize("content,needle", [
    ("disable: DLG999\n", "unknown rule"),
    ("colour: yes\n", "unknown config key"),
    ("severity: {DLG004: fatal}\n", "not info, warning or error"),
    ("failure-threshold: high\n", "failure-threshold"),
    ("rule-dirs: [nowhere]\n", "does not exist"),
    ("model: [\n", "invalid YAML"),
])
def test_bad_config_is_one_line(tmp_path, bad, dlgen, content, needle):
    (tmp_path / ".dlgen.yaml").write_text(content)
    assert_one_line_error(dlgen("lint", bad, cwd=tmp_path), needle)


def test_docker_version_from_config(tmp_path, dlgen):
    d = tmp_path / "Dockerfile"
    d.write_text('FROM python:3.11\nHEALTHCHECK --start-period=120s CMD ["true"]\nCMD ["python", "s.py"]\n')
    assert "DLG016" in rules_of(dlgen("lint", "--format", "json", d, cwd=tmp_path))
    (tmp_path / ".dlgen.yaml").write_text("docker-version: '24.0'\n")
    assert "DLG016" not in rules_of(dlgen("lint", "--format", "json", d, cwd=tmp_path))


# ---------------------------------------------------------------------------- extra rules, crashing rules
EXTRA_RULE = '''"""ORG001 no-maintainer-label.

What it does: reports an image without an org.opencontainers.image.authors label.
Why is this bad: nobody knows whom to ask.
Use instead: LABEL org.opencontainers.image.authors=...
"""
ID = "ORG001"
NAME = "no-authors-label"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "Nobody knows whom to ask."
FAIL = ["FROM python:3.11\\n"]
PASS = ["FROM python:3.11\\nLABEL org.opencontainers.image.authors=me\\n"]


from dlgen import rulekit


def check(doc, ctx):
    if not any("org.opencontainers.image.authors" in i.original for i in doc.final.find("LABEL")):
        yield rulekit.Hit(line=1, message="no authors label", hint="add LABEL org.opencontainers.image.authors=...")
'''


def test_extra_rule_directory(tmp_path, bad, dlgen):
    (tmp_path / "lintrules").mkdir()
    (tmp_path / "lintrules" / "org001.py").write_text(EXTRA_RULE)
    (tmp_path / ".dlgen.yaml").write_text("rule-dirs: [lintrules]\n")
    assert "ORG001" in rules_of(dlgen("lint", "--format", "json", bad, cwd=tmp_path))
    # the rule API is keyword Hit objects: a rule yielding a bare tuple is a rule error naming it
    (tmp_path / "lintrules" / "org001.py").write_text(EXTRA_RULE.replace(
        'rulekit.Hit(line=1, message="no authors label", hint="add LABEL org.opencontainers.image.authors=...")',
        '1, 1, "no authors label"'))
    proc = dlgen("lint", "--format", "json", bad, cwd=tmp_path)
    assert proc.returncode == 2 and "rule ORG001 failed" in proc.stderr and "not rulekit.Hit" in proc.stderr


def test_a_crashing_rule_is_reported_and_others_go_on(tmp_path, bad, dlgen):
    (tmp_path / "lintrules").mkdir()
    (tmp_path / "lintrules" / "boom.py").write_text(
        EXTRA_RULE.replace("ORG001", "ORG002").replace("    if not any", "    raise KeyError('boom')\n    if not any"))
    (tmp_path / ".dlgen.yaml").write_text("rule-dirs: [lintrules]\n")
    other = tmp_path / "compose.yaml"
    other.write_text("services:\n  a:\n    image: vllm/vllm-openai:v0.11.0\n")
    proc = dlgen("lint", "--format", "json", bad, other, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "ORG002" in proc.stderr and str(bad) in proc.stderr
    assert {"DLG004", "DLG101"} <= set(rules_of(proc)), "the other rules and files still ran"


# ---------------------------------------------------------------------------- formats
def _sarif_schema(tmp_path_factory):
    """The SARIF 2.1.0 JSON schema (rtm.5, the release schema) as published in Microsoft's
    sarif-js-sdk package; fetched once with npm and cached, never copied into this project."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dlgen-tests" / "sarif-2.1.0.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    npm = shutil.which("npm")
    work = tmp_path_factory.mktemp("sarif")
    if npm:
        subprocess.run([npm, "pack", "--silent", "@microsoft/sarif-matcher-utils@1.0.0-beta.0"], cwd=work,
                       capture_output=True, timeout=180)
    tgz = next(work.glob("*.tgz"), None)
    if tgz is None:
        if os.environ.get("CI"):
            pytest.fail("could not fetch the SARIF 2.1.0 schema with npm")
        pytest.skip("npm could not fetch the SARIF 2.1.0 schema")
    with tarfile.open(tgz) as tf:
        data = tf.extractfile("package/lib/schemas/sarif-2.1.0-rtm.5.json").read()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(data)
    return json.loads(data)


def test_sarif_is_valid_against_the_schema(tmp_path, tmp_path_factory, bad, dlgen):
    import jsonschema

    schema = _sarif_schema(tmp_path_factory)
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  a:\n    image: vllm/vllm-openai:v0.11.0\n")
    proc = dlgen("lint", "--format", "sarif", bad, compose, cwd=tmp_path)
    assert proc.returncode == 1
    log = json.loads(proc.stdout)
    jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)
    run = log["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(ids) >= 38 and all(r["fullDescription"]["text"] for r in run["tool"]["driver"]["rules"])
    for res in run["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    assert {r["ruleId"] for r in run["results"]} >= {"DLG004", "DLG101"}
    empty = dlgen("lint", "--format", "sarif", ROOT / "samples" / "llama-8b-serve" / "Dockerfile")
    jsonschema.validate(json.loads(empty.stdout), schema, cls=jsonschema.Draft4Validator)


def test_github_annotations(bad, dlgen):
    out = dlgen("lint", "--format", "github", bad).stdout.splitlines()
    assert out and all(l.startswith(("::error ", "::warning ", "::notice ")) for l in out)
    assert any(l.startswith("::warning file=") and ",line=4," in l and "title=DLG004 shell-form-command::" in l
               for l in out)


def test_text_has_no_colour_when_piped_or_no_color(bad, dlgen):
    out = dlgen("lint", bad).stdout
    assert "\033[" not in out and f"{bad}:4:1: DLG004 warning:" in out
    env = dict(os.environ, NO_COLOR="1")
    assert "\033[" not in dlgen("lint", bad, env=env).stdout


def test_text_colour_on_a_terminal(bad):
    import pty

    code = "import sys; from dlgen.cli import main; main(sys.argv[1:])"
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-c", code, "lint", str(bad)], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    assert b"\033[33mwarning\033[0m" in out


# ---------------------------------------------------------------------------- --fix / --diff
def test_fix_writes_atomically_only_what_it_names(tmp_path, bad, dlgen):
    other = tmp_path / "run.sh"
    other.write_text("docker run --rm --restart always my/x:1\n")
    mode = 0o640
    bad.chmod(mode)
    diff = dlgen("lint", "--diff", "--unsafe-fixes", bad, other)
    assert diff.returncode == 0 and bad.read_text() == BAD, "--diff writes nothing"
    assert '-CMD python serve.py\n' in diff.stdout and '+CMD ["python", "serve.py"]\n' in diff.stdout
    assert '+RUN pip install --no-cache-dir "numpy>=1.26"' in diff.stdout
    proc = dlgen("lint", "--fix", "--unsafe-fixes", bad, other)
    fixed = bad.read_text()
    assert fixed.splitlines()[:2] == BAD.splitlines()[:2], "untouched lines stay"
    assert 'CMD ["python", "serve.py"]' in fixed and '"numpy>=1.26"' in fixed
    assert "HEALTHCHECK" not in fixed, "no probe is guessed for an app whose endpoints dlgen does not know"
    assert "fixed DLG004" in proc.stderr and "fixed DLG037" in proc.stderr
    assert bad.stat().st_mode & 0o777 == mode
    assert other.read_text() == "docker run --rm --restart always my/x:1\n", "run files are never rewritten"
    assert not list(tmp_path.glob(".*dlgen-tmp")), "no temporary file left behind"
    assert proc.returncode == 1, "unfixable findings remain (DLG102 in run.sh)"
    # idempotent
    again = dlgen("lint", "--fix", "--unsafe-fixes", bad)
    assert bad.read_text() == fixed and "fixed" not in again.stderr


def test_fix_applies_safe_fixes_and_unsafe_ones_only_when_asked(tmp_path, bad, dlgen):
    """--fix leaves what may change the image's behaviour (exec form, a quoted version spec) and
    says so; --unsafe-fixes applies it; every fixable rule states its class and why."""
    proc = dlgen("lint", "--fix", bad)
    fixed = bad.read_text()
    assert "fixed DLG030" in proc.stderr and "--no-cache-dir" in fixed            # safe: where pip keeps its cache
    assert "CMD python serve.py" in fixed and "fixed DLG004" not in proc.stderr   # unsafe: left, and said
    assert "--unsafe-fixes applies them" in proc.stderr and proc.returncode == 1
    assert "DLG004" in proc.stdout
    proc = dlgen("lint", "--fix", "--unsafe-fixes", bad)
    assert "fixed DLG004" in proc.stderr and 'CMD ["python", "serve.py"]' in bad.read_text()
    refused = dlgen("lint", "--unsafe-fixes", bad)
    assert refused.returncode == 2 and "add --fix" in refused.stderr and "Traceback" not in refused.stderr
    rules = [r for r in lint.load_rules() if r.fixable]
    assert {r.fix_safety for r in rules} == {"safe", "unsafe"} and all(r.fix_why for r in rules)
    assert {r.id for r in rules if not r.unsafe_fix} >= {"DLG030", "DLG036"}
    assert {r.id for r in rules if r.unsafe_fix} >= {"DLG010", "DLG012", "DLG014", "DLG017"}
    page = dlgen("explain", "DLG010").stdout
    assert "Fix safety: unsafe:" in page and "--unsafe-fixes" in page


def test_a_fixable_rule_without_a_safety_class_is_refused(tmp_path, dlgen):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x900.py").write_text('ID = "X900"\nNAME = "x"\nSEVERITY = "info"\nTARGET = "dockerfile"\n'
                                   'WHY = "w"\nFIXABLE = True\nFAIL = []\nPASS = []\n'
                                   'def check(doc, ctx):\n    return ()\n')
    (tmp_path / ".dlgen.yaml").write_text(f"rule-dirs: [{rules}]\n")
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    proc = dlgen("lint", "--config", tmp_path / ".dlgen.yaml", tmp_path / "Dockerfile")
    assert proc.returncode == 2 and "FIX_SAFETY" in proc.stderr


def test_fix_keeps_crlf(tmp_path, dlgen):
    p = tmp_path / "Dockerfile"
    p.write_bytes(b"FROM python:3.11-slim\r\nRUN pip install numpy\r\nCMD [\"python\"]\r\n")
    dlgen("lint", "--fix", "--unsafe-fixes", p)
    data = p.read_bytes()
    assert b"--no-cache-dir" in data and data.count(b"\r\n") == 3 and b"\n" not in data.replace(b"\r\n", b"")


# ---------------------------------------------------------------------------- bad input
def test_bad_inputs_other_files_still_linted(tmp_path, bad, dlgen):
    (tmp_path / "bin").write_bytes(b"\x00\x01binary")
    (tmp_path / "latin1.Dockerfile").write_bytes("FROM python:3.11\n# caf\xe9\n".encode("latin-1"))
    (tmp_path / "empty.Dockerfile").write_text("")
    (tmp_path / "compose.yaml").write_text("name: x\nvolumes: {}\n")
    (tmp_path / "adir").mkdir()
    paths = [tmp_path / "bin", tmp_path / "latin1.Dockerfile", tmp_path / "empty.Dockerfile",
             tmp_path / "compose.yaml", tmp_path / "adir", tmp_path / "missing", bad]
    proc = dlgen("lint", "--format", "json", *paths)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    err = proc.stderr
    for needle in ("binary file", "not UTF-8", "no such file", "no Dockerfile, compose file, Kubernetes manifest or script",
                   "not a compose file", "empty file"):
        assert needle in err, needle
    assert len(err.strip().splitlines()) == 6, "one line per bad input"
    findings = json.loads(proc.stdout)
    assert {"DLG004", "DLG037"} <= {f["rule"] for f in findings if f["file"] == str(bad)}
    good = dlgen("lint", ROOT / "samples" / "llama-8b-serve" / "Dockerfile")
    assert good.returncode == 0
    # each bad input alone: one line, exit 2; a good file next to it: its findings still printed
    for p in paths[:-1]:
        alone = dlgen("lint", p, bad)
        assert alone.returncode == 2 and "DLG004" in alone.stdout, p
        assert len(alone.stderr.strip().splitlines()) == 1 and "Traceback" not in alone.stderr, alone.stderr


@pytest.mark.parametrize("args,needle", [
    (["--format", "xml"], "unknown format"),
    (["--failure-threshold", "fatal"], "failure threshold"),
    (["--file-kind", "podfile"], "unknown kind"),
    (["--disable", "DLG999"], "unknown rule"),
    (["--config", "/nonexistent.yaml"], "does not exist"),
    (["--docker-version", "abc"], "--docker-version"),
])
def test_bad_options(bad, dlgen, args, needle):
    assert_one_line_error(dlgen("lint", *args, bad), needle)


# ---------------------------------------------------------------------------- explain, reference
def test_explain_rule_page(dlgen):
    out = dlgen("explain", "DLG012").stdout
    assert "start-period-too-short" in out and "Why is this bad" in out and "Fails:" in out and "Passes:" in out
    assert dlgen("explain", "pip-cache").stdout.startswith("DLG030 pip-cache")
    assert len(dlgen("explain", "--list").stdout.splitlines()) >= 38
    assert_one_line_error(dlgen("explain", "DLG998"), "unknown rule")


def test_rule_reference_is_current():
    from dlgen import ruledocs

    assert ruledocs.main(["--check"]) == 0, "docs/rules.md is stale: python -m dlgen.ruledocs"
    assert "docs/rules.md" in (ROOT / "README.md").read_text(), "the README links the rule reference"


# ---------------------------------------------------------------------------- pre-commit
def test_pre_commit_hook(tmp_path):
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    if not Path(pre_commit).exists():
        pytest.skip("pre-commit is not installed")
    repo = tmp_path / "project"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], cwd=repo, check=True)
    (repo / "Dockerfile").write_text(BAD)
    (repo / "notes.txt").write_text("CMD python x.py\n")
    (repo / "docker").mkdir()
    (repo / "docker" / "compose.yaml").write_text("services:\n  a:\n    image: vllm/vllm-openai:v0.11.0\n")
    # YAML: a Kubernetes manifest is linted by its content, whatever its name; other YAML is skipped
    (repo / "deploy").mkdir()
    (repo / "deploy" / "serving.yml").write_text((ROOT / "tests" / "data" / "k8s" / "lws-sglang.yaml").read_text())
    (repo / ".github").mkdir()
    (repo / ".github" / "ci.yaml").write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n")
    (repo / "kind.yaml").write_text("kind: Cluster\nnodes: [{role: control-plane}]\n")   # kind, no apiVersion
    (repo / "serve.sh").write_text("#!/bin/sh\ndocker run -d --gpus all vllm/vllm-openai:latest --model m\n")
    subprocess.run(git + ["add", "."], cwd=repo, check=True)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"))
    proc = subprocess.run([pre_commit, "try-repo", str(ROOT), "dlgen-lint", "--all-files", "--verbose"], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "DLG004" in out and "DLG101" in out and "notes.txt" not in out
    assert "deploy/serving.yml:" in out and "DLG136" in out, out   # the LeaderWorkerSet's worker has no probe
    assert "serve.sh:2:1: DLG020" in out, out                      # shell scripts too, as `dlgen lint DIR`
    assert "ci.yaml" not in out and "kind.yaml" not in out
    (repo / "Dockerfile").write_text((ROOT / "samples" / "llama-8b-serve" / "Dockerfile").read_text())
    (repo / "docker" / "compose.yaml").write_text((ROOT / "samples" / "llama-8b-serve" / "compose.yaml").read_text())
    (repo / "deploy" / "serving.yml").write_text((ROOT / "samples" / "llama-405b-vllm-2-nodes" / "k8s.yaml").read_text())
    (repo / "serve.sh").write_text("#!/bin/sh\ndocker run -d --restart unless-stopped --gpus all --ipc=host "
                                   "-v hf:/root/.cache/huggingface vllm/vllm-openai:v0.11.0 --model m\n")
    subprocess.run(git + ["add", "."], cwd=repo, check=True)
    proc = subprocess.run([pre_commit, "try-repo", str(ROOT), "dlgen-lint", "--all-files"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lint_import_path_is_light():
    """pre-commit runs dlgen lint on every commit: it must not import the Docker SDK or Jinja."""
    code = ("import sys\nfrom dlgen.cli import main\ntry:\n    main(['lint', sys.argv[1], sys.argv[2]])\n"
            "except SystemExit:\n    pass\nheavy = [m for m in ('docker', 'jinja2', 'requests', 'pydantic', 'rich') "
            "if m in sys.modules]\nprint('HEAVY=' + ','.join(heavy))\n")
    sample = ROOT / "samples" / "llama-8b-serve"
    proc = subprocess.run([sys.executable, "-c", code, str(sample / "Dockerfile"), str(sample / "compose.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "HEAVY=", f"heavy modules imported: {proc.stdout}"


def test_benchmarks_md_is_rendered_from_the_recorded_run():
    """BENCHMARKS.md is written by `python -m bench` from bench/results.json: they never disagree."""
    sys.path.insert(0, str(ROOT))
    from bench.__main__ import render

    saved = json.loads((ROOT / "bench" / "results.json").read_text())
    assert (ROOT / "BENCHMARKS.md").read_text() == render(saved["rows"], saved["machine"], saved.get("partial_runs"))
    rows = {r["row"]: r for r in saved["rows"]}
    assert any(k.startswith("lint ") and k.endswith("one call") for k in rows)
    assert any(k.startswith("time to healthy") for k in rows) and any(k.startswith("fuzz") for k in rows)


def _doc_rule():
    """The worked custom rule in docs/writing-rules.md, as the doc shows it."""
    import re

    text = (ROOT / "docs" / "writing-rules.md").read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_worked_custom_rule_from_the_docs_loads_through_rule_dirs(tmp_path, dlgen):
    (tmp_path / ".git").mkdir()
    (tmp_path / "lint" / "rules").mkdir(parents=True)
    (tmp_path / "lint" / "rules" / "org001_owner_label.py").write_text(_doc_rule())
    (tmp_path / ".dlgen.yaml").write_text("rule-dirs: [lint/rules]\n")
    (tmp_path / "Dockerfile").write_text('FROM python:3.11-slim\nUSER 1000\nCMD ["python", "serve.py"]\n')
    proc = dlgen("lint", "--format", "json", "Dockerfile", cwd=tmp_path)
    assert "ORG001" in rules_of(proc) and proc.returncode == 1, proc.stdout + proc.stderr
    (tmp_path / "Dockerfile").write_text('FROM python:3.11-slim\nLABEL org.opencontainers.image.authors="a@b"\n'
                                         'USER 1000\nCMD ["python", "serve.py"]\n')
    assert "ORG001" not in rules_of(dlgen("lint", "--format", "json", "Dockerfile", cwd=tmp_path))
    page = dlgen("explain", "ORG001", cwd=tmp_path)
    assert page.returncode == 0 and "owner-label" in page.stdout and "LABEL org.opencontainers" in page.stdout
    assert "ORG001" in dlgen("explain", "--list", cwd=tmp_path).stdout


def test_custom_rule_reusing_a_builtin_id_is_refused(tmp_path, dlgen):
    (tmp_path / ".git").mkdir()
    rules = tmp_path / "lint"
    rules.mkdir()
    (rules / "mine.py").write_text(_doc_rule().replace('ID = "ORG001"', 'ID = "DLG004"'))
    (tmp_path / ".dlgen.yaml").write_text("rule-dirs: [lint]\n")
    (tmp_path / "Dockerfile").write_text('FROM python:3.11-slim\nCMD ["python"]\n')
    for args in (["lint", "Dockerfile"], ["explain", "DLG004"]):
        line = assert_one_line_error(dlgen(*args, cwd=tmp_path), "DLG004", "already defined")
        assert "mine.py" in line and "dlg004_shell_form_command.py" in line


# ---------------------------------------------------------------------------- cold start
def _cold(args, env):
    """`dlgen lint ARGS` in a fresh interpreter; what it printed and which heavy modules it imported."""
    code = ("import sys\nfrom dlgen import cli\ntry:\n    cli.main(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    code = e.code\nprint('MODULES', *sorted(m for m in ('typer', 'click', 'ruamel', 'jinja2', 'docker') "
            "if m in sys.modules), file=sys.stderr)\nsys.exit(code)")
    return subprocess.run([sys.executable, "-c", code, "lint", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cold_lint_imports_no_cli_framework_and_reads_its_data_from_the_cache(tmp_path):
    """`dlgen lint FILE` (pre-commit's call) is read without typer/click; after the first run the data
    files come from the JSON cache, so no YAML parser is imported either."""
    f = tmp_path / "Dockerfile"
    f.write_text(BAD)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("DLGEN_NO_CACHE", None)
    first = _cold([f], env)
    assert first.returncode == 1 and "DLG004" in first.stdout, first.stderr
    assert "typer" not in first.stderr and "click" not in first.stderr, first.stderr
    kept = sorted(p.name.split("-")[0] for p in (tmp_path / "cache" / "dlgen").glob("*.json"))
    assert kept == ["gpus", "images", "models", "servers"], kept
    second = _cold([f], env)
    assert second.stdout == first.stdout
    assert second.stderr.strip().endswith("MODULES"), second.stderr   # none of them


def test_the_data_cache_follows_the_file_and_never_stops_a_run(tmp_path):
    """An edited data file is read again (the cache is keyed by its bytes); a broken one is still one
    line and exit 2 with a cache of the good one present; a cache that cannot be written is skipped."""
    data = tmp_path / "data"
    data.mkdir()
    shipped = (ROOT / "dlgen" / "data" / "servers.yaml").read_text()
    (data / "servers.yaml").write_text(shipped)
    f = tmp_path / "Dockerfile"
    f.write_text(BAD)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), DLGEN_DATA_DIR=str(data))
    env.pop("DLGEN_NO_CACHE", None)
    assert _cold([f], env).returncode == 1
    (data / "servers.yaml").write_text(shipped + "\nbogus_top_key: 1\n")
    broken = _cold([f], env)
    said = "\n".join(line for line in broken.stderr.splitlines() if not line.startswith("MODULES"))
    assert_one_line_error(subprocess.CompletedProcess([], broken.returncode, broken.stdout, said), "servers.yaml",
                          "bogus_top_key")
    (data / "servers.yaml").write_text(shipped)
    explained = [subprocess.run([sys.executable, "-m", "dlgen", "explain", "137"], capture_output=True, text=True,
                                env=env, timeout=60).stdout for _ in range(2)]
    assert explained[0] == explained[1] and "OOM" in explained[0], "a table keyed by numbers reads the same twice"
    (tmp_path / "cache").chmod(0o500)
    try:
        ro = _cold([f], dict(env, XDG_CACHE_HOME=str(tmp_path / "cache" / "sub")))
    finally:
        (tmp_path / "cache").chmod(0o700)
    assert ro.returncode == 1 and "DLG004" in ro.stdout and "error" not in ro.stderr.lower(), ro.stderr


@pytest.mark.parametrize("args,needle", [
    (["--no-such-option", "FILE"], "unrecognized arguments: --no-such-option"),
    ([], "missing argument PATHS"),
    (["FILE", "--format"], "--format"),
])
def test_lint_usage_errors_are_one_line(dlgen, tmp_path, args, needle):
    f = tmp_path / "Dockerfile"
    f.write_text(BAD)
    line = assert_one_line_error(dlgen("lint", *[f if a == "FILE" else a for a in args]), needle)
    assert "dlgen lint --help" in line
