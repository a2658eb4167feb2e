"""`pip install .` into a fresh virtual environment, used outside the checkout, gives a working dlgen."""

import os
import subprocess
import sys
import venv

import pytest

from tests.conftest import ROOT


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source checkout")
def test_wheel_install_outside_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("dlgen-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    inst = subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True,
                          timeout=600)
    assert inst.returncode == 0, inst.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    exe = str(env_dir / "bin" / "dlgen")
    assert subprocess.run([exe, "--version"], cwd=work, env=env, capture_output=True).returncode == 0
    proc = subprocess.run([exe, "new", "bundle", "--model", "llama-8b"], cwd=work, env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert (work / "bundle" / "Dockerfile").read_text() == (ROOT / "samples" / "llama-8b-serve" / "Dockerfile").read_text()
    assert (work / "bundle" / "app" / "server.py").is_file()
