"""The Docker engine dlgen talks to (verify, doctor): one client, version-checked."""

from __future__ import annotations

from dlgen.errors import DlgenError
from dlgen.timing import START_INTERVAL_MIN_ENGINE

MIN_ENGINE = START_INTERVAL_MIN_ENGINE   # what dlgen's Dockerfiles need: HEALTHCHECK --start-interval


def client(min_engine: int = MIN_ENGINE):
    """A Docker SDK client for a reachable engine >= min_engine, else a one-line DlgenError."""
    try:
        import docker
    except ImportError:  # pragma: no cover - docker is a dependency
        raise DlgenError("the docker Python package is missing", "pip install docker") from None
    try:
        c = docker.from_env(timeout=600)
        version = c.version()
    except Exception as exc:
        raise DlgenError(f"no Docker engine reachable ({type(exc).__name__})",
                         "start Docker (or scripts/test-engine.sh up) and check DOCKER_HOST") from None
    major = int(str(version.get("Version", "0")).split(".")[0] or 0)
    if major < min_engine:
        raise DlgenError(f"Docker Engine {version.get('Version')} is too old: HEALTHCHECK --start-interval needs "
                         f"Engine {min_engine} or newer", "upgrade the engine (scripts/test-engine.sh up shows how)")
    return c
