"""Hostile and odd input (issue 10): --fix edits exactly the lines BuildKit sees and keeps the
file's identity, nothing blows up or hangs, generator input never reaches YAML or shell raw, a
config above the repository is never read, wrong-typed compose values are findings."""

import difflib
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dlgen import lint, textfile
from dlgen.sources import parse_dockerfile
from tests.conftest import ROOT, assert_one_line_error, run_dlgen

RULES = lint.load_rules()
# Characters that Python's str.splitlines() (and other line splitters) treat as line ends but
# BuildKit does not: form feed, vertical tab, file/group/record separators, NEL, LS, PS, lone CR.
NOT_LINE_ENDS = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r"]
MARK = "dlgen-test-marker"


def fix(text, path="Dockerfile"):
    return lint.fix_text(text, path, "dockerfile", RULES, lint.Context(), unsafe=True)[0]


def corpus_dockerfiles(shared):
    out = []
    for p in sorted((shared / "corpus" / "real" / "dockerfile").iterdir()):
        text = p.read_text(encoding="utf-8")
        fixed = fix(text)
        if fixed != text:   # only files a fix changes tell us anything
            out.append((p.name, text, fixed))
    return out


@pytest.fixture(scope="module")
def fixable(shared):
    files = corpus_dockerfiles(shared)
    assert len(files) >= 10, "the corpus has files with fixable findings"
    return files


def _after_first_from(text: str, line: str) -> str:
    """``text`` with ``line`` inserted after the first FROM instruction (parser directives stay first)."""
    doc = parse_dockerfile(text)
    end = next(i.end_line for i in doc.instrs if i.cmd == "FROM")
    recs = textfile.split_lines(text)
    recs.insert(end, (line, "\n"))
    return "".join(c + e for c, e in recs)


def _drop_marker(text: str) -> str:
    return "".join(c + e for c, e in textfile.split_lines(text) if MARK not in c)


# ---------------------------------------------------------------------------- class 1: line model
@pytest.mark.parametrize("char", NOT_LINE_ENDS, ids=[f"U+{ord(c):04X}" for c in NOT_LINE_ENDS])
def test_fix_is_unmoved_by_characters_buildkit_keeps_inside_a_line(fixable, char):
    """A comment holding the character, early in the file, changes nothing about what --fix does."""
    for name, text, fixed in fixable:
        marked = _after_first_from(text, f"# {MARK} a{char}b {char}c")
        got = fix(marked)
        assert _drop_marker(got) == fixed, name
        assert any(MARK in c and char in c for c in textfile.lines(got)), (name, "the comment line is kept whole")


def test_issue_example_form_feed_before_the_fixed_run():
    text = ("FROM python:3.11-slim\n# a comment \x0c with a form feed\n"
            "RUN apt-get update && pip install numpy==1.26.4\nCMD [\"python\"]\n")
    got = fix(text)
    assert got == text.replace("pip install numpy", "pip install --no-cache-dir numpy")


def test_fix_keeps_every_instruction_buildkit_saw(fixable):
    """Parse before and after: instructions outside the edited lines are there with the same text."""
    for name, text, fixed in fixable:
        before, after = parse_dockerfile(text), parse_dockerfile(fixed)
        a_lines, b_lines = textfile.lines(text), textfile.lines(fixed)
        kept = set()
        for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False).get_opcodes():
            if tag == "equal":
                kept |= set(range(i1 + 1, i2 + 1))
        originals = [i.original for i in after.instrs]
        for ins in before.instrs:
            if set(range(ins.line, ins.end_line + 1)) <= kept:
                assert ins.original in originals, (name, ins.original)
        assert len(after.instrs) >= len(before.instrs), name   # fixes add or rewrite, never drop


