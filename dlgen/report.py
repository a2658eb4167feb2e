"""Writing lint findings: text (colour only on a terminal, never with NO_COLOR), json, SARIF 2.1.0
and GitHub workflow annotations."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from dlgen import __version__

FORMATS = ("text", "json", "sarif", "github")
_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def text(findings, colour: bool = False) -> str:
    out = []
    for f in findings:
        sev = f.severity
        if colour:
            sev = f"{_COLOURS[f.severity]}{sev}\033[0m"
        line = f"{f.file}:{f.line}:{f.column}: {f.rule} {sev}: {f.message}"
        if f.hint:
            line += f" (fix: {f.hint})"
        out.append(line)
    return "\n".join(out)


def as_json(findings) -> str:
    return json.dumps([f.as_dict() for f in findings], indent=2)


def github(findings) -> str:
    def esc_data(s: str) -> str:
        return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def esc_prop(s: str) -> str:
        return esc_data(s).replace(":", "%3A").replace(",", "%2C")

    lines = []
    for f in findings:
        msg = f.message + (f" (fix: {f.hint})" if f.hint else "")
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} file={esc_prop(f.file)},line={f.line},col={f.column},"
                     f"title={esc_prop(f.rule + ' ' + f.name)}::{esc_data(msg)}")
    return "\n".join(lines)


def sarif(findings, rules) -> str:
    """A SARIF 2.1.0 log with one run; every loaded rule is described in the driver."""
    index = {r.id: i for i, r in enumerate(rules)}
    descriptors = []
    for r in rules:
        doc = (r.module.__doc__ or "").strip()
        descriptors.append({
            "id": r.id,
            "name": r.name,
            "shortDescription": {"text": r.why},
            "fullDescription": {"text": doc.split("\n", 1)[1].strip() if "\n" in doc else r.why},
            "help": {"text": f"{r.why} See `dlgen explain {r.id}` or docs/rules.md."},
            "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
            "properties": {"tags": ["dockerfile" if r.target == "dockerfile" else "run-configuration"],
                           "fixable": r.fixable, **({"fixSafety": r.fix_safety} if r.fixable else {})},
        })
    results = []
    for f in findings:
        result = {
            "ruleId": f.rule,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" Fix: {f.hint}." if f.hint else "")},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": _uri(f.file)},
                "region": {"startLine": max(1, f.line), "startColumn": max(1, f.column)},
            }}],
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "dlgen", "version": __version__, "rules": descriptors}},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2)


def _uri(path: str) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.resolve().as_uri()
