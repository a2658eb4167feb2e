"""DLG038 torch-implicit-cuda.

What it does: reports a `pip install torch` (in the RUN, or in a requirements file it reads) on a
CUDA base image without torch (`nvidia/cuda:11.8...`), unpinned or with a range that admits a
release whose default wheel targets another CUDA major than the base's, when nothing names the
wheel's CUDA (no `--index-url .../whl/cuXXX`, no `+cuXXX` pin). An `--extra-index-url` (or
`--find-links`) of a CUDA's wheels names it only for an exact pin: pip takes the newest version
across every index, so an unpinned torch comes from the default one.
Why is this bad: pip then takes the package index's default build of the newest release the
range admits: torch 2.11 and later default to CUDA 13, which needs driver 580 or newer, so an
image chosen for CUDA 11.8 or 12.x silently gets a CUDA it was not built for, and
`torch.cuda.is_available()` is False on the hosts it was meant for (PyTorch's "Get Started"
install matrix and RELEASE.md compatibility matrix; NVIDIA CUDA release notes, driver minimums).
Use instead: the wheel index of the base's CUDA (`--index-url https://wheels.example/whl/cu118`),
a `+cuXXX` pin, or a pin whose default build matches (`torch==2.5.1` on CUDA 12.x).
"""

import re
from collections.abc import Iterator

from dlgen import matrix, rulekit

ID = "DLG038"
NAME = "torch-implicit-cuda"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "pip takes the index's default torch build, which may target another CUDA major than the base image."
FAIL = ['FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04\nRUN pip install --no-cache-dir "torch>=2.0"\n'
        'CMD ["python3", "s.py"]\n',
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install --no-cache-dir torch\nCMD ["python3", "s.py"]\n',
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install --no-cache-dir torch==2.11.0\n'
        'CMD ["python3", "s.py"]\n',
        # an extra index beside the default one: the default index's newer torch wins
        'FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04\nRUN pip install --no-cache-dir torch '
        '--extra-index-url https://wheels.example/whl/cu121\nCMD ["python3", "s.py"]\n']
PASS = ['FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04\nRUN pip install --no-cache-dir "torch>=2.0" '
        '--index-url https://wheels.example/whl/cu118\nCMD ["python3", "s.py"]\n',
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install --no-cache-dir "torch>=2.1,<2.6"\n'
        'CMD ["python3", "s.py"]\n',
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install --no-cache-dir torch==2.5.1+cu124 '
        '-f https://wheels.example/whl/torch_stable.html\nCMD ["python3", "s.py"]\n',
        'FROM python:3.11-slim\nRUN pip install --no-cache-dir torch\nCMD ["python", "s.py"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nRUN pip install --no-cache-dir "torch>=2.0"\n'
        'CMD ["python", "s.py"]\n',
        # an exact pin with the extra index: its 2.5.1+cu121 outranks the default index's 2.5.1
        'FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04\nRUN pip install --no-cache-dir torch==2.5.1 '
        '--extra-index-url https://wheels.example/whl/cu121\nCMD ["python3", "s.py"]\n']
WHEEL_CUDA = r"\S*/whl/(?:nightly/|test/)?(?:cu\d{3,4}|cpu|rocm[\d.]+)\b"
# The wheel's CUDA named for sure: the only index (--index-url), or a +cuXXX pin.
NAMED_CUDA = re.compile(rf"(?:--index-url|(?<![\w-])-i)(?:=|\s+){WHEEL_CUDA}|\+(cu\d{{3,4}}|cpu)\b")
# An index or page added beside the default one: pip takes the newest version across all of them, so
# it names the CUDA only for an exact version pin (the index's 2.5.1+cu121 outranks PyPI's 2.5.1).
EXTRA_CUDA = re.compile(rf"(?:--extra-index-url|--find-links|(?<![\w-])-f)(?:=|\s+){WHEEL_CUDA}")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3])


def _admits(spec: str, version: str) -> bool:
    """Whether a PEP 440 specifier (>=2.0,<2.6; ==2.1.*; ~=2.3) admits a release X.Y.Z."""
    v = _key(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        m = re.fullmatch(r"(===|==|!=|>=|<=|~=|>|<)\s*([\w.*+]+)", clause)
        if not m:
            return True   # cannot read it: assume it admits
        op, want = m.groups()
        if want.endswith(".*"):
            prefix = _key(want[:-2])
            same = v[:len(prefix)] == prefix
            if (op == "==" and not same) or (op == "!=" and same):
                return False
            continue
        w = _key(want)
        ok = {"==": v == w, "===": v == w, "!=": v != w, ">=": v >= w, "<=": v <= w, ">": v > w, "<": v < w,
              "~=": v >= w and v[:max(1, len(w) - 1)] == w[:max(1, len(w) - 1)]}[op]
        if not ok:
            return False
    return True


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    base = rulekit.base_cuda(doc)
    if not base or rulekit.image_facts(doc).get("torch"):
        return   # no CUDA base to clash with, or a base with torch (DLG022)
    major = base.split(".")[0]
    for ins, text in rulekit.run_texts(doc, rulekit.chain(doc)):
        for cmd in rulekit.pip_installs(text):
            if NAMED_CUDA.search(cmd):
                continue   # the wheel's CUDA is named (DLG021 compares it)
            extra = EXTRA_CUDA.search(cmd)
            for m, where in rulekit.torch_requirements(doc, ctx, cmd):
                spec = f"=={m.group(2)}" if m.group(2) else (m.group(3) or "").strip("\"'")
                if "+" in spec or (extra and re.fullmatch(r"==\d[\w.]*", spec)):
                    continue
                admitted = [r for r in matrix.rows() if _admits(spec, r["version"])]
                other = [r for r in admitted if r["pypi_cuda"].split(".")[0] != major]
                if not other:
                    continue
                newest = max(other, key=lambda r: _key(r["version"]))
                asked = f'"torch{spec}"' if spec else "an unpinned torch"
                yield rulekit.Hit(line=ins.line, message=f"pip installs {asked}{where} on a CUDA {base} base: it can "
                                  f"take torch {newest['version']}, whose default wheel is built for CUDA "
                                  f"{newest['pypi_cuda']}", hint=f"install from the cu{''.join(base.split('.'))} wheel index "
                                  "(--index-url .../whl/cuXXX) or pin a torch whose default build matches")
