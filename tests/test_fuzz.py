"""Fuzzing as tests (hypothesis, fixed seed, bounded budget): mutated real files and generated
Dockerfile / compose / docker run text never make `dlgen lint` raise or hang, `--fix` output always
reparses, and any `dlgen new` input gives a bundle that lints clean or one clear error.

DLGEN_FUZZ_EXAMPLES raises the budget for a longer run (BENCHMARKS.md records one)."""

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from dlgen import bundle, lint
from dlgen import spec as spec_mod
from dlgen.errors import DlgenError
from dlgen.sources import NotCompose, SourceError, parse_dockerfile

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "real"
RULES = lint.load_rules()
EXAMPLES = int(os.environ.get("DLGEN_FUZZ_EXAMPLES", "60"))
PER_INPUT_S = 5.0   # a generous bound for one input (typical: milliseconds)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _corpus(kind):
    if not SHARED.is_dir():
        return []
    out = []
    for p in sorted(SHARED.rglob("*")):
        if p.is_file() and p.name != "MANIFEST.tsv" and lint.classify(p) is not None:
            k = lint.classify(p, p.read_text(encoding="utf-8", errors="replace"))
            k = "run" if k in ("shell", "makefile", "markdown") else k
            if k == kind:
                out.append(p.read_text(encoding="utf-8", errors="replace"))
    return out


DOCKERFILES = _corpus("dockerfile")
COMPOSES = _corpus("compose")
RUNS = _corpus("run")

INSTRUCTIONS = ["FROM", "RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK", "ENV", "ARG", "EXPOSE", "USER", "LABEL", "COPY",
                "WORKDIR", "SHELL", "STOPSIGNAL", "ONBUILD", "VOLUME"]
TOKENS = ["pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime", "nvidia/cuda:12.4.1-runtime-ubuntu22.04", "vllm/vllm-openai",
          "--start-period=30s", "--start-interval=2s", "--interval=5s", "--timeout=10s", "--retries=0", "CMD",
          "curl -f http://localhost:$PORT/health", '["python", "-c", "x"]', "pip install torch>=2", "\\", "\n", "&&",
          "||", "'", '"', "$(", "${X:-y}", "<<EOF", "EOF", "--gpus", "all", "-p", "8000:8000", "--rm", "--restart",
          "always", "--shm-size", "1g", "-e", "HF_TOKEN=hf_x", "meta-llama/Llama-3.1-70B-Instruct", "NONE", "#",
          "# dlgen: ignore=DLG004", "# escape=`", "\r\n", "\t", "é", "\x00", "services:", "  a:", "    image: x",
          "deploy:", "  gpus: all", "healthcheck:", "  test:", "- CMD", "docker run", "nvidia-docker run", "-d",
          # characters other splitters read as line ends and BuildKit does not (issue 10)
          "\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r", "\ufeff",
          "&a", "*a", "<<: *a", "? ", "[[[[", "{{", "```", "~~~"]


def _mutate(text: str, data) -> str:
    """Splice, delete, duplicate or inject tokens into ``text``."""
    lines = text.split("\n") or [""]
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["insert", "delete", "dup", "splice", "truncate", "swap"]))
        i = data.draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "insert":
            lines.insert(i, data.draw(st.lists(st.sampled_from(TOKENS + INSTRUCTIONS), max_size=6).map(" ".join)))
        elif op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "splice":
            cut = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + data.draw(st.sampled_from(TOKENS)) + lines[i][cut:]
        elif op == "truncate":
            lines = lines[: i + 1]
        elif op == "swap" and len(lines) > 1:
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _lint_bounded(text, kind):
    t0 = time.monotonic()
    try:
        findings, crashes = lint.lint_text(text, "fuzz", kind, RULES, lint.Context())
    except NotCompose:  # YAML that is not compose: reported as bad input (exit 2), not a crash
        return []
    assert time.monotonic() - t0 < PER_INPUT_S, "lint took too long on one input"
    assert not crashes, crashes
    for f in findings:
        assert f.line >= 1 and f.rule and f.severity in lint.SEVERITIES
    return findings


def _fix_reparses(text):
    if any(f.rule == "DLG000" for f in _lint_bounded(text, "dockerfile")):
        return
    fixed, _ = lint.fix_text(text, "fuzz", "dockerfile", RULES, lint.Context(), unsafe=True)
    try:
        parse_dockerfile(fixed)
    except SourceError as exc:  # pragma: no cover - the assertion message is the point
        raise AssertionError(f"--fix output does not parse: {exc}\n{fixed}") from None
    before, after = parse_dockerfile(text), parse_dockerfile(fixed)
    assert len(after.instrs) >= len(before.instrs), "--fix never drops an instruction"
    left = [i.original for i in after.instrs]
    edited = {n for f in lint.fix_text(text, "fuzz", "dockerfile", RULES, lint.Context(), unsafe=True)[1] for e in f.fix
              for n in range(e.start, max(e.start, e.end) + 1)}
    if not edited:
        assert [i.original for i in before.instrs] == left
    again, applied = lint.fix_text(fixed, "fuzz", "dockerfile", RULES, lint.Context(), unsafe=True)
    assert again == fixed and not applied, "--fix is idempotent"


