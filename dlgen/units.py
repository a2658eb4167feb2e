"""Docker's units, read and written in one place: durations (`1m30s`), sizes (`8g`, `512m`), engine
versions (`26.1`). Docker's forms: the `docker run` reference (--shm-size, --health-interval)."""

from __future__ import annotations

import re

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
SIZE_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*", re.IGNORECASE | re.ASCII)


def parse_duration(text: str) -> float:
    """Docker/compose duration ('1m30s', '90s', '1.5m', '500ms', '2h') -> seconds; ValueError if not one."""
    t = text.strip().lower()
    if not t:
        raise ValueError("empty duration")
    if re.fullmatch(r"\d+(\.\d+)?", t, re.ASCII):  # compose accepts bare numbers (seconds)
        return float(t)
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", t, re.ASCII):
        if m.start() != pos:
            raise ValueError(f"bad duration {text!r}")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(t):
        raise ValueError(f"bad duration {text!r}")
    return total


def format_duration(seconds: float) -> str:
    """Docker duration syntax: 90 -> '90s'."""
    s = int(seconds) if float(seconds).is_integer() else seconds
    return f"{s}s"


def size_bytes(text) -> float | None:
    """A Docker size ('8g', '512m', '1.5G', '1024') in bytes; None if it is not one (a variable, a typo)."""
    m = _SIZE_RE.fullmatch(str(text))
    return float(m.group(1)) * SIZE_UNITS[m.group(2).lower()] if m else None


_K8S_QTY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|e\d+)?")
_K8S_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def k8s_bytes(text) -> float | None:
    """A Kubernetes quantity ('8Gi', '512Mi', '1G', '2e9', '1024') in bytes; None if it is not one."""
    m = _K8S_QTY.fullmatch(str(text).strip())
    if not m:
        return None
    unit = m.group(2) or ""
    return float(m.group(1)) * (10 ** int(unit[1:]) if unit.startswith("e") else _K8S_UNITS.get(unit, 1))


def k8s_quantity(size: str | None, default: str) -> str:
    """A Docker size as a Kubernetes quantity: 8g -> 8Gi."""
    if not size:
        return default
    s = size.strip().lower()
    unit = {"g": "Gi", "m": "Mi", "k": "Ki", "b": ""}.get(s[-1], "")
    return (s[:-1] if s[-1] in "gmkb" else s) + unit


def short_size(n: int | None) -> str | None:
    """Bytes as Docker writes a limit when it is a whole number of units (2147483648 -> 2g)."""
    if not n:
        return None
    for unit, div in (("g", 2**30), ("m", 2**20), ("k", 2**10)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return f"{n}b"


def parse_docker_version(text: str | None, what: str = "--docker-version") -> float | None:
    """'24', '26.1', 'v26.1.5' -> 24.0 / 26.1 (major.minor); None stays None."""
    from dlgen.errors import DlgenError

    if text is None:
        return None
    m = re.fullmatch(r"\s*v?(\d+)(?:\.(\d+))?(?:\.\d+)?(?:[-+][\w.]*)?\s*", str(text), re.ASCII)
    if not m:
        raise DlgenError(f"cannot read {what} {text!r}", "give the engine's version, e.g. 24 or 26.1")
    return float(f"{m.group(1)}.{m.group(2) or 0}")