def test_fix_repairs_the_same_finding_on_several_lines_in_one_run():
    """Found by the long fuzz run: two instructions with the same finding, one also needing another
    fix; the first run must repair both, so that a second run changes nothing."""
    text = ("FROM python:3.11-slim\nRUN pip install --no-cache-dir torch>=2\nRUN echo a && \\\n"
            "    pip install torch>=2 && \\\n    echo b\nCMD [\"python\"]\n")
    once = fix(text)
    assert fix(once) == once
    assert once.count('"torch>=2"') == 2 and once.count("--no-cache-dir") == 2


def test_fix_keeps_crlf_and_mixed_line_ends(fixable):
    for name, text, fixed in fixable[:8]:
        crlf = text.replace("\n", "\r\n")
        assert fix(crlf) == fixed.replace("\n", "\r\n"), name
        marked = _after_first_from(text, f"# {MARK}").replace(f"# {MARK}\n", f"# {MARK}\r\n")
        got = fix(marked)
        assert f"# {MARK}\r\n" in got and _drop_marker(got) == fixed, name


def test_rules_report_buildkit_line_numbers():
    for char in NOT_LINE_ENDS:
        text = f"FROM python:3.11-slim\n# x{char}y\nRUN pip install numpy==1.26.4\nCMD [\"python\"]\n"
        found = lint.lint_text(text, "Dockerfile", "dockerfile", RULES, lint.Context())[0]
        assert {f.line for f in found if f.rule == "DLG030"} == {3}, repr(char)


def test_ignore_comment_above_counts_buildkit_lines():
    text = "FROM python:3.11-slim\n# dlgen: ignore=DLG030 \x0c\u2028 reason\nRUN pip install numpy==1.26.4\n"
    found = lint.lint_text(text, "Dockerfile", "dockerfile", RULES, lint.Context())[0]
    assert "DLG030" not in {f.rule for f in found}


# ---------------------------------------------------------------------------- class 5: file identity
@pytest.fixture
def dockerfile_text():
    return 'FROM python:3.11-slim\nRUN pip install numpy==1.26.4\nCMD ["python"]\n'


def _fixed(text):
    return text.replace("pip install numpy", "pip install --no-cache-dir numpy")


def test_fix_through_a_symlink_fixes_the_target_and_keeps_the_link(tmp_path, dockerfile_text):
    target = tmp_path / "real" / "Dockerfile"
    target.parent.mkdir()
    target.write_text(dockerfile_text)
    link = tmp_path / "Dockerfile"
    link.symlink_to(target)
    proc = run_dlgen("lint", "--fix", "--unsafe-fixes", link)
    assert "error" not in proc.stderr, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == _fixed(dockerfile_text)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
def test_fix_keeps_owner_mode_and_hard_links(tmp_path, dockerfile_text):
    f = tmp_path / "Dockerfile"
    f.write_text(dockerfile_text)
    os.chown(f, 4321, 4321)
    os.chmod(f, 0o640)
    twin = tmp_path / "Dockerfile.twin"
    os.link(f, twin)
    ino = f.stat().st_ino
    run_dlgen("lint", "--fix", "--unsafe-fixes", f)
    st = f.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4321, 4321, 0o640)
    assert st.st_ino == ino and st.st_nlink == 2
    assert twin.read_text() == _fixed(dockerfile_text)


def test_fix_keeps_bom_and_line_ends(tmp_path, dockerfile_text):
    f = tmp_path / "Dockerfile"
    mixed = dockerfile_text.replace("\n", "\r\n", 1)
    f.write_bytes(b"\xef\xbb\xbf" + mixed.encode())
    run_dlgen("lint", "--fix", "--unsafe-fixes", f)
    assert f.read_bytes() == b"\xef\xbb\xbf" + _fixed(mixed).encode()
    again = run_dlgen("lint", "--fix", "--unsafe-fixes", f)
    assert "fixed" not in again.stderr and f.read_bytes() == b"\xef\xbb\xbf" + _fixed(mixed).encode()


