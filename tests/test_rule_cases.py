"""The cases of ../shared/spec/rules.md, one test each where a rule's own examples do not already
say it: severity variants, where DLG012/DLG121 find the model, the same run configuration
written four ways, and --fix for every rule marked fixable."""

import textwrap

import pytest

from dlgen import lint, timing
from dlgen.catalog import find
from dlgen.reference import servers
from dlgen.sources import parse_dockerfile

RULES = {r.id: r for r in lint.load_rules()}


def run(rule_id, text, kind="dockerfile", **ctx):
    findings, crashes = lint.lint_text(textwrap.dedent(text), "x", kind, [RULES[rule_id]], lint.Context(**ctx))
    assert not crashes, crashes
    return findings


# Catalog rules whose issue is still open: each must either be absent or match the catalog.
PENDING = {"DLG038": "issue 16 (torch-implicit-cuda)"}


def test_fixable_rules_match_the_catalog(shared):
    catalog = (shared / "spec" / "rules.md").read_text()
    for line in catalog.splitlines():
        if line.startswith("| DLG") and line.count("|") >= 6:
            cells = [c.strip() for c in line.strip("|").split("|")]
            rid, fix = cells[0], cells[-1]
            if rid == "DLG000" or (rid in PENDING and rid not in RULES):
                continue
            assert rid in RULES, f"{rid} from the catalog is implemented"
            assert RULES[rid].fixable == fix.startswith("yes"), rid
            severity = cells[2].split()[0]
            assert RULES[rid].severity == severity, rid


# ---------------------------------------------------------------------------- --fix
@pytest.mark.parametrize("rule", [r for r in RULES.values() if r.fixable], ids=lambda r: r.id)
def test_fix_repairs_reparses_and_is_idempotent(rule):
    repaired = 0
    for example in rule.module.FAIL:
        before = run(rule.id, example)
        fixed, applied = lint.fix_text(example, "Dockerfile", "dockerfile", [rule], lint.Context(), unsafe=True)
        parse_dockerfile(fixed)  # the result still parses
        again, applied_again = lint.fix_text(fixed, "Dockerfile", "dockerfile", [rule], lint.Context(), unsafe=True)
        assert again == fixed and not applied_again, "a second --fix changes nothing"
        if all(f.fix for f in before):
            assert not run(rule.id, fixed), f"{rule.id} still fires after --fix:\n{fixed}"
            repaired += 1
        # only the named change: lines outside the edited spans are untouched
        touched = {n for f in applied for e in f.fix for n in range(e.start, max(e.start, e.end) + 1)}
        kept = [l for n, l in enumerate(example.split("\n"), 1) if n not in touched]
        assert all(l in fixed.split("\n") for l in kept)
    assert repaired, f"{rule.id} repairs at least one of its failing examples"


def test_fix_start_period_uses_the_timing_function():
    text = """\
        FROM vllm/vllm-openai:v0.11.0
        HEALTHCHECK --start-period=60s --start-interval=2s CMD ["curl", "-fsS", "http://localhost:8000/health"]
        CMD ["--model", "meta-llama/Llama-3.1-70B-Instruct"]
        """
    fixed, _ = lint.fix_text(textwrap.dedent(text), "D", "dockerfile", [RULES["DLG012"]], lint.Context(), unsafe=True)
    want = timing.for_server(find("llama-70b").weights_gb, servers()["servers"]["vllm"]).start_period_s
    assert f"--start-period={want}s" in fixed


def test_shell_form_fix_only_where_it_splits_safely():
    assert run("DLG004", 'FROM python:3.11\nCMD python s.py --port $PORT\n')[0].fix == ()
    assert run("DLG004", 'FROM python:3.11\nCMD python s.py && echo done\n')[0].fix == ()
    assert run("DLG004", 'FROM python:3.11\nCMD ["sh", "-c", "a; b"]\n')[0].fix == ()


# ---------------------------------------------------------------------------- severities
def test_dlg001_is_an_error_when_the_image_serves():
    assert run("DLG001", "FROM python:3.11\nCOPY . /app\n")[0].severity == "warning"
    assert run("DLG001", "FROM python:3.11\nEXPOSE 8000\n")[0].severity == "error"
    assert run("DLG001", 'FROM python:3.11\nHEALTHCHECK CMD ["true"]\n')[0].severity == "error"


