"""RunSpec: how a container is run, whatever wrote it down.

One object renders to a ``docker run`` line, a compose service, Docker SDK keyword arguments
and a Kubernetes container, and is parsed back from ``docker run`` argv and compose services,
so the run-configuration lint rules judge all of them the same way.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace

from dlgen.runflags import (
    BY_FLAG,
    COMPOSE_OTHER_ITEMS,
    COMPOSE_OTHER_TYPES,
    IGNORED_SWITCHES,
    ROWS,
    SCALAR,
    SWITCH_WORDS,
    Row,
    maybe_int,
)
from dlgen.runvalues import GpuRequest, Port, Volume
from dlgen.timing import K8S_PERIOD_S, K8S_STARTUP_PERIOD_S, K8S_TIMEOUT_S, k8s_startup_failures
from dlgen.units import format_duration, parse_duration

SECRET_NAME_RE = re.compile(
    r"^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN|HUGGINGFACE_TOKEN|WANDB_API_KEY|OPENAI_API_KEY|NGC_API_KEY"
    r"|.*_TOKEN|.*_SECRET|.*_PASSWORD|.*_API_KEY|.*_ACCESS_KEY|.*_SECRET_KEY)$",
    re.IGNORECASE,
)


def dig(obj, *keys):
    """obj[k1][k2]... through mappings only; None as soon as a level is missing or not a mapping."""
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME_RE.match(name))


@dataclass
class Health:
    """A health check: ``test`` as Docker stores it (["CMD", ...], ["CMD-SHELL", "..."], ["NONE"])."""

    test: list[str] = field(default_factory=list)
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None
    disabled: bool = False

    def command_argv(self) -> list[str]:
        if not self.test:
            return []
        if self.test[0] == "CMD":
            return list(self.test[1:])
        if self.test[0] == "CMD-SHELL":
            return ["/bin/sh", "-c", " ".join(self.test[1:])]
        return []

    def command_text(self) -> str:
        if not self.test:
            return ""
        if self.test[0] == "CMD-SHELL":
            return " ".join(self.test[1:])
        return " ".join(self.test[1:] if self.test[0] == "CMD" else self.test)

    # the Dockerfile rendering and parsing; compose, the Docker SDK and docker run are in RunSpec's
    # codecs, the Kubernetes probes in bundle.k8s_documents: all from this one value
    bad: list[str] = field(default_factory=list, compare=False)   # options that did not parse

    @property
    def argv(self) -> list[str]:
        return self.command_argv()

    @property
    def shell(self) -> bool:
        return bool(self.test) and self.test[0] == "CMD-SHELL"

    @property
    def text(self) -> str:
        return self.command_text()

    def dockerfile(self, multiline: bool = False) -> str:
        """The HEALTHCHECK instruction; ``multiline`` puts CMD on a continuation line."""
        if self.disabled or not self.test or self.test[0] == "NONE":
            return "HEALTHCHECK NONE"
        opts = [f"--{name}={format_duration(v)}" for name, v in (
            ("interval", self.interval), ("timeout", self.timeout), ("start-period", self.start_period),
            ("start-interval", self.start_interval)) if v is not None]
        if self.retries is not None:
            opts.append(f"--retries={self.retries}")
        import json

        body = self.command_text() if self.shell else json.dumps(self.command_argv())
        sep = " \\\n    " if multiline else " "
        return f"HEALTHCHECK {' '.join(opts)}{sep}CMD {body}"

    _DURATIONS = ("interval", "timeout", "start_period", "start_interval")

    def _durations(self):
        return [(key, getattr(self, key)) for key in self._DURATIONS if getattr(self, key) is not None]

    def docker_run_words(self) -> list[str]:
        """The ``docker run --health-*`` flags."""
        if self.disabled:
            return ["--no-healthcheck"]
        # --health-cmd is a shell line (CMD-SHELL): an exec-form test is quoted word by word
        text = shlex.join(self.test[1:]) if self.test and self.test[0] == "CMD" else self.command_text()
        out = ["--health-cmd", text] if self.test else []
        out += [f"--health-{key.replace('_', '-')}={format_duration(v)}" for key, v in self._durations()]
        return out + ([f"--health-retries={self.retries}"] if self.retries is not None else [])

    def apply_flag(self, flag: str, text: str) -> bool:
        """Take one ``--health-*`` flag; False when the flag is not one or its value does not parse."""
        key = flag[len("--health-"):].replace("-", "_")
        if key == "cmd":
            self.test = ["CMD-SHELL", text]
        elif key == "retries":
            self.retries = maybe_int(text)
        elif key in self._DURATIONS:
            try:
                setattr(self, key, parse_duration(text))
            except ValueError:
                return False
        else:
            return False
        return True

    def compose(self) -> dict:
        """The compose (and Swarm stack) ``healthcheck`` mapping."""
        if self.disabled:
            return {"disable": True}
        hc: dict = {"test": list(self.test)} if self.test else {}
        hc.update((key, format_duration(v)) for key, v in self._durations())
        if self.retries is not None:
            hc["retries"] = self.retries
        return hc

    @classmethod
    def from_compose(cls, hc: dict, bad: list[str] | None = None) -> Health:
        """A compose ``healthcheck`` mapping; keys whose value does not parse are appended to ``bad``
        as ``healthcheck.KEY``."""
        h = cls(disabled=bool(hc.get("disable")))
        test = hc.get("test")
        if isinstance(test, str):
            h.test = ["CMD-SHELL", test]
        elif isinstance(test, list):
            h.test = [str(t) for t in test]
            h.disabled = h.disabled or (bool(h.test) and h.test[0] == "NONE")
        for key in cls._DURATIONS:
            if hc.get(key) is not None:
                try:
                    setattr(h, key, parse_duration(str(hc[key])))
                except ValueError:
                    if bad is not None:
                        bad.append(f"healthcheck.{key}")
        if hc.get("retries") is not None:
            h.retries = maybe_int(hc.get("retries"))
        return h

    def k8s_probes(self, ready: dict | None = None, live: dict | None = None, *,
                   startup_period_s: int = K8S_STARTUP_PERIOD_S, period_s: int = K8S_PERIOD_S,
                   timeout_s: int = K8S_TIMEOUT_S) -> dict[str, dict]:
        """The Kubernetes startupProbe (its failureThreshold x periodSeconds covers the start period),
        readinessProbe (only with a ``ready`` action) and livenessProbe (fails after ``retries``).
        ``ready``/``live`` are probe actions ({"httpGet": ...}); without them the probes exec this
        check's command."""
        action = {"exec": {"command": self.command_argv()}}
        start = ready or action
        failures = k8s_startup_failures(self.start_period or 0, startup_period_s)
        probes = {"startupProbe": {**start, "periodSeconds": startup_period_s, "failureThreshold": failures,
                                   "timeoutSeconds": timeout_s}}
        if ready:
            probes["readinessProbe"] = {**ready, "periodSeconds": 10, "failureThreshold": 3,
                                        "timeoutSeconds": timeout_s}
        probes["livenessProbe"] = {**(live or start), "periodSeconds": period_s,
                                   "failureThreshold": self.retries or 3, "timeoutSeconds": timeout_s}
        return probes

    def sdk(self):
        """A Docker SDK ``Healthcheck`` (durations in nanoseconds), or None when there is nothing to set."""
        if self.disabled or not (self.test or self.start_period is not None):
            return None
        from docker.types import Healthcheck  # docker SDK, only for verify

        hc: dict[str, object] = {key: int(v * 1_000_000_000) for key, v in self._durations()}
        if self.test:
            hc["test"] = list(self.test)
        if self.retries is not None:
            hc["retries"] = self.retries
        return Healthcheck(**hc)

    @classmethod
    def from_instruction(cls, ins, resolve=None) -> Health | None:
        """A HEALTHCHECK instruction as a Health (None for HEALTHCHECK NONE); options that do not parse
        are left unset and named in ``bad``. ``resolve`` substitutes ARG defaults in option values."""
        if not ins.value or ins.value[0].upper() == "NONE":
            return None
        h = cls()
        for key in ("interval", "timeout", "start-period", "start-interval"):
            v = ins.flag(key)
            if v is None:
                continue
            try:
                setattr(h, key.replace("-", "_"), parse_duration(resolve(v) if resolve else v))
            except ValueError:
                h.bad.append(key)
        retries = ins.flag("retries")
        h.retries = int(retries) if retries is not None and retries.strip().isdigit() else None
        words = list(ins.value[1:])
        h.test = ["CMD", *words] if ins.json else ["CMD-SHELL", " ".join(words)]
        return h