@pytest.mark.skipif(not DOCKERFILES, reason="../shared is absent (real corpus)")
@seed(20261123)
@FUZZ
@given(st.data())
def test_mutated_real_dockerfiles(data):
    text = _mutate(data.draw(st.sampled_from(DOCKERFILES)), data)
    _lint_bounded(text, "dockerfile")
    _fix_reparses(text)


@pytest.mark.skipif(not COMPOSES, reason="../shared is absent (real corpus)")
@seed(20261124)
@FUZZ
@given(st.data())
def test_mutated_real_compose_files(data):
    _lint_bounded(_mutate(data.draw(st.sampled_from(COMPOSES)), data), "compose")


@pytest.mark.skipif(not RUNS, reason="../shared is absent (real corpus)")
@seed(20261125)
@FUZZ
@given(st.data())
def test_mutated_real_run_lines(data):
    text = _mutate(data.draw(st.sampled_from(RUNS)), data)
    for flavour in ("shell", "makefile", "markdown"):
        _lint_bounded(text, flavour)


@st.composite
def dockerfiles(draw):
    """Dockerfiles made from instruction-shaped lines."""
    n = draw(st.integers(1, 12))
    lines = []
    for _ in range(n):
        ins = draw(st.sampled_from(INSTRUCTIONS))
        args = draw(st.lists(st.sampled_from(TOKENS), max_size=5))
        lines.append(f"{ins} {' '.join(args)}")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))


@st.composite
def commented_continuations(draw):
    """Dockerfiles whose continued instructions hold comment lines (and blank lines) between their
    parts, as people write them: BuildKit skips those lines, and --fix must keep every one."""
    lines = ["FROM " + draw(st.sampled_from(["python:3.11-slim", "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime",
                                             "ubuntu:22.04"]))]
    for k in range(draw(st.integers(1, 5))):
        ins = draw(st.sampled_from(["RUN pip install", "RUN apt-get install -y", "CMD python", "ENTRYPOINT python",
                                    "ENV DEBIAN_FRONTEND=noninteractive", "RUN pip3 install torch>=2.1",
                                    "HEALTHCHECK CMD curl", "RUN uv pip install", "ENV A=1"]))
        parts = draw(st.lists(st.sampled_from(["numpy", "torch>=2.1", "'x<2'", "app.py", "-y", "curl",
                                               "http://localhost:8000/health", "B=2"]), min_size=1, max_size=4))
        body = [f"{ins} \\"]
        for j, part in enumerate(parts):
            for _ in range(draw(st.integers(0, 2))):
                body.append(draw(st.sampled_from([f"  # comment {k}.{j}: it's pip install torch>=2 here",
                                                  f"# {k}.{j} apt-get install foo", "    ", f"\t# {k}.{j}"])))
            body.append(f"    {part}" + (" \\" if j < len(parts) - 1 else ""))
        lines += body
    return "\n".join(lines) + "\n"


@seed(20261207)
@FUZZ
@given(commented_continuations())
def test_fix_keeps_every_comment_line_inside_continued_instructions(text):
    from collections import Counter

    from dlgen.textfile import lines as file_lines
    from dlgen.textfile import lstrip

    if any(f.rule == "DLG000" for f in _lint_bounded(text, "dockerfile")):
        return
    fixed, _ = lint.fix_text(text, "fuzz", "dockerfile", RULES, lint.Context(), unsafe=True)
    comments = Counter(ln for ln in file_lines(text) if lstrip(ln).startswith("#"))
    kept = Counter(ln for ln in file_lines(fixed) if lstrip(ln).startswith("#"))
    assert not comments - kept, f"--fix lost or changed comment lines {comments - kept}:\n{text}\n---\n{fixed}"
    _fix_reparses(text)


@seed(20261126)
@FUZZ
@given(dockerfiles())
def test_generated_dockerfiles(text):
    _lint_bounded(text, "dockerfile")
    _fix_reparses(text)


@seed(20261130)
@FUZZ
@given(st.lists(st.lists(st.sampled_from(TOKENS + ["docker run", "--gpus all", "img:1", "$VAR"]), max_size=8)
                .map(" ".join), max_size=10), st.sampled_from(["```bash", "```", "~~~sh", "    "]))
