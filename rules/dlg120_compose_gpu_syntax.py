"""DLG120 compose-gpu-syntax.

What it does: reports a compose GPU reservation (`deploy.resources.reservations.devices`) that
the engine rejects or ignores: no `capabilities`, capabilities without `gpu`, `count` together
with `device_ids`, `device_ids: ["all"]`.
Why is this bad: compose refuses the file ("count and device_ids are mutually exclusive",
capabilities is required), or starts the service without a GPU (NVIDIA Container Toolkit docs, "Specialized Configurations with Docker").
Use instead:
    deploy: {resources: {reservations: {devices: [{driver: nvidia, count: all, capabilities: [gpu]}]}}}
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec, dig

ID = "DLG120"
NAME = "compose-gpu-syntax"
SEVERITY = "error"
TARGET = "run"
WHY = "A malformed compose GPU reservation is rejected by the engine or gives the service no GPU."
_GOOD = "services:\n  m:\n    image: my/model:1\n    deploy:\n      resources:\n        reservations:\n          devices:\n"
FAIL = [_GOOD + "            - driver: nvidia\n              count: all\n",
        _GOOD + "            - driver: nvidia\n              count: 1\n              capabilities: [compute]\n",
        _GOOD + "            - capabilities: [gpu]\n              count: 1\n              device_ids: ['0']\n",
        _GOOD + "            - capabilities: [gpu]\n              device_ids: ['all']\n"]
PASS = [_GOOD + "            - driver: nvidia\n              count: all\n              capabilities: [gpu]\n",
        _GOOD + "            - capabilities: [gpu]\n              device_ids: ['0', '1']\n"]


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if spec.origin != "compose":
        return
    devices = dig(spec.extra, "deploy", "resources", "reservations", "devices")
    for dev in devices if isinstance(devices, list) else []:
        if not isinstance(dev, dict):
            continue
        caps = dev.get("capabilities")
        where = f"service {spec.service}: GPU reservation"
        if not caps:
            yield rulekit.Hit(line=spec.line, message=f"{where} has no capabilities (required)", hint="add capabilities: [gpu]")
        elif "gpu" not in [str(c) for c in (caps if isinstance(caps, list) else [caps])]:
            yield rulekit.Hit(line=spec.line, message=f"{where} capabilities {caps} lack gpu: no GPU is given", hint="use capabilities: [gpu]")
        ids = dev.get("device_ids")
        if dev.get("count") is not None and ids:
            yield rulekit.Hit(line=spec.line, message=f"{where} sets both count and device_ids (compose rejects this)", hint="keep one of them")
        if ids and [str(i) for i in ids] == ["all"]:
            yield rulekit.Hit(line=spec.line, message=f"{where} device_ids: [all] is not a device id", hint="use count: all")
