"""DLG031 debian-frontend-env.

What it does: reports `ENV DEBIAN_FRONTEND=noninteractive` in the final image.
Why is this bad: ENV persists into the running container, so anyone who runs `apt-get` in it
(a debugging session, a derived image) silently gets defaults for every prompt.
Use instead: `ARG DEBIAN_FRONTEND=noninteractive` (build time only; `--fix`), or set it on the
RUN line.
"""

from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG031"
NAME = "debian-frontend-env"
SEVERITY = "info"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "unsafe"
FIX_SAFETY_WHY = ("the running container no longer has DEBIAN_FRONTEND set: a program that runs apt or debconf at run time may now prompt.")
WHY = "ENV DEBIAN_FRONTEND persists into the running container; it is only needed at build time."
FAIL = ['FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nENV DEBIAN_FRONTEND=noninteractive\nCMD ["bash"]\n',
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nENV DEBIAN_FRONTEND=noninteractive TZ=UTC\nCMD ["bash"]\n']
PASS = ['FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nARG DEBIAN_FRONTEND=noninteractive\nCMD ["bash"]\n',
        # set for the build, then reset (the shape of NVIDIA's and many CUDA Dockerfiles)
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nENV DEBIAN_FRONTEND=noninteractive\n'
        'RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*\n'
        'ENV DEBIAN_FRONTEND=dialog\nCMD ["bash"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    settings = [v for ins in rulekit.chain_instrs(doc, "ENV") for k, v in rulekit.env_pairs(ins)
                if k == "DEBIAN_FRONTEND"]
    if settings and settings[-1] != "noninteractive":
        return   # a later ENV resets it: it does not reach the running container
    for ins in rulekit.chain_instrs(doc, "ENV"):
        pairs = rulekit.env_pairs(ins)
        if not any(k == "DEBIAN_FRONTEND" and v == "noninteractive" for k, v in pairs):
            continue
        rest = [(k, v) for k, v in pairs if k != "DEBIAN_FRONTEND"]
        text = "ARG DEBIAN_FRONTEND=noninteractive"
        if rest:
            vals = list(ins.value)
            kept = [f"{vals[i]}={vals[i + 1]}" for i in range(0, len(vals) - 1, 2) if vals[i] != "DEBIAN_FRONTEND"]
            text += "\nENV " + " ".join(kept)
        yield rulekit.Hit(line=ins.line, message="ENV DEBIAN_FRONTEND=noninteractive persists into the running container", hint="use ARG DEBIAN_FRONTEND=noninteractive", fix=rulekit.replace_instr(ins, text))
