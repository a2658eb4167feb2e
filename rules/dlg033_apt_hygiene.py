"""DLG033 apt-hygiene.

What it does: reports `apt-get install` without `--no-install-recommends`, an install whose RUN
does not remove /var/lib/apt/lists, and `apt-get update` alone in a RUN.
Why is this bad: recommends pull in hundreds of MB (on CUDA images, often X11 and docs); the
package lists (~40 MB) stay in the layer; an `update` in its own layer is cached forever, so a
later `install` uses stale lists and fails once the mirror moves on.
Use instead: `apt-get update && apt-get install -y --no-install-recommends ... && rm -rf
/var/lib/apt/lists/*` in one RUN.
Recommends and leftover lists are judged only in the stages the final image is built on: a builder
stage's layers are never shipped (a multi-stage build copies what it needs out of them). A lone
`apt-get update` is judged in every stage: a stale list breaks a builder's install as well.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG033"
NAME = "apt-hygiene"
SEVERITY = "info"
TARGET = "dockerfile"
WHY = "Recommends, leftover package lists and a lone apt-get update make images large and builds stale."
FAIL = ['FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\n',
        'FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y --no-install-recommends git\n',
        'FROM ubuntu:22.04\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends git '
        '&& rm -rf /var/lib/apt/lists/*\n',
        # /bin/sh (dash) has no brace expansion: nothing is removed
        'FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y --no-install-recommends git '
        '&& rm -rf /var/lib/apt/lists/{partial,lock}\n']
PASS = ['FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y --no-install-recommends git '
        '&& rm -rf /var/lib/apt/lists/*\n',
        'FROM ubuntu:22.04\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update '
        '&& apt-get install -y --no-install-recommends git\n',
        # the docker build docs' cache-mount example: /var/cache/apt and /var/lib/apt, two mounts
        'FROM ubuntu:22.04\nRUN --mount=type=cache,target=/var/cache/apt,sharing=locked '
        '--mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update '
        '&& apt-get install -y --no-install-recommends git\n',
        'FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y --no-install-recommends git '
        '&& find /var/lib/apt/lists -type f -delete\n',
        'FROM ubuntu:22.04\nSHELL ["/bin/bash", "-c"]\nRUN apt-get update && apt-get install -y '
        '--no-install-recommends git && rm -rf /var/lib/apt/lists/{partial,lock} /var/lib/apt/lists/*\n'        # a builder stage: its apt layers never ship
        'FROM nvidia/cuda:12.4.1-devel-ubuntu22.04 AS build\nRUN apt-get update && apt-get install -y git cmake\n'
        'RUN git clone https://github.com/ggml-org/llama.cpp /src && cmake -S /src -B /out\n'
        'FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nCOPY --from=build /out /opt/llama\n',
]
APT_INSTALL = re.compile(r"^(?:sudo\s+)?(?:\w+=\S+\s+)*apt(?:-get)?\s+(?:-\S+\s+)*install\b")
LISTS = "/var/lib/apt/lists"
LISTS_AFTER = re.compile(r"/var/lib/apt/lists(\S*)")
LISTS_FIND = re.compile(r"\bfind\s+/var/lib/apt/lists\b.*?(-delete\b|-exec\s+rm\b)")
APT_UPDATE = re.compile(r"^(?:sudo\s+)?(?:\w+=\S+\s+)*apt(?:-get)?\s+(?:-\S+\s+)*update\b")
BRACE_SHELLS = re.compile(r"(^|/)(bash|zsh|ksh|mksh)$")


def _lists_mounted(ins) -> bool:
    """A cache or tmpfs mount on /var/lib/apt(/lists) keeps the lists out of the layer."""
    for mount in ins.flags_named("mount"):
        opts = dict(p.partition("=")[::2] for p in mount.split(","))
        target = (opts.get("target") or opts.get("dst") or opts.get("destination") or "").rstrip("/")
        if opts.get("type") in ("cache", "tmpfs") and target in ("/var/lib/apt", "/var/lib/apt/lists"):
            return True
    return False


def _shell(doc, ins) -> str:
    """The shell a shell-form RUN runs in: the last SHELL above it in its stage, else /bin/sh."""
    shells = [i for i in doc.instrs if i.cmd == "SHELL" and i.stage == ins.stage and i.line < ins.line]
    return shells[-1].value[0] if shells and shells[-1].value else "/bin/sh"


def _lists_removed(doc, ins, text) -> bool:
    """Whether one of the RUN's commands removes the package lists: rm naming them, or find ...
    -delete / -exec rm on them. Judged command by command, each in one pass (linear in the text)."""
    if LISTS not in text:
        return False
    for cmd in rulekit.shell_commands(text):
        if LISTS not in cmd:
            continue
        words = cmd.split()
        if "find" in words and LISTS_FIND.search(cmd):
            return True
        if not any(w == "rm" or w.endswith("/rm") for w in words):
            continue
        for m in LISTS_AFTER.finditer(cmd):
            if "{" in m.group(1) and not BRACE_SHELLS.search(_shell(doc, ins)):
                continue   # /bin/sh has no brace expansion: rm gets the literal name and removes nothing
            return True
    return False


def _tool(cmd: str) -> str:
    """apt or apt-get, as the command is written (a message names what the file says)."""
    return "apt" if re.search(r"(?:^|\s|/)apt\s", cmd) else "apt-get"


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    shipped = {st.index for st in doc.chain}
    for ins, text in rulekit.run_texts(doc):
        cmds = rulekit.shell_commands(text)
        installs = [c for c in cmds if APT_INSTALL.search(c)]
        updates = [c for c in cmds if APT_UPDATE.search(c)]
        if ins.stage not in shipped:   # a builder stage: its layers are not in the image that ships
            continue
        for c in installs:
            if "--no-install-recommends" not in c and "Install-Recommends" not in c:
                yield rulekit.Hit(line=ins.line, message=f"{_tool(c)} install without --no-install-recommends",
                                  hint="add --no-install-recommends")
                break
        if installs and not _lists_mounted(ins) and not _lists_removed(doc, ins, text):
            yield rulekit.Hit(line=ins.line, message="the apt package lists stay in this layer",
                              hint="end the RUN with && rm -rf /var/lib/apt/lists/*")
        if updates and not installs:
            yield rulekit.Hit(line=ins.line, message=f"{_tool(updates[0])} update alone in a RUN: the cached layer goes stale",
                              hint="run update and install in the same RUN")