def test_read_only_file_is_refused_not_rewritten(tmp_path, dockerfile_text):
    """Refused by its mode bits, so also as root (whom the kernel would let write)."""
    for mode in (0o444, 0o400, 0o555):
        f = tmp_path / f"Dockerfile.{mode:o}"
        f.write_text(dockerfile_text)
        os.chmod(f, mode)
        proc = run_dlgen("lint", "--fix", "--unsafe-fixes", "--file-kind", "dockerfile", f)
        assert_one_line_error(proc, "read-only", "not rewritten")
        assert f.read_text() == dockerfile_text and stat.S_IMODE(f.stat().st_mode) == mode


@pytest.mark.skipif(os.geteuid() != 0, reason="running as another user needs root")
def test_unwritable_directory_is_one_line(dockerfile_text):
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="dlgen-ro-", dir="/tmp"))   # pytest's own tmp is 0700: not for nobody
    os.chmod(top, 0o755)
    d = top / "ro"
    d.mkdir()
    f = d / "Dockerfile"
    f.write_text(dockerfile_text)
    os.chmod(f, 0o666)
    os.chmod(d, 0o555)
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if subprocess.run([*nobody, sys.executable, "-c", "import dlgen"], capture_output=True, cwd="/",
                      env=dict(os.environ, PYTHONPATH=str(ROOT))).returncode != 0:
        pytest.skip("an unprivileged user cannot run this checkout's interpreter (a 0700 directory above it)")
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                           "dlgen", "lint", "--fix", "--unsafe-fixes", str(f)], capture_output=True, text=True, cwd="/",
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert_one_line_error(proc, "cannot write", str(d))
    assert f.read_text() == dockerfile_text and os.listdir(d) == ["Dockerfile"]
    os.chmod(d, 0o755)
    import shutil

    shutil.rmtree(top)


def test_stale_temp_file_from_a_killed_run_is_removed(tmp_path, dockerfile_text):
    f = tmp_path / "Dockerfile"
    f.write_text(dockerfile_text)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".Dockerfile.{dead.pid}{textfile.TMP_TAG}"
    stale.write_text("half-written")
    run_dlgen("lint", "--fix", "--unsafe-fixes", f)
    assert not stale.exists() and sorted(os.listdir(tmp_path)) == ["Dockerfile"]