@dataclass
class RunSpec:
    image: str = ""
    command: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    name: str | None = None
    gpus: str | None = None               # "all", "2", "device=0,1"
    runtime: str | None = None
    devices: list[str] = field(default_factory=list)
    restart: str | None = None
    remove: bool = False
    detach: bool = False
    interactive: bool = False
    tty: bool = False
    init: bool = False
    shm_size: str | None = None
    ipc: str | None = None
    ulimits: dict[str, str] = field(default_factory=dict)
    ports: list[Port] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    env: dict[str, str | None] = field(default_factory=dict)  # None: passed by name only
    env_files: list[str] = field(default_factory=list)
    health: Health | None = None
    workdir: str | None = None
    user: str | None = None
    network: str | None = None
    pid: str | None = None
    privileged: bool = False
    read_only: bool = False
    cap_drop: list[str] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    security_opt: list[str] = field(default_factory=list)
    memory: str | None = None
    stop_timeout: int | None = None
    stop_signal: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # where it was read from (for lint messages)
    origin: str = ""          # "docker-run" | "compose"
    line: int = 1
    service: str = ""         # compose service name
    extra: dict = field(default_factory=dict)  # compose-only data (deploy, depends_on ...)
    unknown: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ queries
    @property
    def gpu_request(self) -> GpuRequest | None:
        """The GPUs asked for, from ``--gpus`` or a compose GPU reservation (None when there is none or it
        does not parse)."""
        if self.gpus:
            return GpuRequest.parse(self.gpus)
        for dev in self.compose_gpu_devices():
            caps = dev.get("capabilities")
            if isinstance(caps, list) and "gpu" in caps:
                return GpuRequest.from_compose(dev)
        return None

    @property
    def requests_gpu(self) -> bool:
        if self.gpus or (self.runtime or "").lower() == "nvidia":
            return True
        if any("nvidia.com/gpu" in d for d in self.devices):
            return True
        return bool(self.compose_gpu_devices())

    def compose_gpu_devices(self) -> list[dict]:
        devs = dig(self.extra, "deploy", "resources", "reservations", "devices")
        out = [d for d in devs if isinstance(d, dict)] if isinstance(devs, list) else []
        g = self.extra.get("gpus")
        if g:
            out.append({"capabilities": ["gpu"], "count": g} if not isinstance(g, list) else {"capabilities": ["gpu"]})
        return out

    def without_gpus(self) -> RunSpec:
        """The same run for a host without GPUs (``dlgen verify --cpu``)."""
        extra = dict(self.extra)
        deploy = extra.pop("deploy", None)
        if isinstance(deploy, dict):
            deploy = {k: v for k, v in deploy.items() if k != "resources"}
            if deploy:
                extra["deploy"] = deploy
        extra.pop("gpus", None)
        runtime = None if (self.runtime or "").lower() == "nvidia" else self.runtime
        return replace(self, gpus=None, runtime=runtime, extra=extra,
                       devices=[d for d in self.devices if "nvidia.com/gpu" not in d])

    def full_command(self) -> list[str]:
        return [*(self.entrypoint or []), *self.command]

    # ------------------------------------------------------------------ rendering
    def docker_run_argv(self) -> list[str]:
        a: list[str] = ["docker", "run"]
        for row in ROWS:
            a += row.argv(getattr(self, row.field))
        for i in range(2, len(a) - 1):
            if a[i] == "-i" and a[i + 1] == "-t":
                a[i:i + 2] = ["-it"]
                break
        if self.health:
            a += self.health.docker_run_words()
        a.append(self.image)
        a += [*(self.entrypoint or [])[1:], *self.command]
        return a

    def docker_run(self, multiline: bool = True, quote_image_var: str | None = None) -> str:
        """The ``docker run`` line as shell text; ``quote_image_var`` writes the image as "$VAR"."""
        argv = self.docker_run_argv()
        words = [_shell_word(w, argv[i - 1] if i else "") for i, w in enumerate(argv)]
        if quote_image_var:
            words[argv.index(self.image, 2)] = f'"${{{quote_image_var}}}"'
        if not multiline:
            return " ".join(words)
        lines, cur = [], words[:2]
        i = 2
        while i < len(words):
            w = words[i]
            if w.startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-") \
                    and "=" not in w and argv[i] not in SWITCH_WORDS:
                group = [w, words[i + 1]]
                i += 2
            else:
                group = [w]
                i += 1
            if argv[i - len(group)] == self.image:
                group += words[i:]
                i = len(words)
            if len(" ".join(cur + group)) > 76 and len(cur) > 0:
                lines.append(" ".join(cur))
                cur = group
            else:
                cur += group
        lines.append(" ".join(cur))
        return " \\\n  ".join(lines)

    def compose_service(self) -> dict:
        s: dict = {"image": self.image}
        for row in ROWS:
            value = getattr(self, row.field)
            if row.compose and not row.kind.empty(value):
                s[row.compose] = row.kind.to_compose(value)
        if self.health:
            s["healthcheck"] = self.health.compose()
        deploy = dict(self.extra.get("deploy") or {})
        gpu = self.gpu_request
        if gpu and "resources" not in deploy:
            deploy["resources"] = {"reservations": {"devices": [gpu.compose()]}}
        if deploy:
            s["deploy"] = deploy
        return s

    def sdk_kwargs(self) -> dict:
        """Keyword arguments for ``docker.from_env().containers.run`` / ``create``."""
        k: dict = {"image": self.image, "detach": True}
        for row in ROWS:
            value = getattr(self, row.field)
            if row.sdk and not row.kind.empty(value):
                converted = row.kind.to_sdk(value)
                if converted is not None:
                    k[row.sdk] = converted
        if self.health:
            check = self.health.sdk()
            if check is not None:
                k["healthcheck"] = check
        return k

    # ------------------------------------------------------------------ parsing
    @classmethod
    def from_docker_run(cls, argv: list[str], line: int = 1) -> RunSpec:
        """Parse ``docker run ...`` (or ``nvidia-docker run``, ``docker container run``) argv."""
        spec = cls(origin="docker-run", line=line)
        words = list(argv)
        if "run" in words:  # skip "docker run", "docker container run"; bare options are taken as they are
            del words[:words.index("run") + 1]
        if argv and argv[0].endswith("nvidia-docker"):
            spec.runtime = "nvidia"
            spec.extra["nvidia_docker"] = True
        i = 0
        health = Health()
        has_health = False
        while i < len(words):
            w = words[i]
            if w == "--":
                i += 1
                break
            if not w.startswith("-") or w == "-":
                break
            if w.startswith("--"):
                flag, eq, val = w.partition("=")
                row = BY_FLAG.get(flag)
                if flag == "--no-healthcheck" or (row and row.kind.switch) or flag in IGNORED_SWITCHES:
                    i += 1
                    if not (eq and val.lower() == "false"):
                        spec._switch(flag)
                    continue
                if not eq:
                    if i + 1 >= len(words):
                        spec.unknown.append(w)
                        break
                    val = words[i + 1]
                    i += 2
                else:
                    i += 1
                if flag.startswith("--health-"):
                    has_health = True
                    if not health.apply_flag(flag, val):
                        spec.unknown.append(flag)
                elif row:
                    spec._add(row, val, flag)
                else:
                    spec.unknown.append(flag)
                continue
            # short flags, possibly combined (-itd) or with attached value (-p8000:80)
            letters = w[1:]
            j = 0
            while j < len(letters):
                row = BY_FLAG.get("-" + letters[j])
                if "-" + letters[j] in IGNORED_SWITCHES:
                    j += 1
                    continue
                if row and row.kind.switch:
                    spec._switch(row.flag or "")
                    j += 1
                    continue
                rest = letters[j + 1:]
                if rest.startswith("="):
                    rest = rest[1:]
                if rest:
                    val = rest
                    i += 1
                else:
                    val = words[i + 1] if i + 1 < len(words) else ""
                    i += 2
                if row:
                    spec._add(row, val, row.flag or "")
                else:
                    spec.unknown.append(f"-{letters[j]}")
                break
            else:
                i += 1
        positional = words[i:]
        if positional:
            spec.image = positional[0]
            spec.command = positional[1:]
        if has_health:
            spec.health = health
        return spec

    def _switch(self, flag: str) -> None:
        if flag == "--no-healthcheck":
            self.health = Health(disabled=True)
        elif flag in BY_FLAG:
            setattr(self, BY_FLAG[flag].field, True)

    def _add(self, row: Row, text: str, flag: str) -> None:
        setattr(self, row.field, row.kind.add(getattr(self, row.field), text, flag))

    @classmethod
    def from_compose(cls, name: str, svc: dict, line: int = 1) -> RunSpec:
        problem = compose_type_error(svc)
        if problem:
            raise ComposeTypeError(problem)
        spec = cls(origin="compose", service=name, line=line, detach=True)
        spec.image = str(svc.get("image") or "")
        if not spec.image and svc.get("build") is not None:
            spec.extra["build"] = svc.get("build")
        for row in ROWS:
            if row.compose and svc.get(row.compose) is not None:
                value = row.kind.from_compose(svc[row.compose])
                if value is None:  # a value that does not parse (a duration)
                    spec.unknown.append(row.compose)
                    continue
                setattr(spec, row.field, value)
        hc = svc.get("healthcheck")
        if isinstance(hc, dict):
            spec.health = Health.from_compose(hc, spec.unknown)
        for key in ("deploy", "gpus", "depends_on", "build", "profiles", "x-dlgen"):
            if key in svc and svc[key] is not None:
                spec.extra[key] = svc[key]
        return spec