def test_dlg021_major_is_an_error_minor_a_warning():
    base = "FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime\nRUN pip install --no-cache-dir torch==2.5.1 " \
           "--index-url https://wheels.example/whl/{}\n"
    assert [f.severity for f in run("DLG021", base.format("cu118"))] == ["error"]
    assert [f.severity for f in run("DLG021", base.format("cu121"))] == ["warning"]
    assert run("DLG021", base.format("cu124")) == []
    # a CUDA ARG names the base's CUDA when the tag does not
    assert run("DLG021", "ARG CUDA_VERSION=11.8\nFROM my/base:latest\n"
                         "RUN pip install --no-cache-dir torch==2.1.0+cu121\n")[0].severity == "error"


# ---------------------------------------------------------------------------- DLG012: where the model comes from
SERVE = """\
    FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime
    {extra}
    EXPOSE 8000
    HEALTHCHECK --start-period=30s --start-interval=2s CMD ["python", "/app/probe.py"]
    CMD {cmd}
    """


def _dlg012(extra="", cmd='["python", "/app/server.py"]', **ctx):
    return run("DLG012", SERVE.format(extra=extra, cmd=cmd), **ctx)


@pytest.mark.parametrize("how,kwargs,where", [
    ("--model", dict(ctx=dict(model="llama-8b")), "--model"),
    ("config", dict(ctx=dict(model="llama-8b", model_source="config .dlgen.yaml")), "config"),
    ("LABEL", dict(extra='LABEL ai.dlgen.model="llama-8b"'), "LABEL"),
    ("CMD id", dict(cmd='["python", "serve.py", "--model", "meta-llama/Llama-3.1-8B-Instruct"]'), "command"),
    ("CMD size", dict(cmd='["python", "serve.py", "mistralai/Mistral-7B-v0.3"]'), "command"),
    ("ENV", dict(extra="ENV MODEL_ID=meta-llama/Llama-3.1-8B-Instruct"), "ENV MODEL_ID"),
])
def test_dlg012_model_sources(how, kwargs, where):
    found = _dlg012(kwargs.get("extra", ""), kwargs.get("cmd", '["python", "/app/server.py"]'),
                    **kwargs.get("ctx", {}))
    assert len(found) == 1 and where in found[0].message, (how, found)


def test_dlg012_no_model_no_finding_and_long_enough_passes():
    assert _dlg012() == []
    long_enough = SERVE.format(extra='LABEL ai.dlgen.model="llama-8b"', cmd='["python", "/app/server.py"]') \
        .replace("--start-period=30s", "--start-period=80s")
    assert run("DLG012", long_enough) == []


def test_dlg012_threshold_is_the_load_time_not_the_margin():
    m = find("llama-8b")
    t = timing.for_server(m.weights_gb, servers()["servers"]["python"])
    just_above = SERVE.format(extra='LABEL ai.dlgen.model="llama-8b"', cmd='["python", "/app/server.py"]') \
        .replace("--start-period=30s", f"--start-period={int(t.load_s) + 1}s")
    just_below = just_above.replace(f"--start-period={int(t.load_s) + 1}s", f"--start-period={int(t.load_s) - 1}s")
    assert run("DLG012", just_above) == [] and len(run("DLG012", just_below)) == 1


def test_dlg121_uses_the_same_timing_and_model_sources():
    compose = """\
        services:
          llm:
            image: vllm/vllm-openai:v0.11.0
            command: ["--model", "meta-llama/Llama-3.1-70B-Instruct"]
            gpus: all
            healthcheck:
              test: ["CMD", "curl", "-fsS", "http://localhost:8000/health"]
              start_period: {sp}s
              start_interval: 2s
        """
    load = timing.for_server(find("llama-70b").weights_gb, servers()["servers"]["vllm"]).load_s
    assert len(run("DLG121", compose.format(sp=int(load) - 5), "compose")) == 1
    assert run("DLG121", compose.format(sp=int(load) + 5), "compose") == []
    # the model from --model when the command names none
    small = compose.format(sp=200).replace('["--model", "meta-llama/Llama-3.1-70B-Instruct"]', '["--port", "8000"]')
    assert run("DLG121", small, "compose") == []
    assert len(run("DLG121", small, "compose", model="llama-70b")) == 1


