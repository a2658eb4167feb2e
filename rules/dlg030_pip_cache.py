"""DLG030 pip-cache.

What it does: reports `pip install` in the final image without `--no-cache-dir`,
`PIP_NO_CACHE_DIR` or a cache mount (`RUN --mount=type=cache,target=/root/.cache/pip`).
Why is this bad: pip keeps every downloaded wheel in ~/.cache/pip inside the layer; a CUDA torch
wheel alone is ~2 GB, so the image carries it twice.
Use instead: `pip install --no-cache-dir ...` (`--fix`), or a BuildKit cache mount.
"""

import re

from dlgen import rulekit

ID = "DLG030"
NAME = "pip-cache"
SEVERITY = "warning"
TARGET = "dockerfile"
FIXABLE = True
WHY = "pip's cache stays in the layer: a CUDA torch wheel (~2 GB) is stored twice."
FAIL = ['FROM python:3.11-slim\nRUN pip install torch==2.6.0 transformers\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN apt-get update && \\\n    python -m pip install -r requirements.txt\n'
        'CMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN pip3 --disable-pip-version-check install torch==2.6.0\nCMD ["python", "s.py"]\n']
PASS = ['FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.6.0\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN pip3 --no-cache-dir install torch==2.6.0\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nENV PIP_NO_CACHE_DIR=1\nRUN pip install torch==2.6.0\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache/pip pip install torch==2.6.0\n'
        'CMD ["python", "s.py"]\n',
        'FROM python:3.11-slim AS build\nRUN pip wheel -w /w torch==2.6.0\nFROM python:3.11-slim\nCMD ["python"]\n']
INSTALL = re.compile(r"(?<!uv )((?:pip3?|python3?(?:\.\d+)?\s+-m\s+pip)(?:\s+--?[\w-]+(?:=\S+)?)*\s+install)\b")


def _needs(cmd):
    # pip takes unambiguous option prefixes: --no-cache is --no-cache-dir
    return INSTALL.search(cmd) and "--no-cache" not in cmd and not cmd.lstrip().startswith("uv ")


def fix_lines(text):
    """Add --no-cache-dir to every pip install command in ``text`` that lacks it (one pass over
    the text: the command separators are found once, not searched again from each install)."""
    import bisect

    ends = [m.start() for m in re.finditer(r"&&|\|\||;|(?<!\\)\n", text)]
    installs = list(INSTALL.finditer(text))
    out, pos = [], 0
    for i, m in enumerate(installs):
        k = bisect.bisect_left(ends, m.end())
        stop = min(ends[k] if k < len(ends) else len(text), installs[i + 1].start() if i + 1 < len(installs) else len(text))
        window = text[m.end():stop]
        out.append(text[pos:m.end()])
        if "--no-cache" not in window:
            out.append(" --no-cache-dir")
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def check(doc, ctx):
    env = {}
    for st in reversed(rulekit.chain(doc)):
        for ins in st.instrs:
            if ins.cmd in ("ENV", "ARG"):
                pairs = rulekit.env_pairs(ins) if ins.cmd == "ENV" else [v.partition("=")[::2] for v in ins.value]
                env.update(dict(pairs))
            if ins.cmd != "RUN":
                continue
            if env.get("PIP_NO_CACHE_DIR", "").lower() not in ("", "0", "false", "no", "off"):
                continue
            mount = ins.flag("mount") or ""
            if "type=cache" in mount:
                continue
            bad = [c for c in rulekit.pip_installs(ins.text) if _needs(c)]
            if not bad:
                continue
            raw = rulekit.instr_source(doc, ins)
            fixed = fix_lines(raw)
            fix = (rulekit.Edit(ins.line, ins.end_line, fixed),) if fixed != raw else ()
            yield rulekit.Hit(line=ins.line, message="pip install keeps its download cache in the layer", hint="add --no-cache-dir (or ENV PIP_NO_CACHE_DIR=1, or a cache mount)", fix=fix)
