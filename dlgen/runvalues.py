"""The small values a run configuration is made of: a published port, a mount, and the GPU request,
each with its text form (``docker run``'s) and its rendering for the other targets."""

from __future__ import annotations

import re
from dataclasses import dataclass


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

    @classmethod
    def from_compose(cls, dev: dict) -> GpuRequest | None:
        """A compose device reservation (``count``: all or N, or ``device_ids``) as a GpuRequest."""
        ids = dev.get("device_ids")
        if isinstance(ids, list) and ids:
            return cls(ids=tuple(str(i) for i in ids))
        count = dev.get("count")
        if count is None or str(count) == "all":
            return cls()
        return cls(count=int(count)) if str(count).isdigit() else None

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
