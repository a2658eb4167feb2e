"""DLG023 cuda-build-on-runtime.

What it does: reports CUDA code compiled in the final image (nvcc, `TORCH_CUDA_ARCH_LIST`,
`FORCE_CUDA=1`, DeepSpeed `DS_BUILD_*` ops, flash-attn/apex/xformers from source or with
`--no-build-isolation`) when that image is a `-runtime`/`-base` CUDA image without nvcc.
Why is this bad: runtime and base images carry no compiler or headers (pytorch/pytorch's Dockerfile and the image tags on Docker Hub):
the build fails with "nvcc not found" / "CUDA_HOME not set", or, worse, silently builds a
CPU-only extension.
Use instead: compile in a `-devel` stage and COPY the wheels into the runtime stage, or use
prebuilt wheels.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG023"
NAME = "cuda-build-on-runtime"
SEVERITY = "error"
TARGET = "dockerfile"
WHY = "Runtime/base CUDA images have no nvcc: compiling CUDA extensions there fails or builds CPU-only."
FAIL = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\n'
        'RUN pip install --no-cache-dir flash-attn --no-build-isolation\nCMD ["python", "s.py"]\n',
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nENV TORCH_CUDA_ARCH_LIST="8.0 9.0"\n'
        'RUN pip install --no-cache-dir -e .\nCMD ["python3", "s.py"]\n']
PASS = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel\n'
        'RUN pip install --no-cache-dir flash-attn --no-build-isolation\nCMD ["python", "s.py"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel AS build\n'
        'RUN pip wheel --no-build-isolation -w /wheels flash-attn\n'
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nCOPY --from=build /wheels /wheels\n'
        'RUN pip install --no-cache-dir /wheels/*.whl\nCMD ["python", "s.py"]\n']
BUILD_SIGNS = (
    (re.compile(r"\bnvcc\b"), "runs nvcc"),
    (re.compile(r"\bTORCH_CUDA_ARCH_LIST\b"), "sets TORCH_CUDA_ARCH_LIST (compiles CUDA extensions)"),
    (re.compile(r"\bFORCE_CUDA=1\b"), "sets FORCE_CUDA=1"),
    (re.compile(r"\bDS_BUILD_[A-Z_]+=1\b"), "builds DeepSpeed ops"),
    (re.compile(r"(flash[-_]attn|xformers|apex)\b[^\n]*--no-build-isolation|--no-build-isolation[^\n]*"
                r"(flash[-_]attn|xformers|apex)\b"), "builds a CUDA extension from source"),
    (re.compile(r"git\+https?://\S*(flash-attention|xformers|apex)"), "builds a CUDA extension from git"),
    (re.compile(r"--cuda_ext\b|--cpp_ext\b"), "builds apex CUDA extensions"),
)


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    image = rulekit.base_image(doc)
    facts = rulekit.image_facts(doc)
    runtime = re.search(r"-(runtime|base)(-|$)", image.split(":", 1)[-1]) if ":" in image else None
    if facts.get("nvcc") or not (runtime or (facts.get("gpu") and facts.get("nvcc") is False)):
        return
    for ins in rulekit.chain_instrs(doc, "RUN", "ENV"):  # an ARG alone compiles nothing
        text = doc.resolve(ins.text) if ins.cmd == "RUN" else " ".join(ins.value) + " " + ins.original
        for sign, what in BUILD_SIGNS:
            if sign.search(text):
                yield rulekit.Hit(line=ins.line, message=f"this {ins.cmd} {what}, but {image} has no nvcc", hint="compile in a -devel stage and COPY the wheels into the runtime image")
                break
