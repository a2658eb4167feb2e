"""DLG004 shell-form-command.

What it does: reports CMD/ENTRYPOINT in shell form, and exec form that only wraps `sh -c` /
`bash -c` without `exec`.
Why is this bad: PID 1 is then the shell, SIGTERM never reaches the server, and `docker stop`
waits the 10 s grace period and kills it (exit 137) (docker-runtime.md section 4).
Use instead: exec form, `CMD ["python", "server.py"]`, or `exec` inside the `sh -c` string.
"""

import re

ID = "DLG004"
NAME = "shell-form-command"
SEVERITY = "warning"
TARGET = "dockerfile"
WHY = "With a shell as PID 1, SIGTERM never reaches the server: docker stop waits 10 s and kills it (137)."
FAIL = ["FROM python:3.11-slim\nCMD python server.py\n",
        'FROM python:3.11-slim\nCMD ["sh", "-c", "python server.py --port $PORT"]\n']
PASS = ['FROM python:3.11-slim\nCMD ["python", "server.py"]\n',
        'FROM python:3.11-slim\nCMD ["sh", "-c", "exec python server.py --port $PORT"]\n']


def check(doc, ctx):
    for ins in doc.final.find("CMD", "ENTRYPOINT"):
        if not ins.json:
            yield ins.line, 1, f"{ins.cmd} in shell form: PID 1 is /bin/sh, which does not pass SIGTERM on", \
                f'write {ins.cmd} ["prog", "arg", ...] (exec form)'
        elif len(ins.value) >= 3 and re.fullmatch(r"(/bin/|/usr/bin/)?(ba)?sh", ins.value[0]) \
                and ins.value[1] in ("-c", "-lc") and not re.match(r"\s*exec\s", ins.value[2]) \
                and " exec " not in f" {ins.value[2]}":
            yield ins.line, 1, f"{ins.cmd} wraps {ins.value[0]} -c without exec: the shell stays PID 1", \
                "start the command with exec inside the string"