# ---------------------------------------------------------------------------- one RunSpec, four sources
RUN_LINE = "docker run -d -p 8000:8000 --restart always vllm/vllm-openai:v0.11.0 --model x"


@pytest.mark.parametrize("kind,text", [
    ("shell", f"#!/bin/sh\nset -e\n{RUN_LINE}\n"),
    ("shell", "#!/bin/sh\ndocker run -d -p 8000:8000 \\\n  --restart always \\\n  vllm/vllm-openai:v0.11.0 "
              "--model $(cat model.txt)\n"),
    ("makefile", "IMAGE=vllm/vllm-openai:v0.11.0\nserve:\n\tdocker run -d -p 8000:8000 --restart always $(IMAGE) "
                 "--model x\n"),
    ("markdown", f"# Serving\n\n```bash\n{RUN_LINE}\n```\n"),
    ("compose", "services:\n  llm:\n    image: vllm/vllm-openai:v0.11.0\n    restart: always\n"
                "    ports: ['8000:8000']\n    command: [--model, x]\n"),
])
def test_run_rules_see_one_runspec_whatever_the_source(kind, text):
    findings, _ = lint.lint_text(text, "x", kind, list(RULES.values()), lint.Context())
    ids = {f.rule for f in findings}
    if kind == "makefile":  # $(IMAGE) stays opaque: the run line is read, the image is not guessed
        from dlgen.sources import run_lines

        (spec,) = run_lines(text, "makefile")
        assert spec.image == "__MAKEVAR_IMAGE" and spec.restart == "always" and spec.command == ["--model", "x"]
        assert "DLG101" not in ids, "an unknown image is not judged as a GPU server"
        return
    assert "DLG101" in ids, (kind, ids)  # a vLLM image with no GPU request
    assert "DLG105" not in ids  # no GPU request, so no shm judgement


def test_dlg036_trailing_spaces_after_backslash_still_continue():
    assert run("DLG036", "FROM python:3.11\nRUN echo a \\   \n    b\n") == []
    found = run("DLG036", "FROM python:3.11\nRUN echo a \\\n\n    b\n")
    assert [f.line for f in found] == [3]


def test_dlg013_each_case():
    base = 'FROM python:3.11\nHEALTHCHECK {} CMD ["true"]\nCMD ["python", "s.py"]\n'
    assert "not below the interval" in run("DLG013", base.format("--timeout=40s"))[0].message  # default 30s interval
    assert run("DLG013", base.format("--interval=30s --timeout=10s")) == []
    assert "retries" in run("DLG013", base.format("--retries=0"))[0].message
    assert "no effect" in run("DLG013", base.format("--start-interval=2s"))[0].message
    assert run("DLG013", base.format("--interval=3s --timeout=2s --start-period=60s")) == []


def test_dlg016_skipped_for_old_engines():
    text = 'FROM python:3.11\nHEALTHCHECK --start-period=120s CMD ["true"]\nCMD ["python", "s.py"]\n'
    assert run("DLG016", text) and not run("DLG016", text, docker_version=24.0)


def test_dlg122_short_depends_on_form_and_no_healthcheck():
    compose = """\
        services:
          llm:
            image: my/llm:1
            healthcheck: {test: [CMD, "true"], start_period: 60s}
          app:
            image: my/app:1
            depends_on: [llm]
        """
    assert len(run("DLG122", compose, "compose")) == 1
    without = "\n".join(line for line in compose.splitlines() if "healthcheck" not in line) + "\n"
    assert run("DLG122", without, "compose") == []


@pytest.mark.parametrize("line,says", [
    ("docker run --gpus all -p 8000:8000 vllm/vllm-openai:v0.11.0 --model m\n", "the server's workers die"),
    ("docker run --gpus 2 my/infer:1 torchrun --nproc-per-node 2 infer.py\n", "its parallel workers (NCCL) die"),
    ("docker run --gpus all pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime python train.py\n",
     "DataLoader workers and NCCL die"),
])
def test_small_shm_says_what_dies_for_that_container(line, says):
    """Issue 30: a single-GPU vLLM server is not told about DataLoader workers it does not have."""
    (f,) = run("DLG105", line, kind="shell")
    assert says in f.message, f.message
