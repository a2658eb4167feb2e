"""The fetch phase on the real engine: a tiny model in the hub layout, served by a local endpoint
(HF_ENDPOINT), is downloaded by the bundle's fetch container into the cache volume; the server
then loads those files and turns healthy, also offline on a second start; a failing endpoint
fails the fetch, and the server never starts. `docker compose up --wait` does the same through
the fetch service."""

import json
import os
import shutil
import subprocess
import uuid

import pytest

from tests.hubstub import HubStub, make_tiny_llama
from tests.test_engine import left_by, make_bundle, verify

MODEL = "dlgen-test/tiny-llama-1M"   # the size is in the name: dlgen treats it as a 1M-parameter LLM
pytest.importorskip("transformers")


def gateway(engine) -> str:
    """The default bridge's gateway: the host as containers see it."""
    net = engine.networks.get("bridge")
    return net.attrs["IPAM"]["Config"][0]["Gateway"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_llama(tmp_path_factory.mktemp("hub") / "tiny")


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("fetch") / "b", model=MODEL)


def remove_run(engine, run_id):
    label = f"ai.dlgen.verify={run_id}"
    for c in engine.containers.list(all=True, filters={"label": label}):
        c.remove(force=True, v=True)
    for v in engine.volumes.list(filters={"label": label}):
        v.remove(force=True)
    for i in engine.images.list(filters={"label": label}):
        engine.images.remove(i.id, force=True)


def test_fetch_then_load_then_offline_restart(engine, tiny, bundle_dir):
    with HubStub({MODEL: tiny}, host=gateway(engine)) as hub:
        proc, first = verify(bundle_dir, "--keep", "-e", f"HF_ENDPOINT={hub.url}")
        fetched_requests = hub.requests
    run_id = first["run_id"]
    try:
        assert proc.returncode == 0 and first["healthy"], json.dumps(first, indent=2)[-3000:]
        assert first["fetch_exit_code"] == 0 and first["fetch_s"] is not None and fetched_requests >= 6
        fetch_logs = engine.containers.get(f"dlgen-verify-{run_id}-fetch").logs().decode()
        assert f"{MODEL} downloaded to" in fetch_logs, fetch_logs
        server_logs = engine.containers.get(first["container"]).logs().decode()
        assert f"model {MODEL} ready" in server_logs and "synthetic" not in server_logs, server_logs[-2000:]
        # the endpoint is gone: the cache volume of the first run is enough
        proc, second = verify(bundle_dir, "--volumes-of", run_id)
        assert proc.returncode == 0 and second["healthy"], json.dumps(second, indent=2)[-3000:]
        assert second["fetch_exit_code"] == 0 and second["failure"] is None
        # the second run removed all of its own; the first run's kept containers are all that is left
        assert set(left_by(engine, bundle_dir)["containers"]) == {first["container"], f"dlgen-verify-{run_id}-fetch"}
    finally:
        remove_run(engine, run_id)
    assert left_by(engine, bundle_dir) == {"containers": [], "volumes": [], "images": []}


@pytest.mark.parametrize("mode", ["error", "hang"])
def test_a_failing_endpoint_fails_the_fetch_and_the_server_never_starts(engine, bundle_dir, mode):
    with HubStub({}, host=gateway(engine), mode=mode) as hub:
        proc, r = verify(bundle_dir, "-e", f"HF_ENDPOINT={hub.url}", "-e", "DLGEN_FETCH_RETRIES=2",
                         "-e", "HF_HUB_ETAG_TIMEOUT=2")
        asked = hub.requests
    assert proc.returncode == 1 and r["failure"]["stage"] == "fetch", json.dumps(r, indent=2)[-3000:]
    assert r["fetch_exit_code"] == 1 and "giving up after 2 attempts" in r["failure"]["error"]
    assert asked == 2, "one request per attempt: retried as configured"
    assert "container" not in r, "the server container was never created"
    assert left_by(engine, bundle_dir) == {"containers": [], "volumes": [], "images": []}


def test_compose_up_wait_runs_the_fetch_service_first(engine, tiny, bundle_dir, tmp_path):
    docker = shutil.which("docker")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed (scripts/test-engine.sh up installs it)")
    project = f"dlgen-test-{uuid.uuid4().hex[:8]}"
    services = json.loads(subprocess.run(
        [docker, "compose", "-f", str(bundle_dir / "compose.yaml"), "config", "--format", "json"],
        capture_output=True, text=True, check=True, cwd=bundle_dir).stdout)["services"]
    server = next(s for s in services if not s.endswith("-fetch"))
    # this engine has no GPU and port 8000 may be taken: drop the reservation, publish a free port
    override = tmp_path / "cpu.yaml"
    override.write_text(f"services:\n  {server}:\n    deploy: !reset {{}}\n    container_name: !reset null\n"
                        "    ports: !override\n      - \"127.0.0.1::8000\"\n")
    compose = [docker, "compose", "-p", project, "-f", str(bundle_dir / "compose.yaml"), "-f", str(override)]
    with HubStub({MODEL: tiny}, host=gateway(engine)) as hub:
        env = dict(os.environ, HF_ENDPOINT=hub.url)
        try:
            up = subprocess.run([*compose, "up", "-d", "--wait", "--wait-timeout", "600"], capture_output=True,
                                text=True, env=env, cwd=bundle_dir, timeout=900)
            assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
            ps = json.loads("[" + ",".join(subprocess.run([*compose, "ps", "-a", "--format", "json"],
                                                          capture_output=True, text=True, env=env,
                                                          cwd=bundle_dir).stdout.split("\n")[:-1]) + "]")
            states = {p["Service"]: (p["State"], p.get("ExitCode"), p.get("Health")) for p in ps}
            assert states[f"{server}-fetch"][:2] == ("exited", 0), states
            assert states[server][0] == "running" and states[server][2] == "healthy", states
            assert hub.requests >= 6
        finally:
            subprocess.run([*compose, "down", "-v", "--rmi", "local", "--timeout", "5"], capture_output=True,
                           env=env, cwd=bundle_dir, timeout=300)


