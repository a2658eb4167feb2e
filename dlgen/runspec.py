"""RunSpec: how a container is run, whatever wrote it down.

One object renders to a ``docker run`` line, a compose service, Docker SDK keyword arguments
and a Kubernetes container, and is parsed back from ``docker run`` argv and compose services,
so the run-configuration lint rules judge all of them the same way.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace

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
class Port:
    container: int
    host: int | None = None
    host_ip: str | None = None
    protocol: str = "tcp"

    def render(self) -> str:
        proto = "" if self.protocol == "tcp" else f"/{self.protocol}"
        if self.host is None:
            return f"{self.container}{proto}"
        ip = f"{self.host_ip}:" if self.host_ip else ""
        return f"{ip}{self.host}:{self.container}{proto}"

    @classmethod
    def parse(cls, text: str) -> Port:
        spec, _, proto = str(text).partition("/")
        parts = spec.rsplit(":", 2) if not spec.startswith("[") else _split_ipv6(spec)
        def num(p: str) -> int | None:
            p = p.split("-")[0]
            return int(p) if p.isdigit() else None
        if len(parts) == 1:
            return cls(num(parts[0]) or 0, None, None, proto or "tcp")
        if len(parts) == 2:
            return cls(num(parts[1]) or 0, num(parts[0]), None, proto or "tcp")
        return cls(num(parts[2]) or 0, num(parts[1]), parts[0] or None, proto or "tcp")

    @property
    def all_interfaces(self) -> bool:
        return self.host is not None and self.host_ip in (None, "", "0.0.0.0", "::", "[::]")


def _split_ipv6(spec: str) -> list[str]:
    ip, _, rest = spec.partition("]")
    return [ip + "]", *rest.lstrip(":").split(":")]


@dataclass
class Volume:
    source: str
    target: str
    mode: str = ""
    kind: str = "bind"  # bind | volume | tmpfs

    def render(self) -> str:
        return f"{self.source}:{self.target}" + (f":{self.mode}" if self.mode else "")

    @classmethod
    def parse(cls, text: str) -> Volume:
        parts = str(text).split(":")
        if len(parts) == 1:
            return cls("", parts[0], "", "volume")
        src, tgt = parts[0], parts[1]
        mode = ":".join(parts[2:])
        kind = "bind" if src.startswith(("/", ".", "~", "$")) else "volume"
        return cls(src, tgt, mode, kind)


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


@dataclass(frozen=True)
class GpuRequest:
    """The GPUs a container asks for, parsed once from ``--gpus`` (all, a count, device=0,1) and
    rendered for each target: docker run, a compose device reservation, the Docker SDK, Kubernetes."""
    count: int | None = None          # None: all GPUs (when no ids)
    ids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> GpuRequest | None:
        """``--gpus`` text as Docker takes it, quotes included; None if it is not a GPU request."""
        t = text.strip().strip("'")
        if t.startswith('"') and t.endswith('"') and len(t) >= 2:
            t = t[1:-1]
        if t == "all":
            return cls()
        if re.fullmatch(r"[0-9]+", t, re.ASCII):
            return cls(count=int(t))
        m = re.fullmatch(r"(?:device=)?([0-9A-Za-z-]+(?:,[0-9A-Za-z-]+)*)", t, re.ASCII)
        if m and (t.startswith("device=") or "," in t):
            return cls(ids=tuple(m.group(1).split(",")))
        return None

    @property
    def all(self) -> bool:
        return self.count is None and not self.ids

    def docker(self) -> str:
        if self.ids:
            return "device=" + ",".join(self.ids)
        return "all" if self.count is None else str(self.count)

    def compose(self) -> dict:
        dev: dict = {"driver": "nvidia"}
        if self.ids:
            dev["device_ids"] = list(self.ids)
        else:
            dev["count"] = "all" if self.count is None else self.count
        dev["capabilities"] = ["gpu"]
        return dev

    def sdk(self):
        from docker.types import DeviceRequest  # docker SDK, only for verify

        if self.ids:
            return DeviceRequest(device_ids=list(self.ids), capabilities=[["gpu"]])
        return DeviceRequest(count=-1 if self.count is None else self.count, capabilities=[["gpu"]])

    def k8s_count(self, all_as: int = 1) -> int:
        """nvidia.com/gpu: Kubernetes has no "all"; ``all_as`` is what it stands for there."""
        return len(self.ids) if self.ids else (all_as if self.count is None else self.count)


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
    memory: str | None = None
    stop_timeout: int | None = None
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
        """``gpus`` as a GpuRequest (None when there is none or it does not parse)."""
        return GpuRequest.parse(self.gpus) if self.gpus else None

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
        if self.detach:
            a.append("-d")
        if self.interactive and self.tty:
            a.append("-it")
        elif self.interactive:
            a.append("-i")
        elif self.tty:
            a.append("-t")
        if self.remove:
            a.append("--rm")
        if self.name:
            a += ["--name", self.name]
        if self.gpus:
            a += ["--gpus", self.gpus]
        if self.runtime:
            a += [f"--runtime={self.runtime}"]
        for d in self.devices:
            a += ["--device", d]
        if self.restart:
            a += ["--restart", self.restart]
        if self.init:
            a.append("--init")
        if self.ipc:
            a += [f"--ipc={self.ipc}"]
        if self.shm_size:
            a += [f"--shm-size={self.shm_size}"]
        for k, v in self.ulimits.items():
            a += ["--ulimit", f"{k}={v}"]
        if self.memory:
            a += [f"--memory={self.memory}"]
        if self.stop_timeout is not None:
            a += ["--stop-timeout", str(self.stop_timeout)]
        if self.user:
            a += ["--user", self.user]
        if self.workdir:
            a += ["-w", self.workdir]
        if self.network:
            a += [f"--network={self.network}"]
        if self.pid:
            a += [f"--pid={self.pid}"]
        if self.privileged:
            a.append("--privileged")
        for port in self.ports:
            a += ["-p", port.render()]
        for vol in self.volumes:
            a += ["-v", vol.render()]
        for env_file in self.env_files:
            a += ["--env-file", env_file]
        for key, value in self.env.items():
            a += ["-e", key if value is None else f"{key}={value}"]
        for k, v in self.labels.items():
            a += ["--label", f"{k}={v}"]
        h = self.health
        if h and h.disabled:
            a.append("--no-healthcheck")
        elif h:
            if h.test:
                a += ["--health-cmd", h.command_text()]
            for flag, val in (("interval", h.interval), ("timeout", h.timeout),
                              ("start-period", h.start_period), ("start-interval", h.start_interval)):
                if val is not None:
                    a += [f"--health-{flag}={format_duration(val)}"]
            if h.retries is not None:
                a += [f"--health-retries={h.retries}"]
        if self.entrypoint is not None:
            a += ["--entrypoint", " ".join(self.entrypoint)]
        a.append(self.image)
        a += self.command
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
                    and "=" not in w and argv[i] not in ("-d", "-it", "--rm", "--init", "--privileged", "-i", "-t",
                                                         "--no-healthcheck"):
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
        if self.name:
            s["container_name"] = self.name
        if self.entrypoint is not None:
            s["entrypoint"] = list(self.entrypoint)
        if self.command:
            s["command"] = list(self.command)
        if self.restart:
            s["restart"] = self.restart
        if self.init:
            s["init"] = True
        if self.interactive:
            s["stdin_open"] = True
        if self.tty:
            s["tty"] = True
        if self.ipc:
            s["ipc"] = self.ipc
        if self.shm_size:
            s["shm_size"] = self.shm_size
        if self.ulimits:
            s["ulimits"] = {k: _int_or_str(v) for k, v in self.ulimits.items()}
        if self.user:
            s["user"] = self.user
        if self.workdir:
            s["working_dir"] = self.workdir
        if self.stop_timeout is not None:
            s["stop_grace_period"] = f"{self.stop_timeout}s"
        if self.ports:
            s["ports"] = [p.render() for p in self.ports]
        if self.volumes:
            s["volumes"] = [v.render() for v in self.volumes]
        if self.env_files:
            s["env_file"] = list(self.env_files)
        if self.env:
            s["environment"] = [k if v is None else f"{k}={v}" for k, v in self.env.items()]
        if self.labels:
            s["labels"] = dict(self.labels)
        h = self.health
        if h and h.disabled:
            s["healthcheck"] = {"disable": True}
        elif h:
            hc: dict = {}
            if h.test:
                hc["test"] = list(h.test)
            for key, val in (("interval", h.interval), ("timeout", h.timeout),
                             ("start_period", h.start_period), ("start_interval", h.start_interval)):
                if val is not None:
                    hc[key] = format_duration(val)
            if h.retries is not None:
                hc["retries"] = h.retries
            s["healthcheck"] = hc
        deploy = dict(self.extra.get("deploy") or {})
        gpu = self.gpu_request
        if gpu and "resources" not in deploy:
            deploy["resources"] = {"reservations": {"devices": [gpu.compose()]}}
        if deploy:
            s["deploy"] = deploy
        return s

    def sdk_kwargs(self) -> dict:
        """Keyword arguments for ``docker.from_env().containers.run`` / ``create``."""
        from docker.types import Healthcheck, Ulimit  # docker SDK, only for verify

        k: dict = {"image": self.image, "detach": True}
        if self.command:
            k["command"] = list(self.command)
        if self.entrypoint is not None:
            k["entrypoint"] = list(self.entrypoint)
        if self.name:
            k["name"] = self.name
        gpu = self.gpu_request
        if gpu:
            k["device_requests"] = [gpu.sdk()]
        if self.runtime:
            k["runtime"] = self.runtime
        if self.restart:
            name, _, count = self.restart.partition(":")
            k["restart_policy"] = {"Name": name, "MaximumRetryCount": int(count or 0)}
        if self.remove:
            k["auto_remove"] = True
        if self.init:
            k["init"] = True
        if self.interactive:
            k["stdin_open"] = True
        if self.tty:
            k["tty"] = True
        if self.ipc:
            k["ipc_mode"] = self.ipc
        if self.shm_size:
            k["shm_size"] = self.shm_size
        if self.ulimits:
            k["ulimits"] = [Ulimit(name=n, soft=int(v.split(":")[0]), hard=int(v.split(":")[-1]))
                            for n, v in self.ulimits.items()]
        if self.memory:
            k["mem_limit"] = self.memory
        if self.user:
            k["user"] = self.user
        if self.workdir:
            k["working_dir"] = self.workdir
        if self.ports:
            k["ports"] = {f"{p.container}/{p.protocol}": ((p.host_ip, p.host) if p.host_ip else p.host)
                          for p in self.ports}
        vols = {}
        for v in self.volumes:
            if v.source:
                vols[v.source] = {"bind": v.target, "mode": v.mode or "rw"}
        if vols:
            k["volumes"] = vols
        env = {key: val for key, val in self.env.items() if val is not None}
        if env:
            k["environment"] = env
        if self.labels:
            k["labels"] = dict(self.labels)
        h = self.health
        if h and not h.disabled and (h.test or h.start_period is not None):
            ns = 1_000_000_000
            hc: dict[str, object] = {"test": list(h.test) or None}
            for key, val in (("interval", h.interval), ("timeout", h.timeout),
                             ("start_period", h.start_period), ("start_interval", h.start_interval)):
                if val is not None:
                    hc[key] = int(val * ns)
            if h.retries is not None:
                hc["retries"] = h.retries
            k["healthcheck"] = Healthcheck(**{key: v for key, v in hc.items() if v is not None})
        return k

    # ------------------------------------------------------------------ parsing
    @classmethod
    def from_docker_run(cls, argv: list[str], line: int = 1) -> RunSpec:
        """Parse ``docker run ...`` (or ``nvidia-docker run``, ``docker container run``) argv."""
        spec = cls(origin="docker-run", line=line)
        words = list(argv)
        # skip to after "run"
        while words and words[0] != "run":
            words.pop(0)
        if words:
            words.pop(0)
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
                name, eq, val = w[2:].partition("=")
                flag = "--" + name
                if flag in _BOOL_FLAGS:
                    if eq and val.lower() == "false":
                        i += 1
                        continue
                    _apply_bool(spec, flag)
                    i += 1
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
                _apply_value(spec, health, flag, val)
                continue
            # short flags, possibly combined (-itd) or with attached value (-p8000:80)
            letters = w[1:]
            j = 0
            while j < len(letters):
                ch = letters[j]
                if ch in "dit":
                    _apply_bool(spec, {"d": "--detach", "i": "--interactive", "t": "--tty"}[ch])
                    j += 1
                    continue
                short_flag = _SHORT.get(ch)
                rest = letters[j + 1:]
                if rest.startswith("="):
                    rest = rest[1:]
                if rest:
                    val = rest
                    i += 1
                else:
                    val = words[i + 1] if i + 1 < len(words) else ""
                    i += 2
                if short_flag:
                    _apply_value(spec, health, short_flag, val)
                else:
                    spec.unknown.append(f"-{ch}")
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

    @classmethod
    def from_compose(cls, name: str, svc: dict, line: int = 1) -> RunSpec:
        problem = compose_type_error(svc)
        if problem:
            raise ComposeTypeError(problem)
        spec = cls(origin="compose", service=name, line=line, detach=True)
        spec.image = str(svc.get("image") or "")
        if not spec.image and svc.get("build") is not None:
            spec.extra["build"] = svc.get("build")
        spec.name = svc.get("container_name")
        spec.command = _as_argv(svc.get("command"))
        ep = svc.get("entrypoint")
        spec.entrypoint = _as_argv(ep) if ep is not None else None
        restart = svc.get("restart")
        spec.restart = str(restart) if restart is not None else None
        spec.init = bool(svc.get("init"))
        spec.interactive = bool(svc.get("stdin_open"))
        spec.tty = bool(svc.get("tty"))
        spec.ipc = svc.get("ipc")
        shm = svc.get("shm_size")
        spec.shm_size = str(shm) if shm is not None else None
        spec.runtime = svc.get("runtime")
        spec.privileged = bool(svc.get("privileged"))
        spec.network = svc.get("network_mode")
        spec.pid = svc.get("pid")
        spec.user = str(svc["user"]) if svc.get("user") is not None else None
        ul = svc.get("ulimits") or {}
        if isinstance(ul, dict):
            for k, v in ul.items():
                if isinstance(v, dict):
                    spec.ulimits[str(k)] = f"{v.get('soft')}:{v.get('hard')}"
                else:
                    spec.ulimits[str(k)] = str(v)
        for p in svc.get("ports") or []:
            if isinstance(p, dict):
                spec.ports.append(Port(int(p.get("target") or 0), _maybe_int(p.get("published")),
                                       p.get("host_ip"), p.get("protocol") or "tcp"))
            else:
                spec.ports.append(Port.parse(str(p)))
        for v in svc.get("volumes") or []:
            if isinstance(v, dict):
                spec.volumes.append(Volume(str(v.get("source") or ""), str(v.get("target") or ""), "",
                                           str(v.get("type") or "volume")))
            else:
                spec.volumes.append(Volume.parse(str(v)))
        env = svc.get("environment")
        if isinstance(env, dict):
            for k, v in env.items():
                spec.env[str(k)] = None if v is None else str(v)
        elif isinstance(env, list):
            for item in env:
                k, eq, v = str(item).partition("=")
                spec.env[k] = v if eq else None
        ef = svc.get("env_file")
        if ef:
            spec.env_files = [str(x if not isinstance(x, dict) else x.get("path")) for x in
                              (ef if isinstance(ef, list) else [ef])]
        for dev in svc.get("devices") or []:
            spec.devices.append(str(dev if not isinstance(dev, dict) else dev.get("source", "")))
        hc = svc.get("healthcheck")
        if isinstance(hc, dict):
            h = Health(disabled=bool(hc.get("disable")))
            test = hc.get("test")
            if isinstance(test, str):
                h.test = ["CMD-SHELL", test]
            elif isinstance(test, list):
                h.test = [str(t) for t in test]
                if h.test and h.test[0] == "NONE":
                    h.disabled = True
            for key in ("interval", "timeout", "start_period", "start_interval"):
                if hc.get(key) is not None:
                    try:
                        setattr(h, key, parse_duration(str(hc[key])))
                    except ValueError:
                        spec.unknown.append(f"healthcheck.{key}")
            if hc.get("retries") is not None:
                h.retries = _maybe_int(hc.get("retries"))
            spec.health = h
        for key in ("deploy", "gpus", "depends_on", "build", "profiles", "x-dlgen"):
            if key in svc and svc[key] is not None:
                spec.extra[key] = svc[key]
        labels = svc.get("labels")
        if isinstance(labels, dict):
            spec.labels = {str(k): str(v) for k, v in labels.items()}
        return spec


def _shell_word(word: str, previous: str) -> str:
    """Quote for a shell script; a relative bind source becomes "$PWD/..." (docker needs absolute paths)."""
    if previous == "-v" and (word.startswith("./") or word.startswith(".:")):
        word = "$PWD" + word[1:]
    if "$" in word and re.fullmatch(r"[\w$./:{}@=,+-]+", word):
        return f'"{word}"'
    return shlex.quote(word)


# ---------------------------------------------------------------------- parse helpers
_SHORT = {"p": "--publish", "v": "--volume", "e": "--env", "w": "--workdir", "u": "--user",
          "m": "--memory", "l": "--label", "h": "--hostname", "a": "--attach", "c": "--cpu-shares"}
_BOOL_FLAGS = {"--detach", "--interactive", "--tty", "--rm", "--init", "--privileged", "--no-healthcheck",
               "--read-only", "--publish-all", "--oom-kill-disable", "--sig-proxy", "--quiet", "-P"}


def _apply_bool(spec: RunSpec, flag: str) -> None:
    if flag == "--detach":
        spec.detach = True
    elif flag == "--interactive":
        spec.interactive = True
    elif flag == "--tty":
        spec.tty = True
    elif flag == "--rm":
        spec.remove = True
    elif flag == "--init":
        spec.init = True
    elif flag == "--privileged":
        spec.privileged = True
    elif flag == "--no-healthcheck":
        spec.health = Health(disabled=True)


def _apply_value(spec: RunSpec, health: Health, flag: str, val: str) -> None:
    if flag == "--gpus":
        spec.gpus = val.strip("'\"") if val.count('"') != 2 or not val.startswith('"') else val.strip('"')
    elif flag == "--runtime":
        spec.runtime = val
    elif flag == "--device":
        spec.devices.append(val)
    elif flag == "--restart":
        spec.restart = val
    elif flag == "--shm-size":
        spec.shm_size = val
    elif flag == "--ipc":
        spec.ipc = val
    elif flag == "--ulimit":
        k, _, v = val.partition("=")
        spec.ulimits[k] = v
    elif flag == "--publish":
        spec.ports.append(Port.parse(val))
    elif flag in ("--volume", "--mount"):
        if flag == "--mount":
            parts = dict(p.partition("=")[::2] for p in val.split(","))
            spec.volumes.append(Volume(parts.get("source", parts.get("src", "")),
                                       parts.get("target", parts.get("dst", parts.get("destination", ""))),
                                       "", parts.get("type", "volume")))
        else:
            spec.volumes.append(Volume.parse(val))
    elif flag == "--env":
        k, eq, v = val.partition("=")
        spec.env[k] = v if eq else None
    elif flag == "--env-file":
        spec.env_files.append(val)
    elif flag == "--name":
        spec.name = val
    elif flag == "--workdir":
        spec.workdir = val
    elif flag == "--user":
        spec.user = val
    elif flag in ("--network", "--net"):
        spec.network = val
    elif flag == "--pid":
        spec.pid = val
    elif flag == "--memory":
        spec.memory = val
    elif flag == "--stop-timeout":
        spec.stop_timeout = _maybe_int(val)
    elif flag == "--entrypoint":
        spec.entrypoint = shlex.split(val) if val else []
    elif flag == "--label":
        k, _, v = val.partition("=")
        spec.labels[k] = v
    elif flag == "--health-cmd":
        health.test = ["CMD-SHELL", val]
    elif flag in ("--health-interval", "--health-timeout", "--health-start-period", "--health-start-interval"):
        try:
            setattr(health, flag[len("--health-"):].replace("-", "_"), parse_duration(val))
        except ValueError:
            spec.unknown.append(flag)
    elif flag == "--health-retries":
        health.retries = _maybe_int(val)
    else:
        spec.unknown.append(flag)


def _as_argv(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError:
        return str(value).split()


def _maybe_int(v) -> int | None:
    try:
        return int(str(v).split("-")[0])
    except (TypeError, ValueError):
        return None


def _int_or_str(v: str):
    if ":" in v:
        soft, hard = v.split(":", 1)
        return {"soft": int(soft), "hard": int(hard)}
    try:
        return int(v)
    except ValueError:
        return v


# The types the compose specification gives the service keys dlgen reads (compose-spec
# schema: compose-spec.json in github.com/compose-spec/compose-spec). A value of another type is
# a file compose rejects; from_compose refuses it before any rule sees it.
_S, _N, _B = (str,), (int, float), (bool,)
_SCALAR = (str, int, float, bool)
COMPOSE_TYPES: dict[str, tuple] = {
    "image": _S, "container_name": _S, "restart": _S, "runtime": _S, "ipc": _S, "network_mode": _S, "pid": _S,
    "init": _B, "privileged": _B, "stdin_open": _B, "tty": _B,
    "shm_size": (str, int), "user": (str, int),
    "command": (str, list, type(None)), "entrypoint": (str, list, type(None)),
    "ports": (list,), "volumes": (list,), "devices": (list,), "profiles": (list,),
    "environment": (dict, list), "labels": (dict, list), "env_file": (str, list), "depends_on": (dict, list),
    "ulimits": (dict,), "healthcheck": (dict,), "deploy": (dict, type(None)), "build": (str, dict),
    "gpus": (str, list),
}
COMPOSE_ITEM_TYPES: dict[str, tuple] = {
    "ports": (str, int, dict), "volumes": (str, dict), "devices": (str, dict), "profiles": _S,
    "command": _SCALAR, "entrypoint": _SCALAR, "env_file": (str, dict), "depends_on": _S,
    "environment": _SCALAR, "labels": _SCALAR, "gpus": (dict,),
}
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
                ok = (dict, type(None)) if key == "depends_on" else (*_SCALAR, type(None))
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
