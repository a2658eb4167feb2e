"""DLG024 unknown-base-tag.

What it does: reports a `pytorch/pytorch` or `nvidia/cuda` tag that matches no published
torch/CUDA/cuDNN combination: cuDNN 8 with torch >= 2.4 (the token is `cudnn9` from 2.4), a CUDA
the torch release was not built for, `nvidia/cuda` cudnn8 tags after CUDA 12.2 or the
unversioned `cudnn` before 12.4 (pytorch/pytorch RELEASE.md, "Release Compatibility Matrix"; the tags on Docker Hub).
Why is this bad: the pull fails (`manifest unknown`), usually in CI, after a hand edit of one
number in the tag.
Use instead: a published tag; `dlgen new --torch X --cuda Y` picks one from the matrix.
"""

import re
from collections.abc import Iterator

from dlgen import matrix, rulekit

ID = "DLG024"
NAME = "unknown-base-tag"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "A tag that matches no published torch/CUDA/cuDNN combination cannot be pulled."
FAIL = ['FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn8-runtime\nCMD ["python", "s.py"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.1-cudnn9-runtime\nCMD ["python", "s.py"]\n',
        'FROM nvidia/cuda:12.4.1-cudnn8-runtime-ubuntu22.04\nCMD ["bash"]\n']
PASS = ['FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime\nCMD ["python", "s.py"]\n',
        'FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04\nCMD ["bash"]\n',
        'FROM nvidia/cuda:12.1.1-cudnn8-devel-ubuntu22.04\nCMD ["bash"]\n']
CUDA_TAG = re.compile(r"^(?:docker\.io/)?nvidia/cuda:(\d+)\.(\d+)(?:\.\d+)?-(?:(cudnn\d*)-)?(base|runtime|devel)-")


def _cuda_problem(image):
    m = CUDA_TAG.match(image)
    if not m or not m.group(3):
        return None
    cuda = (int(m.group(1)), int(m.group(2)))
    token = m.group(3)
    if token == "cudnn8" and cuda > (12, 2):
        return f"nvidia/cuda has cudnn8 tags only up to CUDA 12.2 (this is {cuda[0]}.{cuda[1]})", \
            "use the -cudnn- tag (cuDNN 9)"
    if token == "cudnn9" and cuda[:2] != (12, 3):
        return "the cudnn9 token exists only for CUDA 12.3", "use -cudnn- (12.4 and later) or -cudnn8- (12.2 and earlier)"
    if token == "cudnn" and cuda < (12, 4):
        return "unversioned -cudnn- tags start at CUDA 12.4", "use -cudnn8- for CUDA 12.2 and earlier"
    return None


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    for ins in doc.instrs:
        if ins.cmd != "FROM" or not ins.value:
            continue
        image = doc.resolve(ins.value[0])
        if matrix.tag_exists(image) is False:
            parts = matrix.parse_tag(image)
            row = matrix.find_torch(".".join(parts["torch"].split(".")[:2])) if parts else None
            known = f"torch {row['version']} tags: CUDA {', '.join(row['tag_cuda'])} with cudnn{row['cudnn']}" \
                if row else "see `dlgen new --torch`"
            yield rulekit.Hit(line=ins.line, message=f"{image} is not a published pytorch/pytorch tag", hint=known)
            continue
        problem = _cuda_problem(image)
        if problem:
            yield rulekit.Hit(line=ins.line, message=f"{image}: {problem[0]}", hint=problem[1])
