"""DLG030 pip-cache.

What it does: reports an install that leaves its package cache in the final image's layer: `pip
install` without `--no-cache-dir`, `PIP_NO_CACHE_DIR` or a cache mount on pip's cache; `uv pip
install` / `uv sync` without `--no-cache`, `UV_NO_CACHE` or a cache mount on uv's cache; `conda` /
`mamba install` without `conda clean` in the same RUN.
Why is this bad: the tool keeps every downloaded wheel or package in its cache inside the layer
(~/.cache/pip, ~/.cache/uv, /opt/conda/pkgs); a CUDA torch wheel alone is ~2 GB, so the image
carries it twice.
Use instead: `pip install --no-cache-dir ...` (`--fix`), or a BuildKit cache mount on the tool's
cache directory (`RUN --mount=type=cache,target=/root/.cache/uv uv pip install ...`), which also
makes rebuilds fast; `conda clean -afy` at the end of a conda RUN.
Sources: pip's "Caching" docs (--no-cache-dir, PIP_NO_CACHE_DIR); uv's "Caching" and "Using uv in
Docker" docs (UV_NO_CACHE, --no-cache, cache mounts); conda's `conda clean` reference.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG030"
NAME = "pip-cache"
SEVERITY = "warning"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "safe"
FIX_SAFETY_WHY = ("only where pip keeps its cache changes: the same packages are installed, the image is smaller.")
WHY = "pip's cache stays in the layer: a CUDA torch wheel (~2 GB) is stored twice."
FAIL = ['FROM python:3.11-slim\nRUN pip install torch==2.6.0 transformers\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN apt-get update && \\\n    python -m pip install -r requirements.txt\n'
        'CMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN pip3 --disable-pip-version-check install torch==2.6.0\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN pip install uv && uv pip install --system torch==2.6.0\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nCOPY . /app\nRUN cd /app && uv sync --frozen\nCMD ["python", "s.py"]\n',
        'FROM continuumio/miniconda3:24.7.1-0\nRUN conda install -y pytorch\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache/pip uv pip install --system torch\n'
        'CMD ["python", "s.py"]\n']
PASS = ['FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.6.0\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN pip3 --no-cache-dir install torch==2.6.0\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache/uv uv pip install --system torch\n'
        'CMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nENV UV_NO_CACHE=1\nRUN uv sync --frozen\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nRUN uv pip install --system --no-cache torch\nCMD ["python", "s.py"]\n',
        'FROM continuumio/miniconda3:24.7.1-0\nRUN conda install -y pytorch && conda clean -afy\nCMD ["python", "s.py"]\n',
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


UV_INSTALL = re.compile(r"(?:^|\s|/)uv(?:\s+--?[\w-]+(?:=\S+)?)*\s+(?:pip\s+(?:install|sync)|sync|add)\b")
CONDA_INSTALL = re.compile(r"(?:^|\s|/)(?:conda|mamba|micromamba)\s+(?:install|create|update)\b")
CONDA_CLEAN = re.compile(r"(?:^|\s|/)(?:conda|mamba|micromamba)\s+clean\b")
OFF = ("", "0", "false", "no", "off")


def _mounted(ins, tool: str, env_dir: str = "") -> bool:
    """A cache (or tmpfs) mount on the tool's cache directory (~/.cache/TOOL, the directory its
    environment variable names) or on a folder above it (~/.cache)."""
    for mount in ins.flags_named("mount"):
        fields = dict(f.partition("=")[::2] for f in mount.split(","))
        if fields.get("type") not in ("cache", "tmpfs"):
            continue
        target = (fields.get("target") or fields.get("dst") or fields.get("destination") or "").rstrip("/")
        if target and (target.endswith(tool) or target.endswith("/.cache")
                       or (env_dir and (env_dir.rstrip("/") + "/").startswith(target + "/"))):
            return True
    return False


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    env = {}
    for st in reversed(rulekit.chain(doc)):
        for ins in st.instrs:
            if ins.cmd in ("ENV", "ARG"):
                pairs = rulekit.env_pairs(ins) if ins.cmd == "ENV" else [v.partition("=")[::2] for v in ins.value]
                env.update(dict(pairs))
            if ins.cmd != "RUN":
                continue
            text = rulekit.run_text(None, ins)   # unresolved: the fix edits the words as written
            cmds = rulekit.shell_commands(text)
            pip_off = env.get("PIP_NO_CACHE_DIR", "").lower() not in OFF
            if not pip_off and not _mounted(ins, ".cache/pip", env.get("PIP_CACHE_DIR", "")):
                bad = [c for c in rulekit.pip_installs(text) if _needs(c)]
                if bad:
                    raw = rulekit.instr_source(doc, ins)
                    fixed = fix_lines(raw)
                    fix = (rulekit.Edit(ins.line, ins.end_line, fixed),) if fixed != raw else ()
                    yield rulekit.Hit(line=ins.line, message="pip install keeps its download cache in the layer",
                                      hint="add --no-cache-dir (or ENV PIP_NO_CACHE_DIR=1, or a cache mount)", fix=fix)
            uv_off = env.get("UV_NO_CACHE", "").lower() not in OFF
            if not uv_off and not _mounted(ins, ".cache/uv", env.get("UV_CACHE_DIR", "")):
                uv = [c for c in cmds if UV_INSTALL.search(c) and not re.search(r"(?:^|\s)(?:--no-cache|-n)\b", c)
                      and "UV_NO_CACHE=" not in c]
                if uv and not any(re.search(r"\buv\s+cache\s+(?:clean|prune)\b", c) for c in cmds):
                    yield rulekit.Hit(line=ins.line, message="uv keeps its download cache in the layer",
                                      hint="mount a cache on it: RUN --mount=type=cache,target=/root/.cache/uv ... "
                                           "(or --no-cache, or ENV UV_NO_CACHE=1)")
            if any(CONDA_INSTALL.search(c) for c in cmds) and not any(CONDA_CLEAN.search(c) for c in cmds) \
                    and not _mounted(ins, "/pkgs"):
                yield rulekit.Hit(line=ins.line, message="conda keeps its package cache (pkgs/) in the layer",
                                  hint="end the RUN with && conda clean -afy (or mount a cache on /opt/conda/pkgs)")
