"""`dlgen new . --app MODULE:ATTR` in a user's own project: dlgen's files beside theirs, never over
them; their requirements installed with torch held at the base image's; their app served behind
dlgen's health endpoints. The engine tests boot a FastAPI app whose lifespan takes 4 s and a Flask
app that loads at import, as a user would: new, then verify."""

import hashlib
import http.client
import json
import time

import pytest

FASTAPI_MAIN = '''import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI

LOADED = {}


@asynccontextmanager
async def lifespan(app):
    await asyncio.sleep(4)          # stands for loading a model
    LOADED["model"] = "weights"
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/predict")
async def predict():
    return {"answer": 42, "model": LOADED.get("model")}
'''
FLASK_MAIN = '''import time

from flask import Flask

time.sleep(4)                       # stands for loading a model at import
MODEL = "weights"
app = Flask(__name__)


@app.get("/predict")
def predict():
    return {"answer": 42, "model": MODEL}
'''
PROJECTS = {"fastapi": (FASTAPI_MAIN, "fastapi==0.115.12\n"), "flask": (FLASK_MAIN, "flask==3.1.0\n")}


def make_project(path, kind="fastapi", extra=None):
    main, reqs = PROJECTS[kind]
    path.mkdir(parents=True)
    files = {"main.py": main, "requirements.txt": reqs, "README.md": "# my service\n",
             ".dockerignore": "secrets/\n", **(extra or {})}
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return files


def digests(path, names):
    return {n: hashlib.sha256((path / n).read_bytes()).hexdigest() for n in names}


def test_new_writes_beside_the_users_files_and_never_over_them(dlgen, tmp_path):
    project = tmp_path / "my-service"
    files = make_project(project)
    before = digests(project, [n for n in files if n != ".dockerignore"])
    proc = dlgen("new", str(project), "--app", "main:app")
    assert proc.returncode == 0, proc.stderr
    assert digests(project, before) == before, "the user's files are byte-identical"
    for made in ("Dockerfile", "run.sh", "compose.yaml", "k8s.yaml", "stack.yaml", "DEPLOY.md",
                 "requirements-dlgen.txt", "dlgen_app/serve.py", "dlgen_app/probe.py"):
        assert (project / made).is_file(), made
    ignore = (project / ".dockerignore").read_text()
    assert ignore.startswith("secrets/\n") and "\n**/.git\n" in ignore and "**/.venv" in ignore
    df = (project / "Dockerfile").read_text()
    assert "COPY --chown=app . /app/" in df and "-r /tmp/requirements/requirements.txt" in df
    assert "constraints.txt" in df and "torch|torchvision|torchaudio" in df
    assert 'CMD ["python", "/opt/dlgen/serve.py"]' in df and "/opt/dlgen/probe.py" in df
    assert "my-service" in (project / "run.sh").read_text(), "named after the project"
    # again, with --force: dlgen's own files may be rewritten; the user's stay; nothing is appended twice
    again = dlgen("new", str(project), "--app", "main:app", "--force")
    assert again.returncode == 0, again.stderr
    assert digests(project, before) == before and (project / ".dockerignore").read_text() == ignore
    assert dlgen("lint", str(project), "--failure-threshold", "warning").returncode == 0


def test_a_users_file_of_a_generated_name_is_refused_even_with_force(dlgen, tmp_path):
    project = tmp_path / "p"
    make_project(project, extra={"run.sh": "#!/bin/sh\necho mine\n"})
    for extra in ([], ["--force"]):   # the user's run.sh: never replaced, --force or not, and nothing written
        refused = dlgen("new", str(project), "--app", "main:app", *extra)
        assert refused.returncode == 2 and "run.sh is your file" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
        assert (project / "run.sh").read_text() == "#!/bin/sh\necho mine\n"
        assert not (project / "Dockerfile").exists() and not (project / "dlgen_app" / "serve.py").exists()
    mine = tmp_path / "q"
    make_project(mine, extra={"dlgen_app/notes.txt": "x"})
    (mine / "DEPLOY.md").write_text("my deploy notes\n")
    proc = dlgen("new", str(mine), "--app", "main:app")
    assert proc.returncode == 2 and "DEPLOY.md" in proc.stderr


def test_pyproject_dependencies_are_installed(dlgen, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "main.py").write_text(FASTAPI_MAIN)
    (project / "pyproject.toml").write_text('[project]\nname = "svc"\nversion = "1"\n'
                                           'dependencies = ["fastapi==0.115.12", "numpy>=1.26"]\n')
    assert dlgen("new", str(project), "--app", "main:app").returncode == 0
    reqs = (project / "requirements-dlgen.txt").read_text()
    assert "fastapi==0.115.12" in reqs and "numpy>=1.26" in reqs and "uvicorn>=" in reqs
    assert "requirements.txt" not in (project / "Dockerfile").read_text().replace("requirements-dlgen.txt", "")


@pytest.mark.parametrize("args, says", [
    (["--app", "main"], "MODULE:ATTR"), (["--app", "main:app", "--server", "vllm"], "drop --server"),
    (["--app", "main:app", "--kind", "train"], "drop --app"), (["--server", "app"], "--app MODULE:ATTR"),
    (["--health-path", "/healthz"], "with --app"), (["--app", "main:app", "--ready-path", "ready"], "URL path")])
def test_bad_app_options_are_one_line(dlgen, tmp_path, args, says):
    proc = dlgen("new", str(tmp_path / "p"), *args)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_the_apps_own_health_paths_are_probed(dlgen, tmp_path):
    project = tmp_path / "p"
    make_project(project)
    assert dlgen("new", str(project), "--app", "main:app", "--ready-path", "/predict").returncode == 0
    df = (project / "Dockerfile").read_text()
    assert "/predict" in (project / "dlgen_app" / "probe.py").read_text() + df
    assert "DLGEN_APP_PATHS" in (project / "dlgen_app" / "serve.py").read_text()
    assert '"/predict"' in (project / "dlgen_app" / "serve.py").read_text()


# ------------------------------------------------------------------------------------ engine
def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()


@pytest.mark.parametrize("kind", list(PROJECTS))
def test_the_users_app_turns_healthy_after_its_own_start_up(engine, tmp_path, kind):
    from tests.conftest import run_dlgen
    from tests.test_fetch_engine import remove_run

    project = tmp_path / f"svc-{kind}"
    files = make_project(project, kind)
    before = digests(project, [n for n in files if n != ".dockerignore"])
    assert run_dlgen("new", project, "--app", "main:app").returncode == 0
    proc = run_dlgen("verify", project, "--cpu", "--keep", "--format", "json", timeout=900)
    r = json.loads(proc.stdout)
    try:
        assert proc.returncode == 0 and r["healthy"], json.dumps(r, indent=2)[-3000:]
        assert r["ready_s"] >= 4.0, "ready no earlier than the app's own start-up finished"
        container = engine.containers.get(r["container"])
        if container.status != "running":
            container.start()
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            container.reload()
            port = int(container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"])
            try:
                status, body = get(port, "/predict")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert status == 200 and json.loads(body) == {"answer": 42, "model": "weights"}, (status, body)
        logs = container.logs().decode()
        assert "main:app ready" in logs, logs[-2000:]
    finally:
        remove_run(engine, r["run_id"])
    assert digests(project, before) == before
    lint = run_dlgen("lint", project, "--failure-threshold", "warning")
    assert lint.returncode == 0, lint.stdout
