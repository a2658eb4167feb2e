"""DLG033 apt-hygiene.

What it does: reports `apt-get install` without `--no-install-recommends`, an install whose RUN
does not remove /var/lib/apt/lists, and `apt-get update` alone in a RUN.
Why is this bad: recommends pull in hundreds of MB (on CUDA images, often X11 and docs); the
package lists (~40 MB) stay in the layer; an `update` in its own layer is cached forever, so a
later `install` uses stale lists and fails once the mirror moves on.
Use instead: `apt-get update && apt-get install -y --no-install-recommends ... && rm -rf
/var/lib/apt/lists/*` in one RUN.
"""

import re

from dlgen import rulekit

ID = "DLG033"
NAME = "apt-hygiene"
SEVERITY = "info"
TARGET = "dockerfile"
WHY = "Recommends, leftover package lists and a lone apt-get update make images large and builds stale."
FAIL = ['FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\n',
        'FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y --no-install-recommends git\n',
        'FROM ubuntu:22.04\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends git '
        '&& rm -rf /var/lib/apt/lists/*\n']
PASS = ['FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y --no-install-recommends git '
        '&& rm -rf /var/lib/apt/lists/*\n',
        'FROM ubuntu:22.04\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update '
        '&& apt-get install -y --no-install-recommends git\n']
APT_INSTALL = re.compile(r"^(?:sudo\s+)?(?:\w+=\S+\s+)*apt(?:-get)?\s+(?:-\S+\s+)*install\b")
LISTS_RM = re.compile(r"\brm\s+(-\w+\s+)*[^&;|]*/var/lib/apt/lists")
APT_UPDATE = re.compile(r"^(?:sudo\s+)?(?:\w+=\S+\s+)*apt(?:-get)?\s+(?:-\S+\s+)*update\b")


def check(doc, ctx):
    for ins, text in rulekit.run_texts(doc):
        cmds = rulekit.shell_commands(text)
        installs = [c for c in cmds if APT_INSTALL.search(c)]
        updates = [c for c in cmds if APT_UPDATE.search(c)]
        lists_mounted = "/var/lib/apt" in (ins.flag("mount") or "")
        for c in installs:
            if "--no-install-recommends" not in c and "Install-Recommends" not in c:
                yield rulekit.Hit(line=ins.line, message="apt-get install without --no-install-recommends", hint="add --no-install-recommends")
                break
        if installs and not lists_mounted and not LISTS_RM.search(text):
            yield rulekit.Hit(line=ins.line, message="the apt package lists stay in this layer", hint="end the RUN with && rm -rf /var/lib/apt/lists/*")
        if updates and not installs:
            yield rulekit.Hit(line=ins.line, message="apt-get update alone in a RUN: the cached layer goes stale", hint="run update and install in the same RUN")
