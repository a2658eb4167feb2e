"""DLG041 deleted-in-later-layer.

What it does: reports an `rm` in a RUN of the final image that deletes a file an earlier instruction
of the image put there: a COPY or ADD, or an earlier RUN's download (`wget -O`, `curl -o`,
`git clone URL DIR`).
Why is this bad: every instruction is a layer, and the image keeps all of them: a file added in one
layer and deleted in a later one still ships, at full size, in the earlier layer (Docker docs,
"Understanding image layers" and "Multi-stage builds": the deletion only hides it). A model archive
or a wheel copied in and removed after installing costs its whole size.
Use instead: fetch, use and delete in one RUN; read a build-context file through a bind mount
(`RUN --mount=type=bind,source=x.tar.gz,target=/tmp/x.tar.gz tar -xzf /tmp/x.tar.gz`); or do the
work in a build stage and COPY only the result.
"""

import bisect
import posixpath
import shlex
from collections.abc import Iterator
from fnmatch import fnmatchcase

from dlgen import rulekit

ID = "DLG041"
NAME = "deleted-in-later-layer"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "A file deleted in a later layer still ships in the layer that added it."
FAIL = ['FROM python:3.11-slim\nCOPY weights.tar.gz /tmp/\nRUN tar -xzf /tmp/weights.tar.gz -C /opt && '
        'rm /tmp/weights.tar.gz\nCMD ["python", "serve.py"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\nWORKDIR /w\n'
        'RUN wget -q -O flash_attn.whl https://example.com/flash_attn-2.7.4-cp311-linux_x86_64.whl\n'
        'RUN pip install --no-cache-dir flash_attn.whl && rm -f /w/flash_attn.whl\nCMD ["python", "train.py"]\n']
PASS = ['FROM python:3.11-slim\nRUN --mount=type=bind,source=weights.tar.gz,target=/tmp/weights.tar.gz '
        'tar -xzf /tmp/weights.tar.gz -C /opt\nCMD ["python", "serve.py"]\n',
        # fetched, used and deleted in one RUN: never in a layer
        'FROM python:3.11-slim\nRUN wget -q -O /tmp/x.whl https://example.com/x.whl && pip install --no-cache-dir '
        '/tmp/x.whl && rm /tmp/x.whl\nCMD ["python", "serve.py"]\n',
        # a build stage's layers do not ship
        'FROM python:3.11-slim AS build\nCOPY src/ /src/\nRUN rm -rf /src/tests\n'
        'FROM python:3.11-slim\nCOPY --from=build /src /app\nCMD ["python", "/app/serve.py"]\n',
        # a requirements file: a few bytes
        'FROM python:3.11-slim\nCOPY requirements.txt /tmp/\nRUN pip install --no-cache-dir -r /tmp/requirements.txt && '
        'rm /tmp/requirements.txt\nCMD ["python", "serve.py"]\n']
_OUT = {"wget": ("O", "--output-document"), "curl": ("o", "--output")}   # the option naming the file written


def _abs(path: str, workdir: str) -> str:
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(workdir, path))


def _copied(ins, doc, workdir: str) -> list[str]:
    """Where a COPY/ADD puts its files: the destination, and each source's name under it."""
    words = [doc.resolve(w) for w in ins.value]
    if len(words) < 2 or ins.heredocs:
        return []
    *sources, dest = words
    dest_abs = _abs(dest, workdir)
    out = [dest_abs]
    if dest.endswith("/") or len(sources) > 1:
        out += [posixpath.join(dest_abs, posixpath.basename(s.rstrip("/"))) for s in sources if "://" not in s]
    return out


def _downloaded(cmd: str, workdir: str) -> list[str]:
    """Files a simple command writes: wget -O F, curl -o F, git clone URL DIR."""
    try:
        words = shlex.split(cmd)
    except ValueError:
        return []
    if not words:
        return []
    tool = posixpath.basename(words[0])
    out = []
    if tool in _OUT:
        short, long = _OUT[tool]
        for i, w in enumerate(words):
            key, eq, val = w.partition("=")
            if key == long and eq:
                target = val
            elif key == long or (w.startswith("-") and not w.startswith("--") and w.endswith(short)):
                target = words[i + 1] if i + 1 < len(words) else ""   # -o F, -sSLo F
            else:
                continue
            if target and target != "-":
                out.append(_abs(target, workdir))
    elif tool == "git" and "clone" in words:
        rest = [w for w in words[words.index("clone") + 1:] if not w.startswith("-")]
        if len(rest) >= 2:
            out.append(_abs(rest[1], workdir))
    return out


def _removed(cmd: str, workdir: str) -> list[str]:
    try:
        words = shlex.split(cmd)
    except ValueError:
        return []
    if not words or posixpath.basename(words[0]) != "rm":
        return []
    return [_abs(w, workdir) for w in words[1:] if not w.startswith("-") and "$" not in w]


# Small text files (requirements, scripts, configs): deleting them later costs bytes, not a finding.
_TEXT = (".txt", ".cfg", ".ini", ".toml", ".json", ".yaml", ".yml", ".sh", ".py", ".md", ".lock", ".conf")


class _Layers:
    """Files earlier layers of the image hold, by path (a sorted list too: a folder's files by prefix), so a
    file with thousands of COPY and rm lines is read in n log n."""

    def __init__(self):
        self.first: dict[str, tuple[int, str]] = {}
        self.paths: list[str] = []

    def add(self, path: str, line: int, what: str) -> None:
        if path.lower().endswith(_TEXT) or path in self.first:
            return
        self.first[path] = (line, what)
        bisect.insort(self.paths, path)

    def taken(self, removed: str) -> tuple[str, int, str] | None:
        """(path, line, what) of a file the rm argument takes: the path, one under it, or a glob's match."""
        if removed in ("/", "/tmp", "/root"):   # clearing a whole top folder: not a claim about one file
            return None
        if any(c in removed for c in "*?["):
            hit = next((p for p in self.paths if fnmatchcase(p, removed)), None)
        elif removed in self.first:
            hit = removed
        else:
            prefix = removed.rstrip("/") + "/"
            i = bisect.bisect_left(self.paths, prefix)
            hit = self.paths[i] if i < len(self.paths) and self.paths[i].startswith(prefix) else None
        return (hit, *self.first[hit]) if hit else None


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    layers = _Layers()   # files in layers of the final image, in order
    workdir = "/"
    for st in reversed(rulekit.chain(doc)):
        for ins in st.instrs:
            if ins.cmd == "WORKDIR" and ins.value:
                workdir = _abs(doc.resolve(ins.value[0]), workdir)
            elif ins.cmd in ("COPY", "ADD"):
                for p in _copied(ins, doc, workdir):
                    layers.add(p, ins.line, ins.cmd)
            elif ins.cmd == "RUN":
                cmds = rulekit.shell_commands(rulekit.run_text(doc, ins))
                reported = set()
                for cmd in cmds:
                    for gone in _removed(cmd, workdir):
                        found = layers.taken(gone) if gone not in reported else None
                        if found:
                            reported.add(gone)
                            yield rulekit.Hit(
                                line=ins.line,
                                message=f"rm {gone} saves no space: the {found[2]} on line {found[1]} put it in an "
                                        "earlier layer, which the image still ships",
                                hint="fetch, use and delete in one RUN, or read it through RUN --mount=type=bind "
                                     "(or use a build stage)")
                for cmd in cmds:   # this RUN's downloads are in its own layer: later RUNs' rm come too late
                    for p in _downloaded(cmd, workdir):
                        layers.add(p, ins.line, "download")