def _shell_word(word: str, previous: str) -> str:
    """Quote for a shell script; a relative bind source becomes "$PWD/..." (docker needs absolute paths)."""
    if previous == "-v" and (word.startswith("./") or word.startswith(".:")):
        word = "$PWD" + word[1:]
    if "$" in word and re.fullmatch(r"[\w$./:{}@=,+-]+", word):
        return f'"{word}"'
    return shlex.quote(word)


# The types the compose specification gives the service keys dlgen reads (compose-spec
# schema: compose-spec.json in github.com/compose-spec/compose-spec). A value of another type is
# a file compose rejects; from_compose refuses it before any rule sees it.
_S, _B = (str,), (bool,)
COMPOSE_TYPES: dict[str, tuple] = {**{r.compose: r.compose_types for r in ROWS if r.compose}, **COMPOSE_OTHER_TYPES}
COMPOSE_ITEM_TYPES: dict[str, tuple] = {**{r.compose: r.compose_items for r in ROWS if r.compose and r.compose_items},
                                        **COMPOSE_OTHER_ITEMS}
COMPOSE_NESTED: dict[tuple[str, ...], tuple] = {
    ("healthcheck", "test"): (str, list), ("healthcheck", "disable"): _B, ("healthcheck", "retries"): (int, str),
    ("healthcheck", "interval"): (str, int), ("healthcheck", "timeout"): (str, int),
    ("healthcheck", "start_period"): (str, int), ("healthcheck", "start_interval"): (str, int),
    ("deploy", "resources"): (dict,), ("deploy", "resources", "reservations"): (dict,),
    ("deploy", "resources", "limits"): (dict,), ("deploy", "resources", "reservations", "devices"): (list,),
    ("deploy", "restart_policy"): (dict,), ("deploy", "replicas"): (int, str),
}
COMPOSE_DEVICE_TYPES = {"capabilities": (list,), "count": (int, str), "device_ids": (list,), "driver": _S,
                        "options": (dict,)}


