"""RunSpec codecs are inverse on everything RunSpec models (hypothesis): docker run argv -> RunSpec ->
argv, and compose -> RunSpec -> compose; the GPU request is one value whatever target renders it."""

import dataclasses
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from dlgen.runflags import ROWS
from dlgen.runspec import COMPOSE_TYPES, GpuRequest, RunSpec

NAME = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
WORD = st.from_regex(r"[A-Za-z0-9_./:=-]{1,12}", fullmatch=True).filter(lambda w: not w.startswith("-"))
GPUS = st.sampled_from(["all", "1", "2", "8", "device=0", "device=0,1", "device=1,3"])
PORT = st.builds(lambda h, c, ip: f"{ip}{h}:{c}" if h else str(c), st.one_of(st.none(), st.integers(1, 65535)),
                 st.integers(1, 65535), st.sampled_from(["", "127.0.0.1:"]))
VOLUME = st.builds(lambda s, t, ro: f"{s}:/{t}{':ro' if ro else ''}", NAME, NAME, st.booleans())
ENV = st.builds(lambda k, v: k if v is None else f"{k}={v}", st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True),
                st.one_of(st.none(), WORD))


@st.composite
def docker_runs(draw):
    a = ["docker", "run"]
    if draw(st.booleans()):
        a.append("-d")
    for flag, values in (("--name", NAME), ("--gpus", GPUS), ("--ipc", st.sampled_from(["host", "private"])),
                         ("--restart", st.sampled_from(["no", "always", "unless-stopped", "on-failure:3"])),
                         ("--shm-size", st.sampled_from(["1g", "8g", "512m"])), ("--user", st.just("1000"))):
        if draw(st.booleans()):
            a += [flag, draw(values)]
    if draw(st.booleans()):
        a.append("--init")
    for flag, values in (("-p", PORT), ("-v", VOLUME), ("-e", ENV)):
        for v in draw(st.lists(values, max_size=3, unique=True)):
            a += [flag, v]
    if draw(st.booleans()):
        a += ["--ulimit", "memlock=-1"]
    for flag, values in (("--runtime", st.just("nvidia")), ("--memory", st.sampled_from(["16g", "512m"])),
                         ("--stop-timeout", st.sampled_from(["0", "30", "120"])), ("-w", st.just("/app")),
                         ("--stop-signal", st.sampled_from(["SIGHUP", "SIGINT"])),
                         ("--network", st.sampled_from(["host", "none"])), ("--pid", st.just("host")),
                         ("--entrypoint", st.sampled_from(["python", "/bin/sh", ""]))):
        if draw(st.booleans()):
            a += [flag, draw(values)]
    for flag in draw(st.lists(st.sampled_from(["-i", "-t", "--privileged", "--read-only", "--rm"]), unique=True)):
        a.append(flag)
    for flag, values in (("--cap-drop", st.sampled_from(["ALL", "NET_RAW"])), ("--cap-add", st.just("SYS_PTRACE")),
                         ("--security-opt", st.just("no-new-privileges:true")), ("--device", st.just("/dev/fuse")),
                         ("--label", st.builds(lambda k, v: f"{k}={v}", NAME, WORD)), ("--env-file", st.just(".env"))):
        for v in draw(st.lists(values, max_size=2, unique=True)):
            a += [flag, v]
    if draw(st.booleans()):
        a += ["--health-cmd", "curl -f http://127.0.0.1:8000/health", "--health-start-period=80s",
              "--health-interval=30s", "--health-retries=3"]
    a.append(draw(st.sampled_from(["vllm/vllm-openai:v0.11.0", "my/app:1", "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime"])))
    a += draw(st.lists(WORD, max_size=4))
    return a


def _same(spec: RunSpec) -> RunSpec:
    return replace(spec, origin="", line=1, service="", unknown=[])


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(docker_runs())
def test_docker_run_argv_round_trips(argv):
    spec = RunSpec.from_docker_run(argv)
    assert not spec.unknown, spec.unknown
    assert spec.image == argv[len(argv) - 1 - len(spec.command)] and spec.image.count("/") >= 1
    again = RunSpec.from_docker_run(spec.docker_run_argv())
    assert _same(again) == _same(spec)
    assert again.docker_run_argv() == spec.docker_run_argv()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(docker_runs())
def test_compose_round_trips(argv):
    spec = RunSpec.from_docker_run(argv)
    assert spec.image
    service = spec.compose_service()
    back = RunSpec.from_compose(spec.name or "svc", service)
    assert not back.unknown, back.unknown
    assert back.compose_service() == service
    assert back.gpu_request == spec.gpu_request
    # every option compose can say comes back as it was (docker run's -d and --rm have no compose key;
    # a compose service is detached by nature; the GPU request travels in deploy)
    for row in ROWS:
        if row.compose:
            assert getattr(back, row.field) == getattr(spec, row.field), row.field
    assert back.health == spec.health and back.image == spec.image


