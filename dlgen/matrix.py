"""The torch <-> CUDA <-> cuDNN matrix: choosing and checking pytorch/pytorch base tags."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dlgen import reference
from dlgen.errors import DlgenError


@dataclass(frozen=True)
class TorchBase:
    torch: str
    cuda: str
    cudnn: int
    variant: str  # runtime | devel
    tags_verified: bool

    @property
    def image(self) -> str:
        return f"pytorch/pytorch:{self.torch}-cuda{self.cuda}-cudnn{self.cudnn}-{self.variant}"

    @property
    def driver_floor(self) -> str:
        return reference.torch_matrix()["driver_floor"][self.cuda.split(".")[0]]


def _vkey(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".") if p.isdigit())


def rows() -> list[dict]:
    return reference.torch_matrix()["torch"]


def find_torch(version: str) -> dict | None:
    """Exact version, or the newest patch release of a 'X.Y' series."""
    version = version.strip().lstrip("v")
    exact = [r for r in rows() if r["version"] == version]
    if exact:
        return exact[0]
    series = [r for r in rows() if r["version"].startswith(version + ".") and version.count(".") == 1]
    return max(series, key=lambda r: _vkey(r["version"])) if series else None


def normalize_cuda(cuda: str) -> str:
    c = cuda.strip().lower().removeprefix("cuda").removeprefix("cu")
    if c.isdigit() and len(c) >= 3:  # cu128 -> 12.8 (PyTorch's wheel index names: cu128 is CUDA 12.8)
        c = f"{c[:-1]}.{c[-1]}"
    parts = c.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise DlgenError(f"cannot read CUDA version {cuda!r}", "write it like 12.8 or cu128")
    return ".".join(parts[:2])


def choose(torch: str | None, cuda: str | None, variant: str = "runtime") -> TorchBase:
    """Pick a published pytorch/pytorch tag for the requested torch and/or CUDA."""
    if variant not in ("runtime", "devel"):
        raise DlgenError(f"unknown image variant {variant!r}", "use runtime or devel")
    m = reference.torch_matrix()
    want_cuda = normalize_cuda(cuda) if cuda else None
    if torch:
        row = find_torch(torch)
        if row is None:
            known = ", ".join(r["version"] for r in rows())
            raise DlgenError(f"unknown torch version {torch!r}", f"known versions: {known}")
    elif want_cuda:
        candidates = [r for r in rows() if want_cuda in r["tag_cuda"] and r["tags_verified"]]
        if not candidates:
            raise DlgenError(f"no published pytorch/pytorch image has CUDA {want_cuda}",
                             "pick a CUDA from `dlgen models --matrix` or pass --torch")
        row = max(candidates, key=lambda r: _vkey(r["version"]))
    else:
        default = find_torch(m["default_torch"])
        assert default is not None, "torch_cuda.yaml names a default torch it lists"
        row = default
    if want_cuda is None:
        major = str(m["preferred_cuda_major"])
        preferred = [c for c in row["tag_cuda"] if c.split(".")[0] == major] or row["tag_cuda"]
        want_cuda = max(preferred, key=_vkey)
    if want_cuda not in row["tag_cuda"]:
        builds = ", ".join(row["tag_cuda"])
        raise DlgenError(f"torch {row['version']} has no CUDA {want_cuda} image",
                         f"torch {row['version']} images exist for CUDA {builds}")
    return TorchBase(row["version"], want_cuda, int(row["cudnn"]), variant, bool(row["tags_verified"]))


def parse_tag(image: str) -> dict | None:
    """``pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime`` -> its parts, or None."""
    import re

    m = re.match(r"^(?:docker\.io/)?pytorch/pytorch:(\d+\.\d+\.\d+)-cuda(\d+\.\d+)-cudnn(\d+)-(runtime|devel)$",
                 image.strip())
    if not m:
        return None
    return {"torch": m.group(1), "cuda": m.group(2), "cudnn": int(m.group(3)), "variant": m.group(4)}


def tag_exists(image: str) -> bool | None:
    """True/False for a pytorch/pytorch CUDA tag; None when the tag is not of that form."""
    parts = parse_tag(image)
    if not parts:
        return None
    series = ".".join(parts["torch"].split(".")[:2])
    same = [r for r in rows() if r["version"].startswith(series + ".")]
    if not same:  # a series the matrix does not cover (1.x, or newer than it): cannot judge
        return None
    return any(parts["cuda"] in r["tag_cuda"] and parts["cudnn"] == int(r["cudnn"]) for r in same)


# Where a pip command names the CUDA of the wheels it installs (download.pytorch.org/whl/cuXYZ,
# pytorch.org "Get started").
WHEEL_CUDA = (
    re.compile(r"/whl/(?:nightly/|test/)?cu(\d{3,4})\b"),          # index URLs
    re.compile(r"(?:-f|--find-links)[= ]\S*?cu(\d{3,4})\b"),         # find-links pages
    re.compile(r"\+cu(\d{3,4})\b"),                                  # local version pins
)


@dataclass(frozen=True)
class CudaClash:
    wheel: str       # the wheel source's CUDA, 12.1
    base: str        # the base image's CUDA, 12.8
    major: bool      # True: another major (an error); False: only the minor differs

    @property
    def message(self) -> str:
        return (f"wheels for CUDA {self.wheel} on a CUDA {self.base} base image"
                + ("" if self.major else " (minor version differs)"))

    @property
    def hint(self) -> str:
        b = "".join(self.base.split("."))
        return f"use the cu{b} wheel index" + (f" (or a CUDA {self.wheel} base)" if self.major else "")


def wheel_cuda_clashes(pip_text: str, base_cuda: str) -> list[CudaClash]:
    """The wheel sources in ``pip_text`` (index URLs, find-links pages, +cuXXX pins) whose CUDA is
    not the base image's, once per CUDA version, in order of appearance."""
    found: list[tuple[int, str]] = []
    for pat in WHEEL_CUDA:
        found += [(m.start(), normalize_cuda("cu" + m.group(1))) for m in pat.finditer(pip_text)]
    bmaj, bmin = base_cuda.split(".")[:2]
    out, seen = [], set()
    for _, wheel in sorted(found):
        if wheel in seen or wheel == f"{bmaj}.{bmin}":
            continue
        seen.add(wheel)
        out.append(CudaClash(wheel, f"{bmaj}.{bmin}", wheel.split(".")[0] != bmaj))
    return out


def image_cuda(image: str) -> str | None:
    """The CUDA (12.8) of a pytorch/pytorch or nvidia/cuda tag; None for other images."""
    tag = parse_tag(image)
    if tag:
        return tag["cuda"]
    m = re.match(r"^(?:docker\.io/)?nvidia/cuda:(\d+)\.(\d+)", image)
    return f"{m.group(1)}.{m.group(2)}" if m else None