def test_generated_markdown(lines, fence):
    if fence.strip():
        text = "# Title\n\n" + fence + "\n" + "\n".join(lines) + "\n" + fence[:3] + "\n"
    else:
        text = "# Title\n\n" + "\n".join(fence + line for line in lines) + "\n"
    _lint_bounded(text, "markdown")


@seed(20261127)
@FUZZ
@given(st.lists(st.sampled_from(TOKENS + ["--ipc=host", "--privileged", "-v", "/var/run/docker.sock:/x", "my/img:1",
                                          "python", "train.py", "--runtime=nvidia", "--gpus=all"]), max_size=14))
def test_generated_docker_run_lines(words):
    _lint_bounded("docker run " + " ".join(words) + "\n", "shell")


@seed(20261128)
@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
                        st.sampled_from(["image", "command", "deploy", "resources", "reservations", "devices",
                                         "capabilities", "count", "device_ids", "healthcheck", "test", "ports",
                                         "environment", "restart", "depends_on", "shm_size", "ipc", "gpus"]),
                        kids, max_size=4), max_leaves=20))
def test_generated_compose_structures(tree):
    import io

    from ruamel.yaml import YAML

    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump({"services": {"svc": tree, "other": {"image": "x", "depends_on": ["svc"]}}},
                                     buf)
    _lint_bounded(buf.getvalue(), "compose")


# ---------------------------------------------------------------------------- the generator
NEW_VALUES = {
    "model": st.one_of(st.sampled_from(["llama-8b", "resnet50", "whisper-large-v3", "meta-llama/Llama-3.1-8B",
                                        "org/thing-13b", "nope", "", "llama 8b", "a\nb", "x'y",
                                        "org/x-8b\u2028name: pwned", "org/x-8b\x85k: v", "llama-8b\n"]),
                       st.text(max_size=8)),
    "name": st.one_of(st.none(), st.sampled_from(["ok-name", "bad\n", "x\u2028y", "UP", "a" * 70]),
                      st.text(max_size=6)),
    "image": st.one_of(st.none(), st.sampled_from(["repo/img:1", "localhost:5000/a/b:2", "x y", "a\u2029b"])),
    "params": st.one_of(st.none(), st.sampled_from(["8B", "1.5b", "350M", "0", "-3B", "lots", "1e12"])),
    "dtype": st.one_of(st.none(), st.sampled_from(["bf16", "fp8", "int4", "float32", "fp7", ""])),
    "kind": st.sampled_from(["serve", "train", "notebook", "tensorboard", "dev", "batch", ""]),
    "server": st.one_of(st.none(), st.sampled_from(["python", "fastapi", "vllm", "tgi", "jupyter", "trainer", "x"])),
    "torch": st.one_of(st.none(), st.sampled_from(["2.6", "2.4.1", "1.13", "9.9.9", "abc"])),
    "cuda": st.one_of(st.none(), st.sampled_from(["12.4", "cu128", "11.8", "13.0", "12", "x"])),
    "port": st.one_of(st.none(), st.integers(-5, 70000)),
    "gpus": st.one_of(st.none(), st.sampled_from(["all", "2", "0,1", "device=0", "-1", "x"])),
    "restart": st.one_of(st.none(), st.sampled_from(["no", "always", "on-failure:3", "sometimes", "always\n"])),
    "shm_size": st.one_of(st.none(), st.sampled_from(["8g", "512m", "1", "big", "8g\n", "\u0662g"])),
    "docker_version": st.one_of(st.none(), st.sampled_from(["24", "26.1", "x"])),
    "start_period": st.one_of(st.none(), st.integers(-10, 5000)),
}


@seed(20261129)
@settings(max_examples=max(20, EXAMPLES // 3), deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries(NEW_VALUES))
def test_generator_inputs_give_a_clean_bundle_or_one_clear_error(opts):
    try:
        spec = spec_mod.build(**opts)
        files = bundle.render(spec, "dlgen new (fuzz)")
    except DlgenError as exc:
        line = exc.line()
        assert line and "\n" not in line and "Traceback" not in line
        return
    for text in files.values():   # nothing a YAML or shell reader takes for a line end reached a file
        assert not set(text) & {"\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\r"}, opts
    findings, crashes = lint.lint_text(files["Dockerfile"], "Dockerfile", "dockerfile", RULES,
                                       lint.Context(docker_version=spec.docker_version))
    assert not crashes
    bad = [f for f in findings if f.severity != "info"]
    assert not bad, (opts, [(f.rule, f.message) for f in bad])
    for name in ("compose.yaml", "run.sh"):
        kind = "compose" if name.endswith(".yaml") else "shell"
        findings, crashes = lint.lint_text(files[name], name, kind, RULES, lint.Context())
        assert not crashes and not [f for f in findings if f.severity != "info"], \
            (opts, name, [(f.rule, f.message) for f in findings])
