"""DLG015 probe-target-mismatch.

What it does: reports a probe URL whose port is neither EXPOSEd nor the port the server listens
on, and a probe that uses a variable no ENV defines (build ARGs do not exist when the probe runs).
Why is this bad: the probe asks a port nobody listens on (connection refused) or expands to an
empty string; the container is unhealthy although the server is fine.
Use instead: probe the port the server binds (and EXPOSE it); define the variable with ENV.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG015"
NAME = "probe-target-mismatch"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "A probe that targets the wrong port or an undefined variable fails although the server is fine."
FAIL = ['FROM python:3.11-slim\nEXPOSE 8000\nHEALTHCHECK CMD ["python", "-c", '
        '"import urllib.request as u; u.urlopen(\'http://localhost:8080/health\')"]\nCMD ["python", "s.py"]\n',
        'FROM python:3.11\nARG PORT=8000\nEXPOSE 8000\nHEALTHCHECK CMD curl -f http://localhost:$PORT/health || exit 1\n'
        'CMD ["python", "s.py"]\n']
PASS = ['FROM python:3.11\nENV PORT=8000\nEXPOSE 8000\nHEALTHCHECK CMD curl -f http://localhost:${PORT}/health || exit 1\n'
        'CMD ["python", "s.py"]\n',
        'FROM vllm/vllm-openai:v0.11.0\nHEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1\n'
        'CMD ["--model", "x"]\n']
VAR = re.compile(r"\$\{?(\w+)")
VAR_REF = re.compile(r"\$\{(\w+)\}|\$(\w+)")
# Variables every container has at run time.
ALWAYS = {"HOSTNAME", "HOME", "PATH", "PWD", "HOST"}


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    hcs = doc.final.find("HEALTHCHECK")
    if not hcs:
        return
    ins = hcs[-1]
    hc = rulekit.healthcheck(ins, doc)
    if hc is None:
        return
    env = rulekit.env_of(doc)
    for name in dict.fromkeys(VAR.findall(hc.text)):
        if name not in env and name not in ALWAYS and not name.isdigit():
            build_only = name in doc.args
            yield rulekit.Hit(line=ins.line, message=f"the probe uses ${name}, which " + \
                ("is only a build ARG (gone when the probe runs)" if build_only else "no ENV defines"), hint=f"define it with ENV {name}=... or write the value")
    text = VAR_REF.sub(lambda v: env.get(v.group(1) or v.group(2), v.group(0)), hc.text)
    m = re.search(r"https?://([\w.-]+|\[[\w:]*\])(?::(\d+|\$))?", text)
    if not m or m.group(2) == "$":
        return
    port = int(m.group(2)) if m.group(2) else (443 if text[m.start():].startswith("https") else 80)
    known = set(rulekit.exposed_ports(doc)) | rulekit.command_ports(rulekit.final_command(doc))
    server = rulekit.image_server(doc)
    if server:
        known.add(int(rulekit.preset(server)["port"]))
    if known and port not in known:
        yield rulekit.Hit(line=ins.line, message=f"the probe targets port {port}, but the image serves on " \
                           f"{', '.join(str(p) for p in sorted(known))}", hint="probe the port the server listens on")
