"""DLG021 cuda-mismatch.

What it does: compares the CUDA of every wheel source in the final image (`--index-url
.../whl/cu121`, `-f ...cu121...`, `torch==2.1.0+cu118` pins, `...-cu11` packages) with the base
image's CUDA (from its tag, or a CUDA ARG). Error when the major differs, warning when only the
minor does.
Why is this bad: a wheel built for another CUDA major brings its own libraries that the base's
driver floor or toolkit does not match (NVIDIA CUDA Toolkit release notes, minimum driver versions); at best the base's CUDA is dead
weight, at worst `torch.cuda.is_available()` is False or kernels fail to load.
Use instead: the wheel index whose CUDA matches the base tag (cu124 on a cuda12.4 base).
"""

import re
from collections.abc import Iterator

from dlgen import matrix, rulekit

ID = "DLG021"
NAME = "cuda-mismatch"
SEVERITY = "error"
TARGET = "dockerfile"
WHY = "A torch wheel for another CUDA than the base image's does not match its libraries or driver floor."
FAIL = ['FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\n'
        'RUN pip install --no-cache-dir torch==2.4.1 --index-url https://wheels.example/whl/cu118\n'
        'CMD ["python3", "s.py"]\n',
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install --no-cache-dir torch==2.4.1+cu121 '
        '-f https://wheels.example/whl/torch_stable.html\nCMD ["python3", "s.py"]\n',
        'ARG CUDA_VERSION=11.8.0\nFROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu22.04\n'
        'RUN pip install --no-cache-dir nvidia-cublas-cu12\nCMD ["python3", "s.py"]\n']
PASS = ['FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\n'
        'RUN pip install --no-cache-dir torch==2.4.1 --index-url https://wheels.example/whl/cu124\n'
        'CMD ["python3", "s.py"]\n',
        'FROM python:3.11-slim\nRUN pip install --no-cache-dir torch --index-url https://wheels.example/whl/cpu\n'
        'CMD ["python", "s.py"]\n']
PACKAGE_MAJOR = re.compile(r"\b[a-z][\w.]*-cu(\d{2})\b|\bcupy-cuda(\d{2})x\b")


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    base = rulekit.base_cuda(doc)
    if not base:
        return
    bmaj = base.split(".")[0]
    for ins, text in rulekit.run_texts(doc, rulekit.chain(doc)):
        for cmd in rulekit.pip_installs(text):
            for clash in matrix.wheel_cuda_clashes(cmd, base):
                yield rulekit.Hit(line=ins.line, message=clash.message, hint=clash.hint,
                                  severity=None if clash.major else "warning")
            for m in PACKAGE_MAJOR.finditer(cmd):
                major = m.group(1) or m.group(2)
                if major != bmaj:
                    yield rulekit.Hit(line=ins.line, message=f"{m.group(0)} is built for CUDA {major}.x on a CUDA {base} base", hint=f"use the -cu{bmaj} package")
