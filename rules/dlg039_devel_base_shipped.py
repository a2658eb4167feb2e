"""DLG039 devel-base-shipped.

What it does: reports a final image built on a CUDA `-devel` base (nvcc, headers, static libraries)
in which nothing is compiled: no nvcc, no CUDA extension built from source (the signs DLG023 reads),
no C/C++ build (`cmake`, `make`, `gcc`, `ninja`, a `setup.py build`), and whose command is not an
interactive shell or notebook (a development image, where you compile by hand, keeps its compiler).
Why is this bad: a devel image is several GB larger than its runtime twin (pytorch/pytorch's
`-devel` and `-runtime` tags on Docker Hub; NVIDIA's cuda `devel` vs `runtime` images): every host
pulls and stores gigabytes of compiler and headers that nothing uses. It is the reverse of DLG023.
Use instead: the `-runtime` tag of the same image; where something must be compiled, compile it
in a devel stage and copy the result into a runtime stage.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG039"
NAME = "devel-base-shipped"
SEVERITY = "info"
TARGET = "dockerfile"
WHY = "A -devel CUDA base in which nothing is compiled ships gigabytes of compiler and headers for nothing."
FAIL = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel\nRUN pip install --no-cache-dir transformers==4.57.1\n'
        'COPY serve.py /app/serve.py\nCMD ["python", "/app/serve.py"]\n',
        'FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN apt-get update && apt-get install -y --no-install-recommends '
        'python3-pip && rm -rf /var/lib/apt/lists/*\nCMD ["python3", "infer.py"]\n']
PASS = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel\n'
        'RUN pip install --no-cache-dir flash-attn --no-build-isolation\nCMD ["python", "s.py"]\n',
        'FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN apt-get update && apt-get install -y --no-install-recommends '
        'cmake g++ && rm -rf /var/lib/apt/lists/*\nCOPY . /src\nRUN cmake -S /src -B /build && cmake --build /build\n'
        'CMD ["/build/server"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel\nWORKDIR /workspace\nCMD ["bash"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nCMD ["python", "s.py"]\n']
COMPILES = re.compile(r"\b(cmake|make|ninja|gcc|g\+\+|nvcc|cc|c\+\+|meson|bazel|cargo)\b|setup\.py\s+(build|install|"
                      r"bdist_wheel|develop)|--no-build-isolation|--no-binary|TORCH_CUDA_ARCH_LIST|FORCE_CUDA|"
                      r"DS_BUILD_|\bpip\s+wheel\b")


def devel_base(doc) -> bool:
    """A base whose tag names its devel variant (it has a runtime twin to use instead): not a server's
    own image that happens to carry nvcc (vllm/vllm-openai), which has no other variant."""
    image = rulekit.base_image(doc) or ""
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return "devel" in tag.split("-")


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    if not devel_base(doc):
        return
    texts = [text for _, text in rulekit.run_texts(doc, rulekit.chain(doc))]
    texts += [f"{k}={v}" for k, v in doc.env().items()]
    if any(COMPILES.search(t) for t in texts):
        return
    command = rulekit.final_command(doc)
    if not command or rulekit.is_shell(command[0]) or command[0] == "sleep" or any("jupyter" in w for w in command):
        return
    base = next((i for i in rulekit.chain_instrs(doc, "FROM")), None)
    yield rulekit.Hit(line=base.line if base else 1, message=f"the final image is built on {rulekit.base_image(doc)}, "
                      "a CUDA devel image, and compiles nothing: gigabytes of compiler and headers shipped",
                      hint="use the -runtime tag of the same image (or compile in a devel stage and copy the "
                           "result into a runtime one)")
