"""The container options dlgen models, one row each: the RunSpec field, its ``docker run`` flag
(long, short, aliases), its compose key and the types the compose specification allows there, its
Docker SDK argument, and the value kind that says how the value is written and read in each.

RunSpec's codecs (``docker_run_argv``/``from_docker_run``, ``compose_service``/``from_compose``,
``sdk_kwargs``) are loops over ``ROWS``; a new option is a new row. Sources: the ``docker run``
reference (docs.docker.com/reference/cli/docker/container/run/), the compose specification's
service schema (github.com/compose-spec/compose-spec, schema/compose-spec.json) and the Docker SDK
for Python's ``containers.run`` arguments (docker-py.readthedocs.io).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dlgen.runvalues import GpuRequest, Port, Volume
from dlgen.units import format_duration, parse_duration

_S, _N, _B = (str,), (int, float), (bool,)
SCALAR = (str, int, float, bool)


def _absent(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, (str, list, dict)) and not value)


def as_argv(value) -> list[str]:
    """A compose command/entrypoint (list or shell string) as argv."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError:
        return str(value).split()


def maybe_int(v) -> int | None:
    try:
        return int(str(v).split("-")[0])
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Kind:
    """How one kind of value travels between the targets.

    ``words``: the argv values for a set value (one per occurrence of the flag);
    ``add``: the field's new value after one more argv occurrence (current value, text, flag);
    ``to_compose``/``from_compose``: the compose value and back; ``to_sdk``: the SDK argument;
    ``empty``: the value that is not written anywhere.
    """

    words: Callable[[Any], list[str]]
    add: Callable[[Any, str, str], Any]
    to_compose: Callable[[Any], Any]
    from_compose: Callable[[Any], Any]
    to_sdk: Callable[[Any], Any]
    empty: Callable[[Any], bool] = _absent
    switch: bool = False


def _text_kind(to_sdk: Callable[[Any], Any] = lambda v: v) -> Kind:
    return Kind(words=lambda v: [v], add=lambda _cur, text, _flag: text, to_compose=lambda v: v,
                from_compose=lambda raw: str(raw), to_sdk=to_sdk)


SWITCH = Kind(words=lambda v: [], add=lambda _cur, _text, _flag: True, to_compose=lambda v: True,
              from_compose=bool, to_sdk=lambda v: True, switch=True)
TEXT = _text_kind()


def _restart_sdk(policy: str) -> dict:
    name, _, count = policy.partition(":")
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


def _gpus_text(text: str) -> str:
    return text.strip("'\"") if text.count('"') != 2 or not text.startswith('"') else text.strip('"')


RESTART = _text_kind(_restart_sdk)
GPUS = Kind(words=lambda v: [v], add=lambda _cur, text, _flag: _gpus_text(text), to_compose=lambda v: v,
            from_compose=str, to_sdk=lambda v: _gpu_sdk(v))


def _gpu_sdk(text: str) -> list:
    g = GpuRequest.parse(text)
    return [g.sdk()] if g else []


def _seconds_from_compose(raw) -> int | None:
    try:
        return int(parse_duration(str(raw)))
    except ValueError:
        return None


SECONDS = Kind(words=lambda v: [str(v)], add=lambda _cur, text, _flag: maybe_int(text),
               to_compose=lambda v: format_duration(v), from_compose=_seconds_from_compose, to_sdk=lambda v: v,
               empty=lambda v: v is None)
# docker run --entrypoint takes one executable (its value is not split); rendering puts the rest of a
# longer entrypoint at the head of the command (RunSpec.docker_run_argv)
WORDS = Kind(words=lambda v: [v[0] if v else ""], add=lambda _cur, text, _flag: [text] if text else [],
             to_compose=list, from_compose=lambda raw: as_argv(raw) if raw is not None else None,
             to_sdk=list, empty=lambda v: v is None)
COMMAND = Kind(words=lambda v: [], add=lambda cur, _t, _f: cur, to_compose=list, from_compose=as_argv, to_sdk=list)


def _items(render: Callable[[Any], str], parse: Callable[[str, str], Any], from_item: Callable[[Any], Any],
           to_sdk: Callable[[list], Any] = list) -> Kind:
    return Kind(words=lambda v: [render(x) for x in v], add=lambda cur, text, flag: [*cur, parse(text, flag)],
                to_compose=lambda v: [render(x) for x in v],
                from_compose=lambda raw: [from_item(x) for x in (raw if isinstance(raw, list) else [raw])],
                to_sdk=to_sdk)