def test_a_killed_fix_leaves_the_file_whole(tmp_path, dockerfile_text):
    """SIGKILL at any moment: the file is the old or the new text, never a mix or empty."""
    f = tmp_path / "Dockerfile"
    for delay in (0.05, 0.2, 0.4, 0.6):
        f.write_text(dockerfile_text)
        p = subprocess.Popen([sys.executable, "-m", "dlgen", "lint", "--fix", "--unsafe-fixes", str(f)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        assert f.read_text() in (dockerfile_text, _fixed(dockerfile_text))
    run_dlgen("lint", "--fix", "--unsafe-fixes", f)
    assert sorted(os.listdir(tmp_path)) == ["Dockerfile"]


# ---------------------------------------------------------------------------- class 3: hostile input
def _alias_bomb(levels=9, width=9):
    lines = ["x-l0: &l0 [" + ",".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"x-l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + f"\nservices:\n  a:\n    image: x\n    environment: *l{levels - 1}\n"


HOSTILE_YAML = {
    "alias bomb in a service": _alias_bomb(),
    "alias bomb in labels": _alias_bomb(8, 10).replace("environment:", "labels:"),
    "alias bomb of mappings": "x-a: &a {k1: v, k2: v, k3: v, k4: v}\n" + "".join(
        f"x-b{i}: &b{i} {{" + ", ".join(f"m{j}: *{'a' if i == 0 else f'b{i - 1}'}" for j in range(8)) + "}\n"
        for i in range(8)) + "services:\n  a:\n    image: x\n    deploy: *b7\n",
    "self-referencing merge key": "services: &a\n  x:\n    <<: *a\n",
    "merge key cycle in a service": "services:\n  a: &s\n    image: x\n    extra: *s\n",
    "complex key": "services:\n  ? : []\n",
    "list as a service name": "services:\n  ? [a, b]\n  : {image: x}\n",
    "mapping as a key inside a service": "services:\n  a:\n    image: x\n    ? {k: v}\n    : 1\n",
    "deep flow nesting": "services:\n  a:\n    image: x\n    environment: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep block nesting": "services:\n  a:\n    image: x\n    x-deep:\n" + "".join(
        "      " + "  " * i + f"k{i}:\n" for i in range(3000)),
}


@pytest.mark.parametrize("name", list(HOSTILE_YAML))
def test_hostile_compose_is_a_finding_in_bounded_memory(tmp_path, name):
    f = tmp_path / "compose.yaml"
    f.write_text(HOSTILE_YAML[name])
    proc = _limited(["lint", "--format", "json", f], address_space=2**30)
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (1, 2), (proc.returncode, proc.stderr)
    if proc.returncode == 1:
        assert '"DLG000"' in proc.stdout, proc.stdout
    else:
        assert_one_line_error(proc)


def _limited(args, address_space=None, data=None, timeout=120):
    def limit():
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if data:
            resource.setrlimit(resource.RLIMIT_DATA, (data, data))

    return subprocess.run([sys.executable, "-m", "dlgen", *map(str, args)], capture_output=True, text=True,
                          preexec_fn=limit, timeout=timeout)


def _lint_large(tmp_path, shape, **limits):
    sys.path.insert(0, str(ROOT))
    from bench.shapes import SHAPES

    fname, make = SHAPES[shape]
    f = tmp_path / fname
    f.write_text(make(40_000))
    proc = _limited(["lint", "--format", "json", f], timeout=300, **limits)
    assert proc.returncode in (0, 1) and "error" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("shape", ["shell (docker run lines)", "Markdown (docker run lines)", "compose (services)"])
def test_large_text_lints_under_a_1_gib_address_space(tmp_path, shape):
    _lint_large(tmp_path, shape, address_space=2**30)


@pytest.mark.parametrize("shape", ["Dockerfile (one RUN a line)", "Dockerfile (a stage a line)",
                                   "Dockerfile (one RUN, continued)"])
def test_large_dockerfile_lints_within_1_gib_of_data(tmp_path, shape):
    """BuildKit's parser is Go: its runtime reserves ~1.2 GB of address space it never touches, so
    the bound here is RLIMIT_DATA (memory written to), 1 GiB, for a 40,000-line file."""
    _lint_large(tmp_path, shape, data=2**30)


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "Dockerfile"
    os.mkfifo(fifo)
    for args in (["lint", fifo], ["lint", "--fix", "--unsafe-fixes", fifo], ["lint", "--file-kind", "compose", fifo]):
        proc = run_dlgen(*args, timeout=20)
        assert_one_line_error(proc, "not a regular file")
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n    restart: always\n")
    proc = run_dlgen("lint", tmp_path, timeout=20)   # a directory walk skips the FIFO, lints the rest
    assert proc.returncode in (0, 1) and "compose.yaml" in proc.stdout + proc.stderr or proc.returncode == 0


def test_devices_and_a_fifo_config_are_refused(tmp_path):
    assert_one_line_error(run_dlgen("lint", "--file-kind", "dockerfile", "/dev/zero", timeout=20), "not a regular file")
    cfg = tmp_path / "cfg.yaml"
    os.mkfifo(cfg)
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nCMD [\"python\"]\n")
    assert_one_line_error(run_dlgen("lint", "--config", cfg, tmp_path / "Dockerfile", timeout=20), "config")


@pytest.mark.parametrize("text", ["\\", "\\\n", "\\\n\\\n", "FROM python:3.11-slim\n\\", "# c\n\\\n",
                                  "FROM python:3.11-slim\nRUN echo \\\n\\\n"])
def test_dangling_continuations_are_findings(tmp_path, text):
    f = tmp_path / "Dockerfile"
    f.write_text(text)
    proc = run_dlgen("lint", "--format", "json", f)
    assert "internal error" not in proc.stderr and proc.returncode in (0, 1, 2), proc.stderr
    for args in (["lint", "--fix", "--unsafe-fixes", f], ["lint", "--diff", f]):
        p = run_dlgen(*args)
        assert "internal error" not in p.stderr, p.stderr
    assert f.read_text() == text or parse_dockerfile(f.read_text())


def test_new_under_a_regular_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    for target in ("file", "file/sub", "file/sub/deeper"):
        proc = run_dlgen("new", tmp_path / target, "--model", "llama-8b")
        assert_one_line_error(proc, "not a directory")
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize("code", ["9" * 5000, "-" + "9" * 5000, "0" * 4999 + "1000", "256", "-1"])
def test_explain_out_of_range_numbers_are_one_line(code):
    assert_one_line_error(run_dlgen("explain", "--", code), "outside 0-255")


def test_explain_leading_zeros_still_work():
    proc = run_dlgen("explain", "0" * 5000 + "137")
    assert proc.returncode == 0 and "SIGKILL" in proc.stdout


# ---------------------------------------------------------------------------- class 8: compose types
@pytest.mark.parametrize("service,needle", [
    ("runtime: [nvidia]", "runtime must be a string"),
    ("profiles: 5", "profiles must be a list"),
    ("profiles: [[a]]", "profiles entries must be a string"),
    ("ports: 8000", "ports must be a list"),
    ("ports: [[8000]]", "ports entries"),
    ("shm_size: [1g]", "shm_size must be"),
    ("environment: 5", "environment must be"),
    ("environment: {A: [1]}", "environment.A must be"),
    ("healthcheck: [x]", "healthcheck must be a mapping"),
    ("healthcheck: {test: 5}", "healthcheck.test must be"),
    ("deploy: {resources: {reservations: {devices: [{capabilities: gpu}]}}}", "capabilities must be a list"),
    ("deploy: {resources: {reservations: {devices: gpu}}}", "devices must be a list"),
    ("deploy: {resources: 5}", "deploy.resources must be a mapping"),
    ("ipc: {host: 1}", "ipc must be a string"),
    ("init: yes-please", "init must be a boolean"),
    ("depends_on: {db: 5}", "depends_on.db must be"),
    ("gpus: 5", "gpus must be"),
    ("restart: [always]", "restart must be a string"),
])
def test_wrong_typed_compose_values_are_dlg000(tmp_path, service, needle):
    f = tmp_path / "compose.yaml"
    f.write_text(f"services:\n  a:\n    image: x\n    {service}\n")
    proc = run_dlgen("lint", "--format", "json", f)
    assert proc.returncode == 1 and not proc.stderr, proc.stderr
    assert '"DLG000"' in proc.stdout and needle in proc.stdout, proc.stdout


# ---------------------------------------------------------------------------- class 6: config discovery
def _evil_rule(directory: Path, marker: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")


def test_config_above_the_repository_is_never_read(tmp_path):
    marker = tmp_path / "ran"
    _evil_rule(tmp_path / "evil", marker)
    (tmp_path / ".dlgen.yaml").write_text("rule-dirs: [evil]\ndisable: [DLG034]\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    df = repo / "sub" / "Dockerfile"
    df.write_text('FROM python:3.11-slim\nCMD ["python"]\n')
    for cwd in (repo, repo / "sub"):
        proc = run_dlgen("lint", "--format", "json", df, cwd=cwd)
        assert not marker.exists(), "code from a config above the repository ran"
        assert "DLG034" in proc.stdout, "the parent's config was not applied"
    plain = tmp_path / "plain" / "deeper"   # no repository: only the current directory is searched
    plain.mkdir(parents=True)
    run_dlgen("lint", df, cwd=plain)
    assert not marker.exists()


def test_config_stops_at_home(tmp_path):
    marker = tmp_path / "ran"
    _evil_rule(tmp_path / "evil", marker)
    (tmp_path / ".dlgen.yaml").write_text("rule-dirs: [evil]\n")
    home = tmp_path / "home"
    work = home / "work"
    work.mkdir(parents=True)
    (work / "Dockerfile").write_text('FROM python:3.11-slim\nCMD ["python"]\n')
    run_dlgen("lint", "Dockerfile", cwd=work, env=dict(os.environ, HOME=str(home)))
    assert not marker.exists()


def test_rule_dirs_outside_the_config_tree_are_refused(tmp_path):
    marker = tmp_path / "ran"
    _evil_rule(tmp_path / "outside", marker)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "Dockerfile").write_text('FROM python:3.11-slim\nCMD ["python"]\n')
    for dirs in ("[../outside]", f"[{tmp_path / 'outside'}]"):
        (repo / ".dlgen.yaml").write_text(f"rule-dirs: {dirs}\n")
        assert_one_line_error(run_dlgen("lint", "Dockerfile", cwd=repo), "outside")
        assert not marker.exists()
    (repo / "outside").symlink_to(tmp_path / "outside")   # a link out of the tree is outside too
    (repo / ".dlgen.yaml").write_text("rule-dirs: [outside]\n")
    assert_one_line_error(run_dlgen("lint", "Dockerfile", cwd=repo), "outside")
    assert not marker.exists()


# ---------------------------------------------------------------------------- class 4: generator
def test_regenerate_line_is_shell_quoted(tmp_path):
    import shlex

    out = tmp_path / "b"
    args = ["--model", "Org/Model-8B", "--params", "8B", "--name", "my-model-1", "--gpus", "0,1"]
    proc = run_dlgen("new", out, *args)
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in (out / "Dockerfile").read_text().splitlines() if "Regenerate with:" in l)
    words = shlex.split(line.split("Regenerate with:", 1)[1])
    assert words[:2] == ["dlgen", "new"]
    for flag, value in zip(args[::2], args[1::2], strict=True):
        assert words[words.index(flag) + 1] == value


# ---------------------------------------------------------------------------- class 2: test-engine.sh
@pytest.mark.skipif(os.geteuid() != 0 or not Path("/etc/apt/sources.list.d/debian.sources").exists(),
                    reason="the apt plan needs root on a Debian machine")
def test_engine_install_plan_changes_no_installed_package():
    script = ROOT / "scripts" / "test-engine.sh"
    proc = subprocess.run([str(script), "plan"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for line in proc.stdout.splitlines():
        assert line.startswith("Inst "), line
        assert not line.split()[2].startswith("["), f"an installed package would change: {line}"
    # the refusal itself: a package whose trixie build upgrades an installed one is refused, with the list
    bad = subprocess.run([str(script), "plan", "libseccomp2/trixie"], capture_output=True, text=True, timeout=600)
    assert bad.returncode == 3 and "refusing" in bad.stderr and "libseccomp2 [" in bad.stderr, bad.stderr


def test_blank_means_what_buildkit_trims():
    """Found by the long fuzz run: Python's strip() removes \\x1c-\\x1f, Go's (BuildKit's) does not, so a
    continuation line holding only \\x1c is content to BuildKit and must not be deleted as blank."""
    sep = "FROM python:3.11-slim\nRUN echo a && \\\n\x1c\n    echo b\n"
    assert fix(sep) == sep
    assert len(parse_dockerfile(fix(sep)).instrs) == len(parse_dockerfile(sep).instrs)
    ff = "FROM python:3.11-slim\nRUN echo a && \\\n\x0c\n    echo b\n"   # form feed is Go white space
    assert "\x0c" not in fix(ff) and len(parse_dockerfile(fix(ff)).instrs) == 2
