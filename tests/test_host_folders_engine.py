"""Kinds that write into a folder of the host, run as their run.sh runs them on the real engine:
the notebook saves a notebook into ./notebooks through Jupyter's contents API, and the dev shell
creates a file in the project that belongs to the user who ran run.sh. run.sh is run unchanged; a
`docker` shim first on PATH only drops the GPU request, takes -it to -i (no terminal here), names
the container for this test and publishes on a free loopback port."""

import http.client
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from tests.test_engine import make_bundle, verify

SHIM = """#!/bin/bash
real={real}
if [ "$1" = run ]; then
  shift; args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --gpus) shift 2;;
      -it) args+=(-i); shift;;
      --name) args+=(--name "$DLGEN_TEST_NAME"); shift 2;;
      -p) args+=(-p "127.0.0.1::${{2##*:}}"); shift 2;;
      *) args+=("$1"); shift;;
    esac
  done
  exec "$real" run --label ai.dlgen.test=1 --name "$DLGEN_TEST_NAME" "${{args[@]}}"
fi
[ "$1" = rm ] && exit 0   # run.sh's `docker rm -f NAME`: not a name this test owns
exec "$real" "$@"
"""
USER_UID = 4321   # a user who is not root and not the image's uid 1000


def shim(tmp_path):
    real = shutil.which("docker")
    if not real:
        pytest.skip("the docker CLI is not installed (scripts/test-engine.sh up)")
    d = tmp_path / "shim"
    d.mkdir()
    (d / "docker").write_text(SHIM.format(real=real))
    (d / "docker").chmod(0o755)
    return d


def as_user(uid):
    """setpriv argv running as ``uid`` with the docker socket's group (root: nothing)."""
    if uid == 0:
        return []
    group = os.stat("/var/run/docker.sock").st_gid
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", f"--groups={group}"]


def run_sh(bundle, tmp_path, uid, name, **extra):
    home = tmp_path / f"home-{uid}"
    home.mkdir(exist_ok=True)
    os.chown(home, uid, uid)
    os.chown(tmp_path / "shim" if (tmp_path / "shim").exists() else home, uid, uid)
    env = dict(os.environ, PATH=f"{shim(tmp_path)}:{os.environ['PATH']}", HOME=str(home), DLGEN_TEST_NAME=name,
               IMAGE=f"dlgen-test/{name}:latest", DLGEN_SKIP_GPU_CHECK="1", **extra)   # the shim stands in for GPUs
    return env, [*as_user(uid), "./run.sh"]


@pytest.fixture
def open_tmp():
    """A folder another uid can reach (pytest's own are 0700 root)."""
    import tempfile

    d = tempfile.mkdtemp(prefix="dlgen-host-")
    os.chmod(d, 0o755)
    yield __import__("pathlib").Path(d)
    shutil.rmtree(d, ignore_errors=True)


def chown_tree(path, uid):
    for root, dirs, files in os.walk(path):
        for n in [root, *(os.path.join(root, f) for f in dirs + files)]:
            os.chown(n, uid, uid)


def cleanup(engine, name):
    for c in engine.containers.list(all=True, filters={"name": f"^{name}$"}):
        c.remove(force=True, v=True)
    try:
        engine.images.remove(f"dlgen-test/{name}:latest", force=True)
    except Exception:
        pass


@pytest.mark.parametrize("uid", [0, USER_UID])
def test_notebook_saves_into_the_mounted_folder(engine, open_tmp, uid):
    tmp_path = open_tmp
    path = make_bundle(tmp_path / "nb", kind="notebook")
    if uid:
        chown_tree(tmp_path, uid)
    name = f"dlgen-test-nb-{uuid.uuid4().hex[:8]}"
    env, argv = run_sh(path, tmp_path, uid, name, JUPYTER_TOKEN="test-token")
    try:
        proc = subprocess.run(argv, cwd=path, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        container = engine.containers.get(name)
        container.reload()
        port = int(container.attrs["NetworkSettings"]["Ports"]["8888/tcp"][0]["HostPort"])
        body = json.dumps({"type": "notebook", "format": "json", "content": {
            "cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}})
        status, deadline = None, time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("PUT", "/api/contents/saved.ipynb", body,
                             {"Authorization": "token test-token", "Content-Type": "application/json"})
                status = conn.getresponse().status
                if status in (200, 201):
                    break
            except OSError:
                pass
            time.sleep(1)
        assert status == 201, (status, container.logs(tail=30).decode())
        saved = path / "notebooks" / "saved.ipynb"
        assert saved.is_file() and json.loads(saved.read_text())["nbformat"] == 4
        owner = saved.stat().st_uid
        assert owner == (uid or 1000), f"saved as uid {owner}: started by uid {uid}"
        assert container.attrs["Config"]["User"] == f"{uid or 1000}:{uid or 1000}"
    finally:
        cleanup(engine, name)


def test_dev_shell_runs_as_the_invoking_user_and_stops_at_once(engine, open_tmp):
    tmp_path = open_tmp
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("print('mine')\n")
    path = make_bundle(project, kind="dev")
    chown_tree(tmp_path, USER_UID)
    name = f"dlgen-test-dev-{uuid.uuid4().hex[:8]}"
    env, argv = run_sh(path, tmp_path, USER_UID, name)
    try:
        proc = subprocess.run(argv, cwd=path, env=env, input="id -u > /app/uid.txt; touch /app/made-here\nexit\n",
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        made = project / "made-here"
        assert made.is_file() and made.stat().st_uid == USER_UID and made.stat().st_gid == USER_UID
        assert (project / "uid.txt").read_text().strip() == str(USER_UID)
        assert (project / "train.py").read_text() == "print('mine')\n"
    finally:
        cleanup(engine, name)
    # verify of the same bundle: it runs, and docker stop ends the interactive shell at once
    proc, r = verify(path)
    assert proc.returncode == 0 and r["healthy"] and r["running_s"] is not None, json.dumps(r, indent=2)[-2000:]
    assert r["stop_s"] < 2.0 and r["stop_exit_code"] == 129, r   # 128 + SIGHUP, the stop signal it was sent
