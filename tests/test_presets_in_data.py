"""Presets live in data: a new server is one servers.yaml entry (plus its image's facts in
images.yaml), with no code change. Shown by adding one from a temporary data directory."""

import ast
import json
import os
import re
from pathlib import Path

from dlgen import reference
from tests.conftest import ROOT, run_dlgen

# Hugging Face's text-embeddings-inference: port 80, /health, curl in the image (its Dockerfile).
TEI = """
  tei:
    kinds: [serve]
    image: ghcr.io/huggingface/text-embeddings-inference:1.7
    port: 80
    liveness: /health
    readiness: /health
    probe: curl
    boot_s: 5.0
    warmup_s: 5.0
    handles_sigterm: true
    generated_app: false
    serves_model: true
    entrypoint: [text-embeddings-router]
    command: [--model-id, "{model}", --port, "{port}"]
    detect: 'text-embeddings-inference|text-embeddings-router'
    detect_rank: 25
    source: "text-embeddings-inference README (docker run ... --model-id, port 80, /health)"
"""
TEI_IMAGE = """
  - pattern: "ghcr.io/huggingface/text-embeddings-inference:*"
    curl: true
    wget: false
    python: ""
    nvcc: false
    torch: false
    gpu: true
    source: "text-embeddings-inference Dockerfile-cuda (curl installed)"
"""


def _data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    servers = (ROOT / "dlgen" / "data" / "servers.yaml").read_text()
    # the shipped lint-only entry for TEI gives way to a full preset of the same name
    servers = re.sub(r"\n  tei:\n(    .*\n)+", "\n", servers, count=1)
    servers = servers.replace("\nservers:\n", "\nservers:" + TEI, 1)
    (d / "servers.yaml").write_text(servers)
    images = (ROOT / "dlgen" / "data" / "images.yaml").read_text()
    images = images.replace("\nimages:\n", "\nimages:" + TEI_IMAGE, 1)
    (d / "images.yaml").write_text(images)
    return d


def test_a_preset_added_in_data_generates_and_lints_a_bundle(tmp_path):
    env = dict(os.environ, DLGEN_DATA_DIR=str(_data_dir(tmp_path)))
    out = tmp_path / "bundle"
    proc = run_dlgen("new", out, "--model", "bge-large", "--server", "tei", env=env)
    assert proc.returncode == 0, proc.stderr
    dockerfile = (out / "Dockerfile").read_text()
    assert "FROM ghcr.io/huggingface/text-embeddings-inference:1.7" in dockerfile
    assert 'ENTRYPOINT ["text-embeddings-router"]' in dockerfile
    assert '"--model-id", "BAAI/bge-large-en-v1.5", "--port", "80"' in dockerfile
    assert '"curl", "-fsS"' in dockerfile and "http://127.0.0.1:80/health" in dockerfile
    lint = run_dlgen("lint", "--format", "json", out, env=env)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert not [f for f in json.loads(lint.stdout) if f["severity"] != "info"]
    # the linter recognises the new server from its image: a HEALTHCHECK-less Dockerfile gets its probe
    bare = tmp_path / "Dockerfile"
    bare.write_text("FROM ghcr.io/huggingface/text-embeddings-inference:1.7\nEXPOSE 80\n"
                    'CMD ["--model-id", "BAAI/bge-large-en-v1.5"]\n')
    diff = run_dlgen("lint", "--diff", "--unsafe-fixes", bare, env=env)
    assert "+HEALTHCHECK" in diff.stdout and "http://127.0.0.1:80/health" in diff.stdout, diff.stdout + diff.stderr


def test_no_preset_name_is_a_string_literal_in_dlgen():
    """Knowledge about a preset is in servers.yaml. Names that are also other words of dlgen's
    vocabulary are left out: `python` (an image kind and the interpreter), `shell` (a file kind),
    `tensorboard` (a workload kind), `app` (the --app option, the image's user, the app/ folder)."""
    other_vocabulary = {"python", "shell", "tensorboard", "app"}
    names = set(reference.servers()["servers"]) - other_vocabulary
    found = []
    for f in sorted((ROOT / "dlgen").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found.append(f"{f.name}:{node.lineno} {node.value!r}")
    assert not found, found
