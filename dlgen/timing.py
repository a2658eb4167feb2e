"""The one timing function: model + server -> health-check timings.

    load_s         = boot_s(server) + weights_gb / disk_gbps + warmup_s(server)
    start_period   = round_up(margin x load_s)
    start_interval = short, so "healthy" follows readiness within seconds

`dlgen new` writes these numbers; `dlgen lint` (DLG012, DLG121) judges the numbers it finds
with the same function. Every constant is named here with its source and can be overridden
(`--disk-gbps`, `--margin`, `--start-period`, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from dlgen.units import format_duration, parse_docker_version, parse_duration  # noqa: F401  (re-exported)

# Cold safetensors load throughput, GB/s. The lowest cold figure measured on an H100 VM was
# 0.61 GB/s (1 GB file; 0.61-1.38 GB/s over 1-16 GB), and a default-loader read on an A10G GP3
# volume was ~0.3 GB/s (published A10G / GP3 measurement). 0.6 with a
# 2x margin covers that slowest published case.
DISK_GBPS = 0.6
# The start period only bounds how long failures are forgiven: one success ends it, so a
# generous margin costs nothing when the start interval is short (Docker docs, HEALTHCHECK --start-period).
MARGIN = 2.0
ROUND_TO_S = 10
MIN_START_PERIOD_S = 20
# Probe spacing during the start period. Docker waits the interval, then runs the probe to its
# end, so "healthy" follows readiness by at most start interval + one probe (measured on
# Docker Engine 26: healthy at 3.99 s with 1 s). The probe dlgen writes is a bare socket GET (~0.1-0.2 s of
# a python start-up, nothing imported beyond socket), so 0.5 s keeps healthy within ~0.7 s of
# ready, at a cost of about two probe start-ups a second while the model loads.
START_INTERVAL_S = 0.5
# Steady-state probe spacing, per-probe timeout and failures before unhealthy. 30 s / 3 are
# Docker's defaults (Docker docs, HEALTHCHECK); the timeout is kept well under the interval
# (DLG013) and above a python probe's own 5 s HTTP timeout.
INTERVAL_S = 30
# Without --start-interval (Docker Engine < 25: the option came with API 1.44) probes run at the
# interval from the first one, so a shorter interval keeps time-to-healthy bounded.
INTERVAL_NO_START_INTERVAL_S = 10
TIMEOUT_S = 10
RETRIES = 3
# Kubernetes: the startup probe polls every K8S_STARTUP_PERIOD_S and its
# failureThreshold x periodSeconds must cover the start period (Kubernetes docs, "Configure
# Liveness, Readiness and Startup Probes").
K8S_STARTUP_PERIOD_S = 5
K8S_PERIOD_S = 15
K8S_TIMEOUT_S = 5
# Download speed from the hub for the fetch-phase estimate: 100 MB/s, about what a 1 Gbit/s link
# gives after protocol overhead (16 GB in ~161 s). The fetch runs before the health clock starts,
# so this number sizes expectations (and the Swarm budget), not the start period. --net-gbps overrides.
NET_GBPS = 0.1
# Docker Engine that introduced --start-interval (API 1.44; Docker Engine 25 release notes).
START_INTERVAL_MIN_ENGINE = 25


@dataclass(frozen=True)
class Constants:
    disk_gbps: float = DISK_GBPS
    margin: float = MARGIN
    round_to_s: int = ROUND_TO_S
    min_start_period_s: int = MIN_START_PERIOD_S
    start_interval_s: float = START_INTERVAL_S
    interval_s: int = INTERVAL_S
    timeout_s: int = TIMEOUT_S
    retries: int = RETRIES

    def override(self, **kw) -> Constants:
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


@dataclass(frozen=True)
class Timing:
    load_s: float
    start_period_s: int
    start_interval_s: float | None  # None: not emitted (engine < 25)
    interval_s: int
    timeout_s: int
    retries: int
    k8s_startup_period_s: int
    k8s_startup_failure_threshold: int
    start_period_given: bool = False   # set by --start-period (or a measurement), not the estimate
    margin: float = MARGIN             # start period / load (--margin): also sizes a start with a download

    @property
    def k8s_startup_budget_s(self) -> int:
        return self.k8s_startup_period_s * self.k8s_startup_failure_threshold

    def with_start_period(self, start_period_s: int) -> Timing:
        """The same timings with another start period, the startupProbe's threshold covering it."""
        return replace(self, start_period_s=start_period_s,
                       k8s_startup_failure_threshold=k8s_startup_failures(start_period_s, self.k8s_startup_period_s))