STRINGS = _items(str, lambda text, _f: text, str)
DEVICES = _items(str, lambda text, _f: text, lambda x: str(x.get("source", "") if isinstance(x, dict) else x))
ENV_FILES = _items(str, lambda text, _f: text, lambda x: str(x.get("path") if isinstance(x, dict) else x))


def _port_kind() -> Kind:
    def from_item(p):
        if isinstance(p, dict):
            return Port(int(p.get("target") or 0), maybe_int(p.get("published")), p.get("host_ip"),
                        p.get("protocol") or "tcp")
        return Port.parse(str(p))

    def sdk(ports):
        return {f"{p.container}/{p.protocol}": ((p.host_ip, p.host) if p.host_ip else p.host) for p in ports}

    return _items(lambda p: p.render(), lambda text, _f: Port.parse(text), from_item, sdk)


def _volume_kind() -> Kind:
    def parse(text: str, flag: str):
        if flag != "--mount":
            return Volume.parse(text)
        parts = dict(p.partition("=")[::2] for p in text.split(","))
        return Volume(parts.get("source", parts.get("src", "")),
                      parts.get("target", parts.get("dst", parts.get("destination", ""))), "",
                      parts.get("type", "volume"))

    def from_item(v):
        if isinstance(v, dict):
            return Volume(str(v.get("source") or ""), str(v.get("target") or ""), "", str(v.get("type") or "volume"))
        return Volume.parse(str(v))

    def sdk(volumes):
        return {v.source: {"bind": v.target, "mode": v.mode or "rw"} for v in volumes if v.source}

    return _items(lambda v: v.render(), parse, from_item, sdk)


def _pairs(sep_needed: bool, to_compose: Callable[[dict], Any], to_sdk: Callable[[dict], Any],
           value_from_compose: Callable[[Any], Any] = lambda v: str(v)) -> Kind:
    """KEY=VALUE pairs; without ``sep_needed`` a bare KEY is KEY passed by name (value None)."""

    def add(cur: dict, text: str, _flag: str) -> dict:
        k, eq, v = text.partition("=")
        return {**cur, k: v if (eq or sep_needed) else None}

    def from_compose(raw) -> dict:
        if isinstance(raw, dict):
            return {str(k): (None if v is None and not sep_needed else value_from_compose(v)) for k, v in raw.items()}
        out: dict = {}
        for item in raw or []:
            out = add(out, str(item), "")
        return out

    return Kind(words=lambda v: [k if val is None else f"{k}={val}" for k, val in v.items()], add=add,
                to_compose=to_compose, from_compose=from_compose, to_sdk=to_sdk)


def _ulimit_compose(v: str):
    if ":" in v:
        soft, hard = v.split(":", 1)
        return {"soft": int(soft), "hard": int(hard)}
    try:
        return int(v)
    except ValueError:
        return v


def _ulimit_from_compose(v) -> str:
    return f"{v.get('soft')}:{v.get('hard')}" if isinstance(v, dict) else str(v)


def _ulimit_sdk(limits: dict) -> list:
    from docker.types import Ulimit  # docker SDK, only for verify

    return [Ulimit(name=n, soft=int(v.split(":")[0]), hard=int(v.split(":")[-1])) for n, v in limits.items()]


ENV = _pairs(False, lambda v: [k if val is None else f"{k}={val}" for k, val in v.items()],
             lambda v: {k: val for k, val in v.items() if val is not None} or None)
LABELS = _pairs(True, dict, dict)
ULIMITS = _pairs(True, lambda v: {k: _ulimit_compose(val) for k, val in v.items()}, _ulimit_sdk,
                 _ulimit_from_compose)


@dataclass(frozen=True)
class Row:
    """One modeled option. ``flag`` None: not a docker run flag (the command is positional)."""

    field: str
    flag: str | None
    compose: str | None
    sdk: str | None
    kind: Kind
    short: str = ""
    aliases: tuple[str, ...] = ()
    joined: bool = False          # written as --flag=value
    compose_types: tuple = _S
    compose_items: tuple = ()     # the types a compose list (or mapping) may hold

    def argv(self, value) -> list[str]:
        if self.flag is None or self.kind.empty(value):
            return []
        if self.kind.switch:
            return [f"-{self.short}" if self.short else self.flag]
        out: list[str] = []
        for word in self.kind.words(value):
            out += [f"{self.flag}={word}"] if self.joined else [f"-{self.short}" if self.short else self.flag, word]
        return out


