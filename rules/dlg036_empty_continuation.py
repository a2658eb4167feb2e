"""DLG036 empty-continuation.

What it does: reports a blank line inside an instruction continued with a backslash (or the
`# escape=` character). A backslash followed by trailing spaces still continues the line in
BuildKit and is not reported; heredoc bodies are not instructions and are not judged.
Why is this bad: BuildKit warns that empty continuation lines will become an error; today they
hide where an instruction really ends when someone edits the file.
Use instead: delete the blank line (`--fix`), or use a `#` comment line.
"""

from collections.abc import Iterator

from dlgen import rulekit, textfile

ID = "DLG036"
NAME = "empty-continuation"
SEVERITY = "warning"
TARGET = "dockerfile"
FIXABLE = True
FIX_SAFETY = "safe"
FIX_SAFETY_WHY = ("BuildKit already skips the blank line: the instruction it reads is the same.")
WHY = "Blank lines inside a continued instruction are deprecated and will become a build error."
FAIL = ["FROM python:3.11-slim\nRUN pip install --no-cache-dir \\\n\n    numpy\n",
        "# escape=`\nFROM python:3.11-slim\nRUN echo a `\n\n    b\n"]
PASS = ["FROM python:3.11-slim\nRUN pip install --no-cache-dir \\\n    # numpy is needed\n    numpy\n",
        "FROM python:3.11-slim\nRUN pip install --no-cache-dir \\   \n    numpy\n",
        "FROM python:3.11-slim\nRUN <<EOF\necho a\n\necho b\nEOF\n"]


def check(doc: rulekit.DockerfileDoc, ctx: rulekit.Context) -> Iterator[rulekit.Hit]:
    lines = doc.lines
    for ins in doc.instrs:
        if ins.end_line <= ins.line or ins.heredocs:
            continue
        blank = [n for n in range(ins.line + 1, ins.end_line + 1) if n <= len(lines) and textfile.is_blank(lines[n - 1])]
        if blank:
            yield rulekit.Hit(line=blank[0], message=f"blank line inside the continued {ins.cmd} (line {ins.line}): BuildKit "
                                           "will reject this", hint="delete the blank line", fix=tuple(rulekit.Edit(n, n, "") for n in blank))
