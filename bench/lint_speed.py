"""Lint speed: dlgen lint vs hadolint on the real Dockerfiles of ../shared/corpus/real, one call
each, measured side by side (alternating runs, median).

    python bench/lint_speed.py [--runs 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "real"


def real_dockerfiles() -> list[Path]:
    sys.path.insert(0, str(ROOT))
    from dlgen.lint import classify

    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and classify(p) == "dockerfile")


def _time(argv: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
    return elapsed


def tool(name: str) -> str:
    here = Path(sys.executable).with_name(name)
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found (pip install -e '.[test]')")
    return found


def measure(runs: int = 7) -> dict:
    files = [str(p) for p in real_dockerfiles()]
    dlgen = [tool("dlgen"), "lint", "--no-config", "--format", "json", *files]
    hadolint = [tool("hadolint"), "--no-fail", "--format", "json", *files]
    _time(dlgen), _time(hadolint)  # warm the page cache for both
    d, h = [], []
    for _ in range(runs):
        d.append(_time(dlgen))
        h.append(_time(hadolint))
    dm, hm = statistics.median(d), statistics.median(h)
    return {"files": len(files), "runs": runs, "dlgen_s": round(dm, 3), "hadolint_s": round(hm, 3),
            "ratio": round(dm / hm, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if not CORPUS.is_dir():
        raise SystemExit(f"{CORPUS} is absent")
    r = measure(args.runs)
    print(f"{r['files']} real Dockerfiles, one call each, median of {r['runs']} alternating runs: "
          f"dlgen {r['dlgen_s']:.2f} s, hadolint {r['hadolint_s']:.2f} s, ratio {r['ratio']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
