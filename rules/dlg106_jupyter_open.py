"""DLG106 jupyter-open.

What it does: reports JupyterLab / Notebook started with an empty token or password (or auth
disabled) and published on all interfaces.
Why is this bad: anyone who can reach the host's port gets a shell in the container with its
GPUs, mounted data and credentials; open Jupyter servers are scanned for and abused for
cryptomining within hours.
Use instead: keep the token (read it from the logs or set JUPYTER_TOKEN from a file), or
publish on 127.0.0.1 only (`-p 127.0.0.1:8888:8888`) and tunnel.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import RunSpec

ID = "DLG106"
NAME = "jupyter-open"
SEVERITY = "error"
TARGET = "run"
WHY = "Jupyter without a token, published on all interfaces, hands a GPU shell to anyone who finds the port."
FAIL = ["docker run -d -p 8888:8888 jupyter/base-notebook:2024-10-07 start-notebook.py --NotebookApp.token=''\n",
        "docker run -d -p 8888:8888 my/lab:1 jupyter lab --ip=0.0.0.0 --ServerApp.token= --ServerApp.password=\n"]
PASS = ["docker run -d -p 127.0.0.1:8888:8888 my/lab:1 jupyter lab --ip=0.0.0.0 --ServerApp.token=''\n",
        "docker run -d -p 8888:8888 my/lab:1 jupyter lab --ip=0.0.0.0\n"]
EMPTY_AUTH = re.compile(r"^--(NotebookApp|ServerApp|IdentityProvider)\.(token|password)=(''|\"\")?$")
DISABLED = re.compile(r"^--(NotebookApp|ServerApp)\.(disable_check_xsrf|allow_unauthenticated_access)=True$",
                      re.IGNORECASE)


def check(spec: RunSpec, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    words = spec.full_command()
    text = " ".join([spec.image, *words])
    if not re.search(r"jupyter|notebook|lab\b", text, re.IGNORECASE):
        return
    open_auth = [w for w in words if EMPTY_AUTH.match(w) or DISABLED.match(w)]
    if spec.env.get("JUPYTER_TOKEN") == "":
        open_auth.append("JUPYTER_TOKEN=")
    if not open_auth:
        return
    exposed = [p for p in spec.ports if p.all_interfaces] or (spec.network == "host")
    if exposed:
        yield rulekit.Hit(line=spec.line, message=f"Jupyter with auth disabled ({open_auth[0]}) is published on all interfaces", hint="keep the token, or publish on 127.0.0.1 only and tunnel")