def download_seconds(weights_gb: float, net_gbps: float = NET_GBPS) -> float:
    """Estimated time to download the weights in the fetch phase."""
    return round(weights_gb / net_gbps, 1)


def k8s_startup_failures(start_period_s: float, period_s: int = K8S_STARTUP_PERIOD_S) -> int:
    """The startupProbe failureThreshold whose budget (x period) covers the start period."""
    return max(1, math.ceil(start_period_s / period_s))


def round_up(seconds: float, step: int) -> int:
    return int(math.ceil(seconds / step) * step)


def load_seconds(weights_gb: float, boot_s: float, warmup_s: float, disk_gbps: float = DISK_GBPS) -> float:
    """Estimated time from container start to ready."""
    return boot_s + weights_gb / disk_gbps + warmup_s


def health_timing(weights_gb: float, boot_s: float, warmup_s: float, *,
                  constants: Constants = Constants(), docker_version: float | None = None,
                  start_period_s: int | None = None) -> Timing:
    """Health-check timings for a model of ``weights_gb`` served by a server with the given
    boot and warm-up times. ``start_period_s`` overrides the computed start period."""
    c = constants
    load_s = load_seconds(weights_gb, boot_s, warmup_s, c.disk_gbps)
    given = start_period_s is not None
    if start_period_s is None:
        start_period_s = start_period_for(load_s, c)
    has_start_interval = docker_version is None or docker_version >= START_INTERVAL_MIN_ENGINE
    interval = c.interval_s if has_start_interval else min(c.interval_s, INTERVAL_NO_START_INTERVAL_S)
    threshold = k8s_startup_failures(start_period_s)
    return Timing(
        load_s=round(load_s, 1),
        start_period_s=int(start_period_s),
        start_interval_s=c.start_interval_s if has_start_interval else None,
        interval_s=interval,
        timeout_s=min(c.timeout_s, max(1, interval - 1)),
        retries=c.retries,
        k8s_startup_period_s=K8S_STARTUP_PERIOD_S,
        k8s_startup_failure_threshold=threshold,
        start_period_given=given,
        margin=c.margin,
    )


def start_period_for(load_s: float, constants: Constants = Constants()) -> int:
    """The start period for a load time, estimated or measured: margin x load, rounded up, never
    below the minimum."""
    c = constants
    return max(c.min_start_period_s, round_up(c.margin * load_s, c.round_to_s))


def with_download(start_period_s: int, load_s: float, download_s: float, margin: float,
                  round_to_s: int = ROUND_TO_S) -> int:
    """The start period of a start that downloads the weights before loading them (a Swarm stack,
    which has no fetch phase): margin x (load + download), rounded up, never below the start period
    without the download."""
    if not download_s:
        return int(start_period_s)
    return max(int(start_period_s), round_up(margin * (load_s + download_s), round_to_s))


def group_start_period(start_period_s: int, wait_s: int, assembly_s: int = 0, round_to_s: int = ROUND_TO_S) -> int:
    """The start period of a group over several nodes: the leader's assembly (every node joins, a
    straggler still downloading included) before its own load, and never below the server's own wait
    for the group (vLLM's VLLM_ENGINE_READY_TIMEOUT_S, torchrun's join timeout): a budget below it
    restarts a group that was still allowed to form."""
    return max(int(wait_s), round_up(start_period_s + assembly_s, round_to_s))


def stack_monitor_s(start_period_s: float, retries: int, interval_s: float) -> int:
    """Swarm's update/rollback monitor window: the start period plus the probes that turn a task
    unhealthy after it (retries + 1 intervals), so an update whose probe always fails is caught."""
    return int(math.ceil(start_period_s + (retries + 1) * interval_s))


# A measured start period within this much of the one a bundle already carries from an earlier
# measurement leaves the files as they are (timings.json still records the new runs): start-up times
# of one host vary by a few seconds between runs, and the start period is rounded to ROUND_TO_S.
MEASURE_TOLERANCE_S = ROUND_TO_S
MEASURE_TOLERANCE = 0.10


def for_server(weights_gb: float, server: dict, **kw) -> Timing:
    """health_timing with the boot/warm-up figures of a server preset (dlgen/data/servers.yaml)."""
    return health_timing(weights_gb, float(server["boot_s"]), float(server["warmup_s"]), **kw)
