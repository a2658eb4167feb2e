"""The one probe builder: which tool a health probe uses in a given image, and its command.

Both `dlgen new` (the bundle's HEALTHCHECK) and the lint fixes (DLG010) ask here. The tool is the
server preset's own choice when the image has it (servers.yaml `probe`), else the image's Python
(standard library only), else curl, else wget (images.yaml says which an image has); an image with
none of them gets no HTTP probe. In a dlgen bundle the Python probe is the shipped /app/probe.py;
in any other image it is a one-line `python -c`.
"""

from __future__ import annotations

HTTP_TOOLS = ("python", "curl", "wget")


def choose_tool(preferred: str, facts: dict) -> str | None:
    """The probe tool for an image: ``preferred`` if the image has it, else python, curl, wget."""
    has = {"python": bool(facts.get("python")), "curl": facts.get("curl") is True, "wget": facts.get("wget") is True}
    for tool in (preferred, *HTTP_TOOLS):
        if has.get(tool):
            return tool
    return None


def python_probe(python: str, url: str) -> list[str]:
    """A probe with no tool but the interpreter: exits 1 on refused connections and HTTP errors."""
    code = ("import sys, urllib.request; "
            f"sys.exit(0 if urllib.request.urlopen({url!r}, timeout=5).status < 400 else 1)")
    return [python or "python", "-c", code]


def http_command(tool: str, url: str, python: str = "python", probe_file: str | None = None) -> list[str]:
    """The exec-form probe command: fails on refused connections, timeouts and HTTP errors."""
    if tool == "python":
        return [python, probe_file] if probe_file else python_probe(python, url)
    if tool == "curl":
        return ["curl", "-fsS", "-o", "/dev/null", "--max-time", "5", url]
    if tool == "wget":
        return ["wget", "-q", "-T", "5", "-O", "/dev/null", url]
    raise ValueError(f"no HTTP probe with {tool!r}")
