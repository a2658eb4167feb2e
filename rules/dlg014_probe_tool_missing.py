"""DLG014 probe-tool-missing.

What it does: reports a HEALTHCHECK that runs a program (curl, wget, python) the final image
does not have: the base image is known to lack it and no RUN installs it.
Why is this bad: the probe can never pass, so the container is `unhealthy` forever
(Dockerfile reference, HEALTHCHECK: the probe runs inside the container); `pytorch/pytorch` and `nvidia/cuda` ship no curl or wget.
Use instead: a standard-library Python probe, or install the tool in a RUN.
"""

import re
from collections.abc import Iterator

from dlgen import reference, rulekit

ID = "DLG014"
NAME = "probe-tool-missing"
SEVERITY = "error"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "unsafe"
FIX_SAFETY_WHY = ("it replaces the probe's command with a python probe of the same URL: what counts as healthy (status codes, redirects, timeouts) may differ from the tool you wrote.")
WHY = "A probe that calls a program the image lacks can never pass: the container stays unhealthy."
FAIL = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\n'
        'HEALTHCHECK --start-period=60s CMD curl -f http://localhost:8000/health || exit 1\nCMD ["python", "s.py"]\n']
PASS = ['FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\n'
        'RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n'
        'HEALTHCHECK --start-period=60s CMD curl -f http://localhost:8000/health || exit 1\nCMD ["python", "s.py"]\n',
        'FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime\n'
        'HEALTHCHECK --start-period=60s CMD ["python", "-c", "import urllib.request as u; '
        'u.urlopen(\'http://localhost:8000/health\')"]\nCMD ["python", "s.py"]\n']
TOOLS = ("curl", "wget", "python", "python3")


def _installed(doc, stages, tool):
    pat = re.compile(rf"(apt-get|apt|apk|yum|dnf|microdnf|conda|mamba|pip|uv pip)\b[^\n]*\binstall\b[^\n]*\b{tool}\b")
    for st in stages:
        for ins in st.find("RUN"):
            if pat.search(ins.text) or (tool.startswith("python") and "deadsnakes" in ins.text):
                return True
        for ins in st.find("COPY", "ADD"):
            if tool in " ".join(ins.value):
                return True
    return False


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    chain = rulekit.chain(doc)
    base = doc.resolve(chain[-1].base)
    facts = reference.image_facts(base)
    if not facts:
        return
    for hc in doc.final.find("HEALTHCHECK"):
        if not hc.value or hc.value[0].upper() == "NONE":
            continue
        words = list(hc.value[1:]) if hc.json else " ".join(hc.value[1:]).split()
        if not words:
            continue
        prog = words[0].rsplit("/", 1)[-1]
        if prog in ("sh", "bash") and len(words) > 2:
            prog = words[2].split()[0].rsplit("/", 1)[-1]
        if prog not in TOOLS:
            continue
        key = "python" if prog.startswith("python") else prog
        # python: only "the image has no python at all" is certain; names differ between images
        has = facts.get(key) if key != "python" else (False if not facts.get("python") else None)
        if has is False and not _installed(doc, chain, prog):
            fix: tuple[rulekit.Edit, ...] = ()
            url = rulekit.URL_RE.search(" ".join(words))
            if url and facts.get("python") and key != "python":
                argv = rulekit.python_probe(facts["python"], url.group(0))
                fix = rulekit.replace_instr(hc, rulekit.render_instr(hc, value=["CMD", *argv], json_form=True))
            yield rulekit.Hit(line=hc.line, message=f"the HEALTHCHECK runs {prog}, which {base} does not contain and no RUN "
                                          "installs: the probe can never pass", hint="use a standard-library python probe (dlgen new writes one) or install the tool", fix=fix)
