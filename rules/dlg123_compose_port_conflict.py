"""DLG123 compose-port-conflict.

What it does: reports a compose service that publishes a host port (on the same host address and
protocol) that another service of the same file publishes too, where both can run together (neither
is in a profile the other is not).
Why is this bad: the second container cannot bind the port: `docker compose up` starts the first
and fails on the second with "Bind for 0.0.0.0:8000 failed: port is already allocated" (Docker docs,
"Networking in Compose": each published port binds the host's port), typically a GPU and a CPU
variant of one server, both left in the default profile.
Use instead: another host port for one of them (`"8001:8000"`), or the variants in profiles of their
own (`profiles: [gpu]`, `profiles: [cpu]`).
"""

from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG123"
NAME = "compose-port-conflict"
SEVERITY = "error"
TARGET = "run"
WHY = "Two services of one compose file cannot bind the same host port; the second fails at start."
FAIL = ["services:\n  ollama-gpu:\n    image: ollama/ollama:0.5.7\n    ports: [\"11434:11434\"]\n"
        "  ollama-cpu:\n    image: ollama/ollama:0.5.7\n    ports: [\"11434:11434\"]\n"]
PASS = ["services:\n  ollama-gpu:\n    image: ollama/ollama:0.5.7\n    profiles: [gpu]\n    ports: [\"11434:11434\"]\n"
        "  ollama-cpu:\n    image: ollama/ollama:0.5.7\n    profiles: [cpu]\n    ports: [\"11434:11434\"]\n",
        "services:\n  llm:\n    image: vllm/vllm-openai:v0.11.0\n    ports: [\"8000:8000\"]\n"
        "  ui:\n    image: ghcr.io/open-webui/open-webui:v0.6.5\n    ports: [\"3000:8080\"]\n",
        "services:\n  a:\n    image: my/a:1\n    ports: [\"127.0.0.1:8000:8000\"]\n"
        "  b:\n    image: my/b:1\n    ports: [\"127.0.0.2:8000:8000\"]\n"]


def _bound(spec) -> set[tuple[str, int, str]]:
    """(host address, host port, protocol) of every port the service publishes on a fixed host port."""
    return {(p.host_ip or "0.0.0.0", p.host, p.protocol) for p in spec.ports if p.host}


def _together(a, b) -> bool:
    """Both start with the same `docker compose up` (no profile, or a profile in common)."""
    pa, pb = set(a.extra.get("profiles") or []), set(b.extra.get("profiles") or [])
    return (not pa and not pb) or bool(pa & pb)


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if spec.origin != "compose":
        return
    mine = _bound(spec)
    for other in ctx.docs:
        if other is spec or getattr(other, "origin", "") != "compose":
            continue
        if other.line >= spec.line:   # report each clash once, on the later service
            break
        same = mine & _bound(other)
        wildcard = {(ip, port, proto) for ip, port, proto in mine for oip, oport, oproto in _bound(other)
                    if port == oport and proto == oproto and "0.0.0.0" in (ip, oip)}
        clash = sorted(same | wildcard)
        if clash and _together(spec, other):
            ip, port, _ = clash[0]
            yield rulekit.Hit(line=spec.line, message=f"service {spec.service} publishes host port {port}, which "
                              f"service {other.service} publishes too: the second fails to start (port is already "
                              "allocated)", hint="publish another host port, or put the variants in profiles of "
                                                 "their own")
            return