# Order: the order of the flags in a rendered docker run line and of the keys in a compose service.
ROWS: tuple[Row, ...] = (
    Row("detach", "--detach", None, None, SWITCH, short="d"),
    Row("name", "--name", "container_name", "name", TEXT),
    Row("entrypoint", "--entrypoint", "entrypoint", "entrypoint", WORDS, compose_types=(str, list, type(None)),
        compose_items=SCALAR),
    Row("command", None, "command", "command", COMMAND, compose_types=(str, list, type(None)), compose_items=SCALAR),
    Row("interactive", "--interactive", "stdin_open", "stdin_open", SWITCH, short="i", compose_types=_B),
    Row("tty", "--tty", "tty", "tty", SWITCH, short="t", compose_types=_B),
    Row("remove", "--rm", None, "auto_remove", SWITCH),
    Row("gpus", "--gpus", None, "device_requests", GPUS),
    Row("runtime", "--runtime", "runtime", "runtime", TEXT, joined=True),
    Row("devices", "--device", "devices", "devices", DEVICES, compose_types=(list,), compose_items=(str, dict)),
    Row("restart", "--restart", "restart", "restart_policy", RESTART),
    Row("init", "--init", "init", "init", SWITCH, compose_types=_B),
    Row("ipc", "--ipc", "ipc", "ipc_mode", TEXT, joined=True),
    Row("shm_size", "--shm-size", "shm_size", "shm_size", TEXT, joined=True, compose_types=(str, int)),
    Row("ulimits", "--ulimit", "ulimits", "ulimits", ULIMITS, compose_types=(dict,)),
    Row("memory", "--memory", "mem_limit", "mem_limit", TEXT, short="m", joined=True, compose_types=(str, int)),
    Row("stop_timeout", "--stop-timeout", "stop_grace_period", None, SECONDS, compose_types=(str, int)),
    Row("stop_signal", "--stop-signal", "stop_signal", "stop_signal", TEXT, joined=True),
    Row("user", "--user", "user", "user", TEXT, short="u", compose_types=(str, int)),
    Row("workdir", "--workdir", "working_dir", "working_dir", TEXT, short="w"),
    Row("network", "--network", "network_mode", "network_mode", TEXT, aliases=("--net",), joined=True),
    Row("pid", "--pid", "pid", "pid_mode", TEXT, joined=True),
    Row("privileged", "--privileged", "privileged", "privileged", SWITCH, compose_types=_B),
    Row("read_only", "--read-only", "read_only", "read_only", SWITCH, compose_types=_B),
    Row("cap_drop", "--cap-drop", "cap_drop", "cap_drop", STRINGS, compose_types=(list,), compose_items=_S),
    Row("cap_add", "--cap-add", "cap_add", "cap_add", STRINGS, compose_types=(list,), compose_items=_S),
    Row("security_opt", "--security-opt", "security_opt", "security_opt", STRINGS, compose_types=(list,),
        compose_items=_S),
    Row("ports", "--publish", "ports", "ports", _port_kind(), short="p", compose_types=(list,),
        compose_items=(str, int, dict)),
    Row("volumes", "--volume", "volumes", "volumes", _volume_kind(), short="v", aliases=("--mount",),
        compose_types=(list,), compose_items=(str, dict)),
    Row("env_files", "--env-file", "env_file", None, ENV_FILES, compose_types=(str, list), compose_items=(str, dict)),
    Row("env", "--env", "environment", "environment", ENV, short="e", compose_types=(dict, list),
        compose_items=SCALAR),
    Row("labels", "--label", "labels", "labels", LABELS, short="l", compose_types=(dict, list), compose_items=SCALAR),
)

BY_FLAG: dict[str, Row] = {}
for _row in ROWS:
    for _name in (_row.flag, *_row.aliases, f"-{_row.short}" if _row.short else None):
        if _name:
            BY_FLAG[_name] = _row
SWITCH_WORDS = frozenset(w for r in ROWS if r.kind.switch for w in r.argv(True)) | {"-it", "--no-healthcheck"}

# docker run switches dlgen reads past without modelling them (they take no value)
IGNORED_SWITCHES = frozenset({"--publish-all", "-P", "--oom-kill-disable", "--sig-proxy", "--quiet"})

# Compose service keys that are not run options (kept in RunSpec.extra) and their types.
COMPOSE_OTHER_TYPES: dict[str, tuple] = {
    "image": _S, "profiles": (list,), "depends_on": (dict, list), "healthcheck": (dict,),
    "deploy": (dict, type(None)), "build": (str, dict), "gpus": (str, list),
}
COMPOSE_OTHER_ITEMS: dict[str, tuple] = {"profiles": _S, "depends_on": _S, "gpus": (dict,)}
