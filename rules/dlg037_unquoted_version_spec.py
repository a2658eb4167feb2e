"""DLG037 unquoted-version-spec.

What it does: reports `pip install pkg>=1.0` (or `<`) with the specifier unquoted in a RUN.
Why is this bad: the shell reads `>=1.0` as a redirection: pip installs the newest `pkg` with
no constraint and its output goes to a file named `=1.0` in the image.
Use instead: quote the requirement, `pip install "pkg>=1.0"` (`--fix`).
"""

import re
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG037"
NAME = "unquoted-version-spec"
SEVERITY = "error"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "unsafe"
FIX_SAFETY_WHY = ("the version constraint takes effect: the build installs another version than before, or fails when none matches.")
WHY = "Unquoted > or < in pip install is a shell redirection: the package installs unpinned."
FAIL = ['FROM python:3.11-slim\nRUN pip install --no-cache-dir transformers>=4.40 torch<3\n',
        'FROM python:3.11-slim\nRUN pip install --no-cache-dir \\\n    numpy \\\n    accelerate>=0.30\n']
PASS = ['FROM python:3.11-slim\nRUN pip install --no-cache-dir "transformers>=4.40" \'torch<3\'\n',
        'FROM python:3.11-slim\nRUN pip install --no-cache-dir numpy==1.26.4 > /tmp/pip.log 2>&1\n']
# A requirement word glued to < or > outside quotes: name[extras]<op>version.
UNQUOTED = re.compile(r"(?<![\w\"'=.\-\[\]])([A-Za-z][\w.\-]*(?:\[[\w,.\-]+\])?(?:>=|<=|>|<)[\w.*,<>=!~]+)")


def _outside_quotes(text):
    """``text`` with quoted parts blanked (same length), so positions still match."""
    out, quote = [], None
    for ch in text:
        if quote:
            out.append(" ")
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    for ins in doc.instrs:
        if ins.cmd != "RUN" or ins.json:
            continue
        raw = rulekit.instr_source(doc, ins)
        plain = _outside_quotes(raw)
        hits = []
        for cmd_match in re.finditer(r"pip3?\s+install\b[^&;|]*", plain):
            for m in UNQUOTED.finditer(plain, cmd_match.start(), cmd_match.end()):
                hits.append(m)
        if not hits:
            continue
        fixed, shift = raw, 0
        for m in hits:
            a, b = m.start(1) + shift, m.end(1) + shift
            fixed = fixed[:a] + f'"{fixed[a:b]}"' + fixed[b:]
            shift += 2
        names = ", ".join(m.group(1) for m in hits)
        yield rulekit.Hit(line=ins.line, message=f"unquoted version specifier ({names}): the shell treats > and < as "
                                       "redirections and pip installs unpinned", hint="quote each requirement", fix=(rulekit.Edit(ins.line, ins.end_line, fixed),))
