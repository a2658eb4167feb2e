"""What the lint benchmarks run on: the real Dockerfiles of ../shared/corpus/real, and the two
linters' executables. The measurements are in bench/__main__.py (`python -m bench`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "real"


def real_dockerfiles() -> list[Path]:
    sys.path.insert(0, str(ROOT))
    from dlgen.lint import classify

    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and classify(p) == "dockerfile")


def tool(name: str) -> str:
    here = Path(sys.executable).with_name(name)
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found (pip install -e '.[test]')")
    return found