def test_every_sdk_argument_is_one_the_docker_sdk_takes():
    from docker.models import containers

    takes = {*containers.RUN_CREATE_KWARGS, *containers.RUN_HOST_CONFIG_KWARGS, "ports", "volumes"}
    named = {row.sdk for row in ROWS if row.sdk}
    assert named <= takes, named - takes
    spec = RunSpec.from_docker_run(["docker", "run", "--gpus", "2", "--restart", "on-failure:3", "--ulimit", "memlock=-1:-1", "-p",
                                    "127.0.0.1:8000:80", "-v", "data:/data:ro", "-e", "A=1", "-e", "HF_TOKEN",
                                    "--cap-drop", "ALL", "--health-cmd", "true", "--health-start-period=5s", "img"])
    kw = spec.sdk_kwargs()
    assert kw["restart_policy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert kw["device_requests"][0]["Count"] == 2 and kw["cap_drop"] == ["ALL"]
    assert kw["ports"] == {"80/tcp": ("127.0.0.1", 8000)} and kw["volumes"] == {"data": {"bind": "/data", "mode": "ro"}}
    assert kw["environment"] == {"A": "1"}  # HF_TOKEN by name: the SDK has no pass-through, verify adds it
    assert kw["ulimits"][0]["Soft"] == -1 and kw["healthcheck"]["StartPeriod"] == 5_000_000_000


def test_a_longer_entrypoint_puts_its_arguments_before_the_command():
    spec = RunSpec(image="img", entrypoint=["python", "/app/fetch.py"], command=["--quiet"])
    argv = spec.docker_run_argv()
    assert argv[argv.index("--entrypoint") + 1] == "python" and argv[-3:] == ["img", "/app/fetch.py", "--quiet"]
    assert RunSpec.from_docker_run(argv).full_command() == ["python", "/app/fetch.py", "--quiet"]


def test_every_row_has_one_place_per_target():
    flags = [name for row in ROWS for name in (row.flag, *row.aliases, f"-{row.short}" if row.short else None) if name]
    assert len(flags) == len(set(flags))
    keys = [row.compose for row in ROWS if row.compose]
    assert len(keys) == len(set(keys)) and set(keys) <= set(COMPOSE_TYPES)
    fields = {f.name for f in dataclasses.fields(RunSpec)}
    assert {row.field for row in ROWS} <= fields


@given(GPUS)
def test_gpu_request_is_one_value_in_every_rendering(text):
    g = GpuRequest.parse(text)
    assert g is not None and GpuRequest.parse(g.docker()) == g
    dev = g.compose()
    assert dev["capabilities"] == ["gpu"]
    if g.ids:
        assert dev["device_ids"] == list(g.ids) and g.k8s_count() == len(g.ids)
    else:
        assert dev["count"] == ("all" if g.all else g.count)
    sdk = g.sdk()
    assert sdk["Count"] == (-1 if g.all else (0 if g.ids else g.count)) or g.ids
    assert GpuRequest.parse('"device=0,1"') == GpuRequest(ids=("0", "1"))
    assert GpuRequest.parse("many") is None


def test_compose_accepts_every_key_the_table_writes(tmp_path):
    """Docker Compose itself (its schema) reads a service that sets every row, and gives the values back."""
    import json
    import shutil
    import subprocess

    docker = shutil.which("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True) if docker else None
    if not probe or probe.returncode != 0:
        import pytest

        pytest.skip("docker compose is not installed (scripts/test-engine.sh up installs it)")
    argv = ["docker", "run", "-d", "--name", "all-rows", "--entrypoint", "python", "-it", "--gpus", "2",
            "--runtime=nvidia", "--device", "/dev/fuse", "--restart", "on-failure:3", "--init", "--ipc=host",
            "--shm-size=8g", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864", "--memory=16g",
            "--stop-timeout", "30", "--stop-signal=SIGHUP", "--user", "1000:1000", "-w", "/app", "--network=host", "--pid=host",
            "--read-only", "--cap-drop", "ALL", "--cap-add", "SYS_PTRACE", "--security-opt",
            "no-new-privileges:true", "-p", "127.0.0.1:8000:8000", "-v", "data:/data:ro", "--env-file", "x.env",
            "-e", "A=1", "-e", "HF_TOKEN", "--label", "k=v", "--health-cmd", "true", "--health-start-period=80s",
            "img:1", "serve.py"]
    spec = RunSpec.from_docker_run(argv)
    assert not spec.unknown
    (tmp_path / "x.env").write_text("B=2\n")
    from dlgen.bundle import to_yaml

    (tmp_path / "compose.yaml").write_text(to_yaml({"services": {"svc": spec.compose_service()},
                                                    "volumes": {"data": {}}}))
    proc = subprocess.run([docker, "compose", "config", "--format", "json"], capture_output=True, text=True,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HF_TOKEN": "x"})
    assert proc.returncode == 0, proc.stderr
    svc = json.loads(proc.stdout)["services"]["svc"]
    back = RunSpec.from_compose("svc", svc)
    from dlgen.units import size_bytes

    for row in ROWS:  # compose writes sizes in bytes
        if row.compose and row.field not in ("env", "env_files", "volumes", "ports", "ulimits"):
            mine, theirs = getattr(spec, row.field), getattr(back, row.field)
            if row.field in ("shm_size", "memory"):
                mine, theirs = size_bytes(mine), size_bytes(theirs)
            assert theirs == mine, row.field
    assert back.env["A"] == "1" and back.gpu_request == spec.gpu_request
    assert [(v.source, v.target) for v in back.volumes] == [("data", "/data")]
    assert [(p.host_ip, p.host, p.container) for p in back.ports] == [("127.0.0.1", 8000, 8000)]
