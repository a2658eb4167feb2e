"""Nothing a user owns is lost, leaked or overwritten (issue 24), the static half: each class
reproduced the way a user or an attacker meets it. The engine half (images, verify) is in
tests/test_user_data_engine.py."""

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from dlgen import dockerignore, lint, textfile
from tests.conftest import ROOT

FASTAPI_MAIN = "from fastapi import FastAPI\napp = FastAPI()\n"
SECRETS = [".env", ".env.local", ".env.production", "config/.env", "id_rsa", ".ssh/id_ed25519", "certs/server.pem",
           "tls.key", ".aws/credentials", ".kube/config", "deploy/.kube/config", ".docker/config.json", ".netrc",
           ".npmrc", ".pypirc", "credentials.json", "infra/terraform.tfstate", "node_modules/pkg/index.js",
           "web/node_modules/x.js", ".git/config", ".venv/bin/python"]


def project_with(path, files: dict[str, str]):
    path.mkdir(parents=True, exist_ok=True)
    for rel, text in {"main.py": FASTAPI_MAIN, "requirements.txt": "fastapi\n", **files}.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    return path


def digest_tree(path):
    out = {}
    for here, _dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(here, name)
            if not os.path.islink(p):
                out[os.path.relpath(p, path)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


# ---------------------------------------------------------------------------- 1, 9: .dockerignore
def context_after(project):
    """What Docker sends of the project, by the merged .dockerignore (Docker's matching rules)."""
    pats = dockerignore.parse((project / ".dockerignore").read_text("latin-1"))
    return {rel for rel, _ in dockerignore.walk(project) if not dockerignore.excluded(pats, rel)}


def test_credentials_and_caches_stay_out_at_any_depth_and_are_named(dlgen, tmp_path):
    project = project_with(tmp_path / "svc", {s: "secret-value\n" for s in SECRETS})
    with open(project / "big.bin", "wb") as fh:   # a 2 GiB sparse file: 2 GiB of real data in an image
        fh.truncate(2 * 2**30)
    proc = dlgen("new", str(project), "--app", "main:app")
    assert proc.returncode == 0, proc.stderr
    sent = context_after(project)
    assert not sent & set(SECRETS), sent & set(SECRETS)
    assert {"main.py", "requirements.txt", "dlgen_app/serve.py", "requirements-dlgen.txt"} <= sent
    notes = proc.stderr
    assert "kept out of the image, credentials and keys" in notes and "config/.env" in notes
    assert "node_modules/" in notes and "going into the image: big.bin (2.0 GiB)" in notes


def test_the_matcher_follows_dockers_rules():
    pats = dockerignore.parse("# c\n*.log\n!keep.log\n/data/\n**/.env\nsub/*/x\n")
    cases = {"a.log": True, "keep.log": False, "d/a.log": False, "data/f": True, "x/data/f": False,
             ".env": True, "a/b/.env": True, "sub/q/x": True, "sub/q/r/x": False, "x/.env/inner": True}
    assert {rel: dockerignore.excluded(pats, rel) for rel in cases} == cases


def test_a_users_rules_are_never_undone(dlgen, tmp_path):
    # their "!.env" (a file they mean to ship) stays; their model.pt / vocab.bin are not dropped
    project = project_with(tmp_path / "a", {".env": "PUBLIC_FLAG=1\n", "model.pt": "w", "assets/vocab.bin": "v",
                                            ".dockerignore": "*.log\n!.env\n"})
    assert dlgen("new", str(project), "--app", "main:app").returncode == 0
    sent = context_after(project)
    assert {".env", "model.pt", "assets/vocab.bin"} <= sent
    # an allowlist: their rules first, and dlgen's own files re-included (only those), so it builds
    allow = project_with(tmp_path / "b", {".dockerignore": "*\n!main.py\n!requirements.txt\n!config\n",
                                          "config/settings.toml": "x=1\n", "config/.env": "TOKEN=1\n",
                                          "other.txt": "no\n"})
    proc = dlgen("new", str(allow), "--app", "main:app")
    assert proc.returncode == 0, proc.stderr
    sent = context_after(allow)
    assert {"main.py", "requirements.txt", "config/settings.toml", "dlgen_app/serve.py",
            "requirements-dlgen.txt"} <= sent
    assert "other.txt" not in sent and "config/.env" not in sent, "a folder re-included is not a secret re-included"
    assert "re-includes only those" in proc.stderr


def test_the_users_dockerignore_keeps_its_bytes_and_encoding(dlgen, tmp_path):
    latin = b"# caf\xe9\n*.log\n"
    project = project_with(tmp_path / "p", {})
    (project / ".dockerignore").write_bytes(latin)
    proc = dlgen("new", str(project), "--app", "main:app")
    assert proc.returncode == 0 and "internal error" not in proc.stderr, proc.stderr
    data = (project / ".dockerignore").read_bytes()
    assert data.startswith(latin) and b"**/.env\n" in data


# ---------------------------------------------------------------------------- 3: --force
@pytest.mark.parametrize("args", [["--model", "llama-8b"], ["--app", "main:app"]])
def test_force_leaves_user_written_files_untouched(dlgen, tmp_path, args):
    mine = {"Dockerfile": "FROM python:3.11\n", "compose.yaml": "services: {}\n", "run.sh": "echo mine\n",
            "README.md": "# my project\n", "requirements.txt": "numpy\n", "app/server.py": "print('mine')\n"}
    for name, text in mine.items():
        project = project_with(tmp_path / name.replace("/", "_"), {name: text} if args[0] == "--app" else {})
        if args[0] != "--app":
            for extra in ("main.py", "requirements.txt"):
                (project / extra).unlink()
            (project / name).parent.mkdir(exist_ok=True)
            (project / name).write_text(text)
        before = digest_tree(project)
        proc = dlgen("new", str(project), *args, "--force")
        if args[0] == "--app" and name in ("README.md", "requirements.txt", "app/server.py"):
            assert proc.returncode == 0, proc.stderr   # not a name the project bundle uses: written beside
            assert (project / name).read_text() == text
            continue
        assert proc.returncode == 2 and "is your file" in proc.stderr, (name, proc.stderr)
        assert digest_tree(project) == before, f"{name}: nothing written, nothing replaced"


# ---------------------------------------------------------------------------- 8: links and odd files
@pytest.mark.parametrize("case", ["dockerignore-link", "run-link", "app-dir-link", "dangling", "dir-dockerignore"])
def test_new_writes_nothing_through_links_or_over_odd_files(dlgen, tmp_path, case):
    project = project_with(tmp_path / "p", {})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target").write_text("keep me\n")
    if case == "dockerignore-link":
        (project / ".gitignore").write_text("*.log\n")
        (project / ".dockerignore").symlink_to(".gitignore")
    elif case == "run-link":
        (project / "run.sh").symlink_to(outside / "target")
    elif case == "app-dir-link":
        (project / "dlgen_app").symlink_to(outside)
    elif case == "dangling":
        (project / "compose.yaml").symlink_to(tmp_path / "nowhere")
    else:
        (project / ".dockerignore").mkdir()
    before, before_out = digest_tree(project), digest_tree(outside)
    proc = dlgen("new", str(project), "--app", "main:app", "--force")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert digest_tree(project) == before and digest_tree(outside) == before_out, "all files or none"
    assert sorted(os.listdir(outside)) == ["target"]


def test_notebook_run_sh_refuses_a_notebooks_link_before_anything(dlgen, tmp_path):
    bundle = tmp_path / "nb"
    assert dlgen("new", str(bundle), "--kind", "notebook").returncode == 0
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (bundle / "notebooks").symlink_to(outside)
    owner = os.stat(outside).st_uid
    tools = tmp_path / "bin"   # dirname and nothing else: no docker to reach, so it must stop first
    tools.mkdir()
    (tools / "dirname").symlink_to(shutil.which("dirname"))
    proc = subprocess.run(["/bin/bash", str(bundle / "run.sh")], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": str(tools)})
    assert proc.returncode == 2 and "notebooks is a link" in proc.stderr, proc.stderr
    assert os.stat(outside).st_uid == owner


# ---------------------------------------------------------------------------- 4: configs of other users
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to plant a file owned by another user")
def test_a_config_another_user_planted_in_a_shared_folder_is_not_loaded(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)   # like /tmp: sticky and world-writable
    (shared / "rules").mkdir()
    marker = tmp_path / "ran"
    (shared / "rules" / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (shared / ".dlgen.yaml").write_text("rule-dirs: [rules]\n")
    (shared / "Dockerfile").write_text("FROM python:3.11-slim\nUSER 1000\nCMD [\"python\"]\n")
    for p in (shared / ".dlgen.yaml", shared / "rules", shared / "rules" / "evil.py"):
        os.chown(p, 1000, 1000)
    for cmd in (["lint", "Dockerfile"], ["explain", "DLG001"]):
        proc = subprocess.run([sys.executable, "-m", "dlgen", *cmd], cwd=shared, capture_output=True, text=True,
                              timeout=120)
        assert not marker.exists(), f"dlgen {cmd[0]} ran another user's rule code"
        why = [line for line in proc.stderr.splitlines() if "not reading the config" in line]
        assert len(why) == 1 and "owned by uid 1000" in why[0], proc.stderr
    # the same config, owned by the one who runs dlgen, is read
    for p in (shared / ".dlgen.yaml", shared / "rules", shared / "rules" / "evil.py"):
        os.chown(p, 0, 0)
    subprocess.run([sys.executable, "-m", "dlgen", "lint", "Dockerfile"], cwd=shared, capture_output=True, timeout=120)
    assert marker.exists(), "a trusted config still loads its rules (the test can fail)"


# ---------------------------------------------------------------------------- 5, 6: --fix
FIXABLE = "FROM python:3.11-slim\nENV DEBIAN_FRONTEND=noninteractive\n" + "RUN echo step\n" * 87 + \
    "USER 1000\nCMD python app.py\n"


@pytest.fixture
def full_disk(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", str(mnt)], capture_output=True)


@pytest.mark.parametrize("linked", [False, True])
def test_fix_on_a_full_disk_leaves_the_file_byte_identical(dlgen, full_disk, linked):
    target = full_disk / "Dockerfile"
    target.write_text(FIXABLE)
    if linked:   # a hard link: rewritten in place, the case that lost lines before
        os.link(target, full_disk / "Dockerfile.link")
    fd = os.open(full_disk / "filler", os.O_WRONLY | os.O_CREAT)   # fill the disk to the last block
    try:
        while True:
            os.write(fd, b"x" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)
    before = target.read_bytes()
    proc = dlgen("lint", "--fix", "--unsafe-fixes", str(target))
    assert target.read_bytes() == before
    assert "not fixed" in proc.stderr and "unchanged" in proc.stderr, proc.stderr
    assert sorted(os.listdir(full_disk)) == sorted(["Dockerfile", "filler"] + (["Dockerfile.link"] if linked else []))


def test_an_edit_saved_while_fix_runs_is_kept(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(FIXABLE)
    src = textfile.read_text(path)
    fixed, applied = lint.fix_text(src.text, str(path), "dockerfile", lint.load_rules(), lint.Context(), unsafe=True)
    assert applied
    path.write_text(FIXABLE + "# the user's edit, saved meanwhile\n")   # the editor saves
    with pytest.raises(textfile.FileProblem, match="changed on disk"):
        textfile.write_text(path, fixed, bom=src.bom, expect=src.text)
    assert path.read_text().endswith("# the user's edit, saved meanwhile\n")


def test_fix_dir_does_not_follow_links_out_of_dir(dlgen, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text(FIXABLE)
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "Dockerfile").symlink_to(outside / "Dockerfile")
    (tree / "inner").mkdir()
    (tree / "inner" / "Dockerfile").write_text(FIXABLE)
    dlgen("lint", "--fix", "--unsafe-fixes", str(tree))
    assert (outside / "Dockerfile").read_text() == FIXABLE
    assert (tree / "inner" / "Dockerfile").read_text() != FIXABLE, "files inside DIR are fixed (the test can fail)"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_a_file_you_cannot_write_is_not_replaced_through_its_folder(tmp_path):
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="dlgen-shared-"))   # a folder every user can enter (pytest's is 0700)
    os.chmod(folder, 0o777)
    path = folder / "Dockerfile"
    path.write_text(FIXABLE)
    os.chmod(path, 0o644)   # root's, read-only to others; the folder is writable by all
    proc = subprocess.run(["setpriv", "--reuid", "4321", "--regid", "4321", "--clear-groups", sys.executable, "-m",
                           "dlgen", "lint", "--fix", "--unsafe-fixes", str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert path.read_text() == FIXABLE and os.stat(path).st_uid == 0, proc.stderr
    assert "not fixed" in proc.stderr and "read-only" in proc.stderr, proc.stderr
    shutil.rmtree(folder)


def test_a_nul_byte_anywhere_is_refused_not_half_read(dlgen, tmp_path):
    path = tmp_path / "Dockerfile"
    data = (FIXABLE + "# padding\n" * 1000).encode() + b"RUN echo a\x00b\nCMD python app.py\n"
    assert data.index(b"\x00") > 8192
    path.write_bytes(data)
    proc = dlgen("lint", "--fix", "--unsafe-fixes", str(path))
    assert path.read_bytes() == data
    assert proc.returncode == 2 and "NUL byte on line" in proc.stderr, proc.stderr


@pytest.mark.parametrize("rule,text", [
    ("DLG004", 'FROM python:3.11\nUSER 1000\nCMD python \\\n  # the entry point\n  app.py\n'),
    ("DLG031", 'FROM python:3.11\nENV DEBIAN_FRONTEND=noninteractive \\\n  # quiet apt\n  TZ=UTC\nUSER 1000\n'
               'CMD ["python"]\n'),
    ("DLG030", 'FROM python:3.11\nRUN pip install \\\n  # pip install pinned-thing here\n  numpy\nUSER 1000\n'
               'CMD ["python"]\n'),
    ("DLG037", 'FROM python:3.11\nRUN pip install --no-cache-dir \\\n  # torch>=2 is what we need\n  torch>=2.1\n'
               'USER 1000\nCMD ["python"]\n'),
])
def test_fix_keeps_comment_lines_inside_an_instruction(dlgen, tmp_path, rule, text):
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    proc = dlgen("lint", "--fix", "--unsafe-fixes", str(path))
    assert f"fixed {rule}" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    comments = [ln for ln in text.splitlines() if ln.lstrip().startswith("#")]
    after = path.read_text().splitlines()
    assert all(c in after for c in comments), path.read_text()
    assert dlgen("lint", "--fix", "--unsafe-fixes", str(path)).returncode in (0, 1) and path.read_text().splitlines() == after


def test_dlg037_reads_no_comment_line_as_code(dlgen, tmp_path):
    path = tmp_path / "Dockerfile"
    # an apostrophe in a comment used to open a "quote" that hid the real unquoted torch>=2.1
    path.write_text('FROM python:3.11\nRUN pip install --no-cache-dir \\\n  # it\'s the one we test with\n'
                    '  torch>=2.1\nUSER 1000\nCMD ["python"]\n')
    found = [ln for ln in dlgen("lint", str(path)).stdout.splitlines() if "DLG037" in ln]
    assert len(found) == 1 and ":2:" in found[0], found
    path.write_text('FROM python:3.11\nRUN pip install --no-cache-dir \\\n  # pip install torch>=2 later\n'
                    '  numpy\nUSER 1000\nCMD ["python"]\n')
    assert "DLG037" not in dlgen("lint", str(path)).stdout, "a comment is no code"


def test_readme_says_what_force_replaces_and_what_stays_out():
    readme = (ROOT / "README.md").read_text()
    for needle in (".dlgen-manifest.json", "--force", ".dockerignore", "--accept-test-timings", "dlgen verify --clean"):
        assert needle in readme, needle