class ComposeTypeError(TypeError):
    """A compose value of a type the compose specification does not allow."""


def _tname(v) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "empty"}.get(type(v), type(v).__name__)


def _want(types: tuple) -> str:
    return " or ".join(dict.fromkeys(_tname(t() if t is not type(None) else None) for t in types))


def compose_type_error(svc: dict) -> str | None:
    """The first value of the wrong type in a compose service (as ``key must be X, not Y``), or None."""
    for key, types in COMPOSE_TYPES.items():
        if key not in svc:
            continue
        v = svc[key]
        if isinstance(v, bool) and bool not in types:
            return f"{key} must be {_want(types)}, not a boolean"
        if not isinstance(v, types):
            return f"{key} must be {_want(types)}, not {_tname(v)}"
        items = COMPOSE_ITEM_TYPES.get(key)
        if items and isinstance(v, list):
            for item in v:
                if not isinstance(item, items):
                    return f"{key} entries must be {_want(items)}, not {_tname(item)}"
        if items and isinstance(v, dict) and key in ("environment", "labels", "depends_on"):
            for k, item in v.items():
                ok = (dict, type(None)) if key == "depends_on" else (*SCALAR, type(None))
                if not isinstance(item, ok):
                    return f"{key}.{k} must be {_want(ok)}, not {_tname(item)}"
    for path, types in COMPOSE_NESTED.items():
        v = dig(svc, *path)
        if v is not None and (not isinstance(v, types) or (isinstance(v, bool) and bool not in types)):
            parent = dig(svc, *path[:-1]) if len(path) > 1 else svc
            if isinstance(parent, dict) and path[-1] in parent:
                return f"{'.'.join(path)} must be {_want(types)}, not {_tname(v)}"
    for dev in dig(svc, "deploy", "resources", "reservations", "devices") or []:
        if not isinstance(dev, dict):
            return f"deploy.resources.reservations.devices entries must be mappings, not {_tname(dev)}"
        for k, types in COMPOSE_DEVICE_TYPES.items():
            if k in dev and not isinstance(dev[k], types):
                return f"deploy.resources.reservations.devices.{k} must be {_want(types)}, not {_tname(dev[k])}"
    return None
