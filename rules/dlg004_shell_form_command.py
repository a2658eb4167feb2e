"""DLG004 shell-form-command.

What it does: reports CMD/ENTRYPOINT in shell form, and exec form that only wraps `sh -c` /
`bash -c` without `exec`.
Why is this bad: PID 1 is then the shell, SIGTERM never reaches the server, and `docker stop`
waits the 10 s grace period and kills it (exit 137) (Dockerfile reference, ENTRYPOINT and CMD exec form; `docker stop` reference).
Use instead: exec form, `CMD ["python", "server.py"]`, or `exec` inside the `sh -c` string.
"""

import re
import shlex
from collections.abc import Iterator

from dlgen import rulekit

ID = "DLG004"
NAME = "shell-form-command"
SEVERITY = "warning"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "unsafe"
FIX_SAFETY_WHY = ("exec form runs the program without a shell: `$VAR` and `~` in the command are no longer expanded, and the program, not a shell, receives signals.")
WHY = "With a shell as PID 1, SIGTERM never reaches the server: docker stop waits 10 s and kills it (137)."
FAIL = ["FROM python:3.11-slim\nCMD python server.py\n",
        'FROM python:3.11-slim\nCMD ["sh", "-c", "python server.py --port $PORT"]\n',
        'FROM python:3.11-slim\nCMD ["bash", "-ic", "python server.py --port $PORT"]\n']
PASS = ['FROM python:3.11-slim\nCMD ["python", "server.py"]\n',
        'FROM python:3.11-slim\nCMD ["sh", "-c", "exec python server.py --port $PORT"]\n']


# Anything the shell would interpret: the command does not split safely into exec form.
SHELL_SYNTAX = re.compile(r"[$`|&;<>(){}*?~\\\n]|^\s*\w+=")


def _exec_fix(ins):
    text = " ".join(ins.value)
    if SHELL_SYNTAX.search(text):
        return ()
    try:
        argv = shlex.split(text)
    except ValueError:
        return ()
    return rulekit.replace_instr(ins, f"{ins.cmd} {rulekit.exec_form(argv)}") if argv else ()


def _exec_in_string_fix(ins):
    script = ins.value[2]
    if re.search(r"[;&|\n]", script):
        return ()  # several commands: exec would cut the script short
    value = [*ins.value[:2], "exec " + script.lstrip(), *ins.value[3:]]
    return rulekit.replace_instr(ins, f"{ins.cmd} {rulekit.exec_form(value)}")


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    for ins in doc.final.find("CMD", "ENTRYPOINT"):
        if not ins.json:
            yield rulekit.Hit(line=ins.line, message=f"{ins.cmd} in shell form: PID 1 is /bin/sh, which does not pass SIGTERM on", hint=f'write {ins.cmd} ["prog", "arg", ...] (exec form)', fix=_exec_fix(ins))
        elif rulekit.shell_runs_string(ins.value) and not re.match(r"\s*exec\s", ins.value[2]) \
                and " exec " not in f" {ins.value[2]}":
            yield rulekit.Hit(line=ins.line, message=f"{ins.cmd} wraps {ins.value[0]} -c without exec: the shell stays PID 1", hint="start the command with exec inside the string", fix=_exec_in_string_fix(ins))