# ---------------------------------------------------------------- model files (llama.cpp, Triton, TorchServe)
def _file_repo(where, files: dict[str, bytes]):
    for name, data in files.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_bytes(data)
    return where


FILE_CASES = {
    # a GGUF in a folder of its repository (bartowski's repos keep some quantisations in folders)
    "llamacpp": ("dlgen-test/tiny-gguf:q4/tiny-Q4_K_M.gguf",
                 {"q4/tiny-Q4_K_M.gguf": b"GGUF" + os.urandom(70000), "tiny-Q8_0.gguf": b"GGUF" + os.urandom(900),
                  "README.md": b"# tiny\n"},
                 {"q4/tiny-Q4_K_M.gguf"}),
    # a Triton model repository: every file of the repository
    "triton": ("dlgen-test/tiny-triton", {"tiny/config.pbtxt": b'name: "tiny"\nbackend: "onnxruntime"\n',
                                         "tiny/1/model.onnx": os.urandom(5000)},
               {"tiny/config.pbtxt", "tiny/1/model.onnx"}),
    # TorchServe: the model archives only
    "torchserve": ("dlgen-test/tiny-mar", {"tiny.mar": os.urandom(3000), "README.md": b"# archives\n"},
                   {"tiny.mar"}),
}


@pytest.mark.parametrize("server", list(FILE_CASES))
def test_the_fetch_image_puts_model_files_where_the_server_reads_them(engine, tmp_path, server):
    """run.sh's fetch line for a server that reads files: Dockerfile.fetch is built, the one-off
    container downloads the files into the volume at the preset's model folder (only those the server
    reads), and a second run with the endpoint gone does nothing and succeeds."""
    from dlgen import reference
    from dlgen.verify import Owned, build_image, bundle_phases, fetch_image_name, prepare, run_fetch

    spec_arg, files, wanted = FILE_CASES[server]
    repo = spec_arg.split(":")[0]
    repo_dir = _file_repo(tmp_path / "repo", files)
    path = make_bundle(tmp_path / "b", model="llama-8b", server=server, model_repo=spec_arg)
    model_dir = reference.servers()["servers"][server]["model_dir"]
    fetch_spec, server_spec = bundle_phases(path)
    assert fetch_spec is not None and any(v.target == model_dir for v in server_spec.volumes)
    tag = uuid.uuid4().hex[:10]
    owned = Owned(engine, tag, path, f"dlgen-test/files-{server}:{tag}")
    image = fetch_image_name(owned.image)
    try:
        assert build_image(path, image, owned.labels, lambda line: None, "Dockerfile.fetch") is None
        kw, volumes = prepare(fetch_spec, image, tag, True, None, owned.labels)
        for name in volumes:
            engine.volumes.create(name=name, labels=owned.labels)
        with HubStub({repo: repo_dir}, host=gateway(engine)) as hub:
            first = run_fetch(engine, fetch_spec, image, tag, True, {"HF_ENDPOINT": hub.url}, owned.labels, None,
                              300, lambda line: None)
        assert first.get("failure") is None and first["fetch_exit_code"] == 0, first
        volume = next(v for v in volumes if v.endswith("-models"))
        listing = engine.containers.run(
            image, entrypoint=["python", "-c", "import hashlib, pathlib, sys\n"
                               "root = pathlib.Path(sys.argv[1])\n"
                               "for p in sorted(root.rglob('*')):\n"
                               "    if p.is_file() and '.cache' not in p.parts:\n"
                               "        print(p.relative_to(root), hashlib.sha256(p.read_bytes()).hexdigest())\n",
                               model_dir],
            volumes={volume: {"bind": model_dir, "mode": "ro"}}, remove=True, labels=owned.labels).decode()
        got = dict(line.split() for line in listing.splitlines())
        import hashlib

        assert {k: v for k, v in got.items() if k != ".dlgen-fetched"} == {
            name: hashlib.sha256(files[name]).hexdigest() for name in wanted}, listing
        if server == "llamacpp":  # the server's command names the file where the fetch put it
            assert f'"{model_dir}/q4/tiny-Q4_K_M.gguf"' in (path / "Dockerfile").read_text()
        # the endpoint is gone: the files in the volume are enough
        second = run_fetch(engine, fetch_spec, image, uuid.uuid4().hex[:10], True, {"HF_ENDPOINT": "http://127.0.0.1:9"},
                           owned.labels, tag, 120, lambda line: None)
        assert second.get("failure") is None and second["fetch_exit_code"] == 0, second
    finally:
        owned.remove_all()
        try:
            engine.images.remove(image, force=True)
        except Exception:
            pass
    assert left_by(engine, path) == {"containers": [], "volumes": [], "images": []}
