"""Deployment targets, registered like lint rules: one module per target.

A target is one value (``Target``) naming what it renders and how it keeps its files current:

- ``files(spec, ctx)``: the bundle files it writes for this spec, path -> template name (the template
  reads the shared context plus what ``context`` adds);
- ``context(spec, ctx)``: the values its templates read (its documents, built from the DeploySpec);
- ``retime(path, text, r)``: the file's text with a measured start period (``verify --write-timings``),
  beside the render that wrote it; YAML files are edited through ruamel's round-trip, so comments
  and key order stay;
- ``verify(bundle, options)``: boot the bundle the way this target starts it (``verify --target KEY``).

``dlgen new`` renders every registered target, ``verify --target`` offers those with ``verify``, and
``--write-timings`` asks each target to retime the files it owns. Adding a target is one module
that calls ``register`` (and a line in BUILTIN for dlgen's own): see CONTRIBUTING.md, "Add a target".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlgen.spec import DeploySpec

# dlgen's own targets, in the order their files are rendered.
BUILTIN = ("image", "docker_run", "compose", "swarm", "kubernetes", "kserve", "readme")


@dataclass(frozen=True)
class Retime:
    """A measured start-up, as every target writes it."""
    start_period_s: int        # margin x measured load, rounded (timing.start_period_for)
    load_s: float              # the slowest measured start to ready
    margin: float
    note: str                  # "measured on <GPU>, <date>: 41.2 s"
    where: str                 # "measured on <GPU>, <date>"
    download_s: float = 0.0    # what a start that downloads first (a Swarm stack) adds to the load


@dataclass(frozen=True)
class VerifyOptions:
    cpu: bool = False
    keep: bool = False
    timeout_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    volumes_of: str | None = None
    measure: bool = False
    progress: Callable[[str], None] | None = None


@dataclass
class VerifyResult:
    """One verify run: whether the bundle turned healthy, where it failed, and its phases in seconds."""
    target: str
    healthy: bool
    failure: dict[str, Any] | None
    ready_s: float | None = None
    healthy_s: float | None = None
    run_id: str | None = None
    report: dict[str, Any] = field(default_factory=dict)   # every measured phase (the JSON output)

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> VerifyResult:
        return cls(target=str(report.get("target") or "docker"), healthy=bool(report.get("healthy")),
                   failure=report.get("failure"), ready_s=report.get("ready_s"), healthy_s=report.get("healthy_s"),
                   run_id=report.get("run_id"), report=report)

    @property
    def passed(self) -> bool:
        return self.failure is None and self.healthy


Files = Callable[["DeploySpec", dict], dict[str, str]]
Context = Callable[["DeploySpec", dict], dict[str, Any]]
Retimer = Callable[[str, str, Retime], str]
Verifier = Callable[[Path, VerifyOptions], VerifyResult]


def _no_context(spec: DeploySpec, ctx: dict) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Target:
    key: str                                   # compose, swarm, k8s, ...: verify --target KEY
    title: str                                 # one line for help and docs
    files: Files
    context: Context = _no_context
    retime: Retimer | None = None
    verify: Verifier | None = None
    owns: tuple[str, ...] = ()                 # every file name it may write (any spec)


_REGISTRY: dict[str, Target] = {}
_loaded = False


def register(target: Target) -> Target:
    """Add a target (a module's import registers it); a second one with the same key replaces it."""
    _REGISTRY[target.key] = target
    return target


def unregister(key: str) -> None:
    _REGISTRY.pop(key, None)


def all_targets() -> list[Target]:
    """Every registered target: dlgen's own (BUILTIN order), then any added later."""
    global _loaded
    if not _loaded:
        for name in BUILTIN:
            importlib.import_module(f"dlgen.targets.{name}")
        _loaded = True
    return list(_REGISTRY.values())


def get(key: str) -> Target | None:
    return next((t for t in all_targets() if t.key == key), None)


def verifiable() -> list[str]:
    """The keys `dlgen verify --target` accepts."""
    return [t.key for t in all_targets() if t.verify is not None]
