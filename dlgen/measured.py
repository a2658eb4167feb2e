"""timings.json: the start-up `dlgen verify --write-timings` measured, read by the measuring code
(dlgen.tune) and by lint (DLG012, DLG121) alike. Small on purpose: lint imports it, not the
measuring code.

A record says what it measured on (``device``: gpu or cpu; ``model_source``: the real model, or
synthetic weights) and whether the measurement is a real one (``real``: the real model on a GPU).
Only a real record, or one the user wrote into the bundle on purpose (``accepted``), stands in
for the estimate; a record without these fields (older dlgen) does not.
"""

from __future__ import annotations

import json
from pathlib import Path

from dlgen import textfile

TIMINGS_FILE = "timings.json"


def read(directory: Path) -> dict | None:
    """A bundle's timings.json, or None when absent, unreadable, or not a measurement to trust."""
    path = Path(directory) / TIMINGS_FILE
    try:
        data = json.loads(textfile.read_text(path, max_bytes=1 << 20).text)
    except (OSError, ValueError, textfile.FileProblem):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("load_s"), (int, float)):
        return None
    if data.get("real") is not True and data.get("accepted") is not True:
        return None
    return data


def describe(record: dict) -> str:
    """'measured on <GPU> (<date>, timings.json)', for a finding's message."""
    host = record.get("host") or {}
    what = host.get("gpu") or "CPU only"
    test = "" if record.get("real") else ", a test measurement (CPU or synthetic weights)"
    return f"measured on {what} ({record.get('measured', '')}{test}, timings.json)"
