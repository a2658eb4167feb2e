"""DLG040 undefined-variable.

What it does: reports a `$NAME` / `${NAME}` in an instruction BuildKit expands (ENV, COPY, ADD,
WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL, FROM) that nothing defines there: an ARG declared
before the first FROM, or in a stage this one does not build FROM, used in a stage that does not
declare it again, or a name with lower-case letters that no ARG or ENV in scope declares (base
images set upper-case names). An ARG or ENV of the stage or of the local stage it builds FROM (checked
on Docker Engine 26: BuildKit passes both on), its base image's ENV (images.yaml env),
`${NAME:-default}` and the predefined ARGs (proxies, TARGETPLATFORM & co) define a name.
Why is this bad: an undefined variable expands to an empty string, silently: `USER ${UserName}`
runs as root, `WORKDIR /opt/${app}` is /opt/, `ENV TORCH_CUDA_ARCH_LIST=${torch_cuda_arch_list}`
builds for no GPU. A global ARG is in scope only in FROM lines until a stage declares it again
(Dockerfile reference, "Understand how ARG and FROM interact"; BuildKit's UndefinedVar check).
Use instead: declare the ARG in the stage that uses it (`ARG NAME` after FROM), fix the name's
spelling, or give a default (`${NAME:-value}`).
"""

import re
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG040"
NAME = "undefined-variable"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "An undefined build variable expands to an empty string, without an error."
FAIL = ['FROM pytorch/pytorch:${TORCH_TAG}\nCMD ["python", "train.py"]\n',
        'ARG CUDA_ARCH=8.0\nFROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel\nENV TORCH_CUDA_ARCH_LIST=${CUDA_ARCH}\n'
        'CMD ["python", "train.py"]\n',
        'FROM python:3.11-slim\n# ARG UserName=app\nUSER ${UserName}\nCMD ["python", "serve.py"]\n']
PASS = ['ARG CUDA_ARCH=8.0\nFROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel\nARG CUDA_ARCH\n'
        'ENV TORCH_CUDA_ARCH_LIST=${CUDA_ARCH}\nCMD ["python", "train.py"]\n',
        # a global ARG in FROM, a default, an ENV of an earlier stage, a base image's own variable
        'ARG BASE=python:3.11-slim\nFROM ${BASE} AS base\nENV APP_HOME=/app\nFROM base\nWORKDIR ${APP_HOME}/${sub:-x}\n'
        'ENV PATH=${PATH}:/app/bin\nCMD ["python", "serve.py"]\n',
        # an ARG of the stage this one builds FROM is passed on (BuildKit)
        'FROM python:3.11-slim AS deps\nARG app_dir=/srv\nFROM deps\nWORKDIR ${app_dir}\nCMD ["python", "serve.py"]\n']
EXPANDED = {"ENV", "COPY", "ADD", "WORKDIR", "USER", "LABEL", "EXPOSE", "VOLUME", "STOPSIGNAL"}
# BuildKit's predefined ARGs (Dockerfile reference, "Predefined ARGs" and "Automatic platform ARGs")
PREDEFINED = {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
              "ftp_proxy", "no_proxy", "all_proxy", "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
              "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "BUILDKIT_SYNTAX", "BUILDKIT_INLINE_CACHE",
              "SOURCE_DATE_EPOCH"}
# $NAME or ${NAME...}: group 1/2 the name, group 3 a modifier (":-", "-", ":+", "+", ...)
VAR = re.compile(r"\\\$|'[^']*'|\$(?:\{(\w+)([:]?[-+?][^}]*)?\}|(\w+))")


def _uses(text: str) -> Iterator[str]:
    """Names a BuildKit word expands without a default (not escaped, not in single quotes)."""
    for m in VAR.finditer(text):
        name = m.group(1) or m.group(3)
        if name and not (m.group(2) or "").lstrip(":").startswith(("-", "?", "+")):
            yield name


def _declared(ins) -> list[str]:
    if ins.cmd == "ARG":
        return [v.partition("=")[0] for v in ins.value]
    if ins.cmd == "ENV":
        return [k for k, _ in rulekit.env_pairs(ins)]
    return []


def _base_env(image: str) -> set[str]:
    """What the external base image's ENV sets (images.yaml env); for an image it does not know, any
    name a known base sets (such a name may well be set there too)."""
    from dlgen import reference

    facts = reference.image_facts(image)
    if facts:
        return set(facts.get("env") or [])
    return {n for entry in reference.load("images")["images"] for n in entry.get("env") or []}


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    first_from = min((i.line for i in doc.instrs if i.cmd == "FROM"), default=0)
    global_args = {n for i in doc.instrs if i.cmd == "ARG" and i.line < first_from for n in _declared(i)}
    stage_args = {n for i in doc.instrs if i.cmd == "ARG" and i.line > first_from for n in _declared(i)}
    by_name = {s.name.lower(): s for s in doc.stages if s.name}
    # each stage's names: its base image's ENV, or all the local stage it builds FROM had (BuildKit passes
    # that stage's ARGs on as well as its ENV), then its own ARG and ENV as they come
    scope_of: dict[int, set[str]] = {}
    for st in doc.stages:
        parent = by_name.get(doc.resolve(st.base).lower())
        local = parent is not None and parent.index < st.index
        scope = set(scope_of[parent.index]) if parent is not None and local else _base_env(doc.resolve(st.base))
        scope_of[st.index] = scope
        for ins in st.instrs:
            if ins.cmd == "FROM":
                names = set(_uses(" ".join(ins.value)))
                missing = sorted(n for n in names if n not in global_args and n not in PREDEFINED)
            elif ins.cmd in EXPANDED and not ins.heredocs:
                names = {n for w in ins.value for n in _uses(w)}
                missing = sorted(n for n in names if n not in scope and n not in PREDEFINED and
                                 (n in global_args or n in stage_args or n != n.upper()))
            else:
                missing = []
            for name in missing:
                if ins.cmd == "FROM":
                    msg = f"${{{name}}} in FROM is declared by no ARG before the first FROM: it expands to an empty string"
                    hint = f"declare ARG {name}=DEFAULT before the first FROM"
                elif name in global_args or name in stage_args:
                    kind = "a global ARG (declared before the first FROM)" if name in global_args else \
                        "an ARG of a stage this one does not build FROM"
                    msg = f"${{{name}}} is {kind}, out of scope in this stage: it expands to an empty string"
                    hint = f"declare it again in this stage: ARG {name} (after FROM)"
                else:
                    msg = f"${{{name}}} is defined by no ARG or ENV of this file: it expands to an empty string"
                    hint = f"declare ARG {name} (or fix the name), or write ${{{name}:-default}}"
                yield rulekit.Hit(line=ins.line, message=msg, hint=hint)
            if ins.cmd in ("ARG", "ENV"):
                scope.update(_declared(ins))
