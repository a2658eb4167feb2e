"""DLG017 probe-ignores-errors.

What it does: reports a probe that cannot fail on an HTTP error: `curl` without `-f`/`--fail`,
`requests.get(...)` with no status check, or a command that ends in `|| true` / `|| exit 0`.
Why is this bad: a model server answers 503 while it loads and 500 when it is broken; curl
without `-f` exits 0 on both, so Docker reports healthy and traffic goes to a dead model
(each server's documentation of its health endpoints: readiness endpoints answer 503 until loaded).
Use instead: `curl -fsS URL`, `requests.get(URL).raise_for_status()`, no `|| true` (`--fix` adds
`-f` to curl).
"""

import re
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG017"
NAME = "probe-ignores-errors"
SEVERITY = "warning"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "unsafe"
FIX_SAFETY_WHY = ("the probe starts failing on HTTP errors it passed before: a server answering 503 turns unhealthy.")
WHY = "curl without -f (or || true) exits 0 on a 503/500: a loading or broken model looks healthy."
FAIL = ['FROM python:3.11\nHEALTHCHECK CMD curl http://localhost:8000/health || exit 1\nCMD ["python", "s.py"]\n',
        'FROM python:3.11\nHEALTHCHECK CMD ["curl", "-s", "http://localhost:8000/health"]\nCMD ["python", "s.py"]\n',
        'FROM python:3.11\nHEALTHCHECK CMD python -c "import requests; requests.get(\'http://localhost:8000/health\')"\n'
        'CMD ["python", "s.py"]\n',
        'FROM python:3.11\nHEALTHCHECK CMD curl -f http://localhost:8000/health || true\nCMD ["python", "s.py"]\n']
PASS = ['FROM python:3.11\nHEALTHCHECK CMD curl -fsS http://localhost:8000/health || exit 1\nCMD ["python", "s.py"]\n',
        'FROM python:3.11\nHEALTHCHECK CMD ["curl", "--fail", "http://localhost:8000/health"]\nCMD ["python", "s.py"]\n',
        'FROM python:3.11\nHEALTHCHECK CMD python -c "import requests; '
        'requests.get(\'http://localhost:8000/health\').raise_for_status()"\nCMD ["python", "s.py"]\n']


def _curl_has_fail(words):
    for w in words:
        if w in ("--fail", "--fail-with-body") or (re.match(r"^-[a-zA-Z]+$", w) and "f" in w[1:]):
            return True
    return False


def _curl_words(hc):
    words = hc.argv if not hc.shell else rulekit.shell_commands(hc.text)
    if not hc.shell:
        return words if words and words[0].rsplit("/", 1)[-1] == "curl" else None
    for c in words:
        parts = c.split()
        if parts and parts[0].rsplit("/", 1)[-1] == "curl":
            return parts
    return None


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    for ins in doc.final.find("HEALTHCHECK"):
        hc = rulekit.healthcheck(ins, doc)
        if hc is None:
            continue
        curl = _curl_words(hc)
        if curl is not None and not _curl_has_fail(curl):
            if hc.shell:
                value = ["CMD", re.sub(r"\bcurl\b", "curl -f", " ".join(ins.value[1:]), count=1)]
            else:
                i = list(ins.value).index(curl[0])
                value = [*ins.value[:i + 1], "-f", *ins.value[i + 1:]]
            yield rulekit.Hit(line=ins.line, message="curl without -f exits 0 on HTTP errors: a 503 from a loading model "
                                           "counts as healthy", hint="add -f (curl -fsS URL)", fix=rulekit.replace_instr(ins, rulekit.render_instr(ins, value=value)))
        if re.search(r"\brequests\.(get|head)\(", hc.text) and not re.search(
                r"raise_for_status|status_code|\.ok\b", hc.text):
            yield rulekit.Hit(line=ins.line, message="requests.get(...) without a status check succeeds on a 503/500", hint="call .raise_for_status() on the response")
        if re.search(r"\|\|\s*(true|:|exit\s+0)\s*$", hc.text):
            yield rulekit.Hit(line=ins.line, message="the probe ends in || true: it can never fail", hint="remove || true (use || exit 1)")
