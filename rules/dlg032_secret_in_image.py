"""DLG032 secret-in-image.

What it does: reports ENV/ARG with a secret-like name (HF_TOKEN, HUGGING_FACE_HUB_TOKEN,
WANDB_API_KEY, OPENAI_API_KEY, NGC_API_KEY, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, `*_API_KEY`)
that holds a value, or an ENV that copies a build ARG into the image.
Why is this bad: ENV values are stored in the image config and ARG values in its history;
`docker history` / `docker inspect` shows them to anyone who can pull the image.
Use instead: pass secrets at run time (`--env-file`, compose `secrets:`), or at build time with
`RUN --mount=type=secret,id=hf_token`.
"""

import re
from collections.abc import Iterator

from dlgen import rulekit
from dlgen.runspec import is_secret_name

ID = "DLG032"
NAME = "secret-in-image"
SEVERITY = "error"
TARGET = "dockerfile"
WHY = "ENV and ARG values are readable by anyone who can pull the image (docker history / inspect)."
FAIL = ['FROM python:3.11-slim\nENV HF_TOKEN=hf_abcdefghijklmnop\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nARG WANDB_API_KEY\nENV WANDB_API_KEY=$WANDB_API_KEY\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nARG DB_PASSWORD=hunter2\nCMD ["python", "s.py"]\n']
PASS = ['FROM python:3.11-slim\nRUN --mount=type=secret,id=hf_token HF_TOKEN=$(cat /run/secrets/hf_token) '
        'python -c "print(1)"\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nENV HF_HOME=/cache/hf TOKENIZERS_PARALLELISM=false\nCMD ["python", "s.py"]\n',
        'FROM python:3.11-slim\nARG HF_TOKEN\nCMD ["python", "s.py"]\n']


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    for ins in doc.instrs:
        if ins.cmd == "ENV":
            vals = list(ins.value)
            pairs = [(vals[i], vals[i + 1] if i + 1 < len(vals) else "") for i in range(0, len(vals), 2)]
        elif ins.cmd == "ARG":
            pairs = [tuple(v.partition("=")[::2]) for v in ins.value]
        else:
            continue
        for name, value in pairs:
            value = value.strip("\"'")
            if not is_secret_name(name) or not value:
                continue
            if ins.cmd == "ENV" and re.fullmatch(r"\$\{?\w+\}?", value):
                yield rulekit.Hit(line=ins.line, message=f"ENV {name} copies a build ARG into the image: the secret is in its config", hint="pass it at run time (--env-file) or use RUN --mount=type=secret")
            elif "$" not in value:
                yield rulekit.Hit(line=ins.line, message=f"{ins.cmd} {name} holds a literal secret: it is stored in the image", hint="remove it; pass it at run time (--env-file) or use RUN --mount=type=secret")
