"""dlgen lint: every rule's own examples, the corpora, ignores, exit codes and bad input."""

import json

import pytest

from dlgen import lint
from tests.conftest import ROOT, assert_one_line_error

RULES = lint.load_rules()


def _lint(text, rule, kind):
    findings, crashes = lint.lint_text(text, "example", kind, [rule], lint.Context())
    assert not crashes, crashes
    return [f for f in findings if f.rule == rule.id]


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples(rule):
    assert rule.module.FAIL and rule.module.PASS, "each rule documents a failing and a passing example"
    assert rule.module.__doc__ and "Why is this bad" in rule.module.__doc__
    for example in rule.module.FAIL:
        assert _lint(example, rule, lint.example_kind(rule, example)), f"{rule.id} should fire on:\n{example}"
    for example in rule.module.PASS:
        assert not _lint(example, rule, lint.example_kind(rule, example)), f"{rule.id} should not fire on:\n{example}"
    for target in rule.carried:   # a rule whose meaning carries over to another target shows it there too
        fails, passes = getattr(rule.module, f"{target.upper()}_FAIL"), getattr(rule.module, f"{target.upper()}_PASS")
        assert fails and passes
        for example in fails:
            kind = "kubernetes" if target == "kubernetes" else lint.example_kind(rule, example, target)
            assert _lint(example, rule, kind), f"{rule.id} should fire on:\n{example}"
        for example in passes:
            kind = "kubernetes" if target == "kubernetes" else lint.example_kind(rule, example, target)
            assert not _lint(example, rule, kind), f"{rule.id} should not fire on:\n{example}"


# Kubernetes rules issue 29 asks for that the catalog's intent table has no row for yet.
K8S_BEYOND_CATALOG = {"group-restart-loops"}
# Rules issue 30 asks for ("real defects no rule covers yet"), their ids assigned as they are implemented.
BEYOND_CATALOG = {"DLG123": "compose-port-conflict", "DLG039": "devel-base-shipped", "DLG040": "undefined-variable",
                  "DLG041": "deleted-in-later-layer"}


def test_rule_ids_are_from_the_catalog(shared):
    catalog = (shared / "spec" / "rules.md").read_text()
    intents = catalog.split("## Kubernetes manifests", 1)[1].split("\n## ", 1)[0]
    for r in RULES:
        if r.target == "kubernetes":   # the catalog lists intents; ids are assigned as they are implemented
            assert r.name in K8S_BEYOND_CATALOG or f"| {r.name} | {r.severity} |" in intents, r.id
            continue
        assert f"| {r.id} | {r.name} | " in catalog or BEYOND_CATALOG.get(r.id) == r.name, r.id


def test_buildkit_parser_cases(shared):
    base = shared / "corpus" / "buildkit-parser"
    valid = sorted((base / "testfiles").iterdir())
    invalid = sorted((base / "testfiles-negative").iterdir())
    assert len(valid) >= 30 and len(invalid) >= 4
    for case in valid:
        findings, _ = lint.lint_text((case / "Dockerfile").read_text(), str(case), "dockerfile", RULES,
                                     lint.Context())
        assert not [f for f in findings if f.rule == "DLG000"], case.name
    for case in invalid:
        findings, _ = lint.lint_text((case / "Dockerfile").read_text(), str(case), "dockerfile", RULES,
                                     lint.Context())
        assert [f.rule for f in findings] == ["DLG000"], case.name


def test_real_corpus_no_crash_every_file_linted(shared, dlgen):
    real = shared / "corpus" / "real"
    files = [p for p in real.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv"]
    assert len(files) == 114
    proc = dlgen("lint", "--format", "json", *[str(p) for p in files])
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr and not proc.stderr.strip(), proc.stderr
    findings = json.loads(proc.stdout)
    assert not [f for f in findings if f["rule"] == "DLG000"], "real Dockerfiles (heredocs, CRLF) parse"
    for f in findings:
        assert {"file", "line", "column", "rule", "name", "severity", "message"} <= f.keys() and f["line"] >= 1


def test_crlf_file(tmp_path, dlgen):
    p = tmp_path / "Dockerfile"
    p.write_bytes(b"FROM python:3.11-slim\r\nEXPOSE 80\r\nCMD python s.py\r\n")
    out = json.loads(dlgen("lint", "--format", "json", p).stdout)
    assert {(f["rule"], f["line"]) for f in out} >= {("DLG004", 3), ("DLG010", 3)}


def test_generated_bundles_lint_clean(dlgen):
    proc = dlgen("lint", "--failure-threshold", "warning", ROOT / "samples")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_inline_and_file_ignores(tmp_path, dlgen):
    p = tmp_path / "Dockerfile"
    p.write_text("FROM python:3.11-slim\nEXPOSE 80\n# dlgen: ignore=DLG004\nCMD python s.py\n")
    rules = {f["rule"] for f in json.loads(dlgen("lint", "--format", "json", p).stdout)}
    assert "DLG004" not in rules and "DLG010" in rules
    p.write_text("# dlgen: ignore-file=DLG010\nFROM python:3.11-slim\nEXPOSE 80\nCMD python s.py\n")
    rules = {f["rule"] for f in json.loads(dlgen("lint", "--format", "json", p).stdout)}
    assert "DLG010" not in rules and "DLG004" in rules


def test_exit_codes(tmp_path, dlgen):
    good = tmp_path / "Dockerfile"
    good.write_text('FROM python:3.11-slim\nCMD ["python", "train.py"]\n')
    assert dlgen("lint", good).returncode == 0
    bad = tmp_path / "run.sh"
    bad.write_text("#!/bin/sh\ndocker run --rm --restart always --gpus all --ipc=host x/y:1\n")
    proc = dlgen("lint", bad)
    assert proc.returncode == 1 and "DLG102" in proc.stdout


def test_run_lines_from_makefile_and_markdown(tmp_path, dlgen):
    mk = tmp_path / "Makefile"
    mk.write_text("IMG=pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nrun:\n\tdocker run --gpus all \\\n"
                  "\t  -v $(PWD):/app $(IMG) python train.py\n")
    md = tmp_path / "README.md"
    md.write_text("Run it:\n\n```bash\ndocker run -p 8000:8000 \\\n  vllm/vllm-openai:v0.11.0 --model x\n```\n")
    out = json.loads(dlgen("lint", "--format", "json", mk, md).stdout)
    got = {(f["file"].rsplit("/", 1)[-1], f["rule"], f["line"]) for f in out}
    assert ("Makefile", "DLG105", 3) in got
    assert ("README.md", "DLG101", 4) in got


def test_unknown_format(dlgen, tmp_path):
    assert_one_line_error(dlgen("lint", "--format", "xml", tmp_path), "format")
