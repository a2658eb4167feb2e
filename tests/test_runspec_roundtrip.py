"""RunSpec codecs are inverse on everything RunSpec models (hypothesis): docker run argv -> RunSpec ->
argv, and compose -> RunSpec -> compose; the GPU request is one value whatever target renders it."""

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from dlgen.runspec import GpuRequest, RunSpec

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
    a.append(draw(st.sampled_from(["vllm/vllm-openai:v0.11.0", "my/app:1", "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime"])))
    a += draw(st.lists(WORD, max_size=4))
    return a


def _same(spec: RunSpec) -> RunSpec:
    return replace(spec, origin="", line=1, service="", unknown=[])


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(docker_runs())
def test_docker_run_argv_round_trips(argv):
    spec = RunSpec.from_docker_run(argv[2:] if argv[:2] == ["docker", "run"] else argv)
    assert not spec.unknown, spec.unknown
    again = RunSpec.from_docker_run(spec.docker_run_argv()[2:])
    assert _same(again) == _same(spec)
    assert again.docker_run_argv() == spec.docker_run_argv()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(docker_runs())
def test_compose_round_trips(argv):
    spec = RunSpec.from_docker_run(argv[2:])
    service = spec.compose_service()
    back = RunSpec.from_compose(spec.name or "svc", service)
    assert back.compose_service() == service
    assert back.gpu_request == spec.gpu_request
    assert (back.restart, back.shm_size, back.ipc, back.ports, back.volumes, back.env, back.image, back.command) == \
        (spec.restart, spec.shm_size, spec.ipc, spec.ports, spec.volumes, spec.env, spec.image, spec.command)


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
