import pytest

from dlgen import catalog, reference, timing


def preset(name="python"):
    return reference.servers()["servers"][name]


def start_period(model, server="python", **kw):
    return timing.for_server(catalog.resolve(model).weights_gb, preset(server), **kw).start_period_s


def test_start_periods_grow_with_model_size():
    small, mid, large = start_period("resnet50"), start_period("llama-8b"), start_period("llama-70b")
    assert small < mid < large
    assert mid >= 60


def test_every_catalog_model_is_ordered_by_weight_size():
    pairs = sorted((catalog.find(e["name"]).weights_gb, start_period(e["name"])) for e in reference.models())
    periods = [p for _, p in pairs]
    assert periods == sorted(periods)


def test_formula_gives_the_worked_numbers():
    """Worked by hand, not from the constants: 16 GB at 0.6 GB/s is 26.7 s; + 6 s boot + 2 s warm-up
    = 34.7 s; x 2 margin = 69.3 s, rounded up to 70 s. A change of constants must change these."""
    t = timing.health_timing(16.0, 6.0, 2.0)
    assert t.load_s == pytest.approx(34.7, abs=0.05)
    assert t.start_period_s == 70
    assert timing.health_timing(0.1, 6.0, 2.0).start_period_s == 20   # 8.2 s x 2 = 16.3 -> 20
    assert timing.health_timing(141.0, 6.0, 2.0).start_period_s == 490   # 243 s x 2 = 486 -> 490
    assert t.start_interval_s == timing.START_INTERVAL_S == 0.5
    assert t.timeout_s < t.interval_s


def test_constants_are_overridable():
    base = timing.health_timing(16.0, 6.0, 2.0)
    faster = timing.health_timing(16.0, 6.0, 2.0, constants=timing.Constants().override(disk_gbps=7.0))
    assert faster.load_s < base.load_s
    wider = timing.health_timing(16.0, 6.0, 2.0, constants=timing.Constants().override(margin=4.0))
    assert wider.start_period_s > base.start_period_s
    fixed = timing.health_timing(16.0, 6.0, 2.0, start_period_s=300)
    assert fixed.start_period_s == 300


def test_kubernetes_budget_covers_start_period():
    for e in reference.models():
        for server in ("python", "vllm", "tgi"):
            t = timing.for_server(catalog.find(e["name"]).weights_gb, preset(server))
            assert t.k8s_startup_budget_s >= t.start_period_s


def test_old_engine_gets_no_start_interval_and_a_shorter_interval():
    t = timing.health_timing(16.0, 6.0, 2.0, docker_version=24.0)
    assert t.start_interval_s is None
    assert t.interval_s <= timing.INTERVAL_NO_START_INTERVAL_S
    assert timing.health_timing(16.0, 6.0, 2.0, docker_version=25.0).start_interval_s is not None


def test_vllm_start_period_exceeds_python_for_same_model():
    assert start_period("llama-8b", "vllm") > start_period("llama-8b", "python")


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("1m30s", 90), ("1.5m", 90), ("500ms", 0.5),
                                          ("2h", 7200), ("45", 45)])
def test_parse_duration(text, seconds):
    assert timing.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "abc", "10x", "s10"])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        timing.parse_duration(bad)
