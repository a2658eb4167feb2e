"""Kubernetes manifests, dlgen lint beside checkov (issue 29): on the public manifests of
tests/data/k8s (each file's first line names its source), how many GPU, probe and shared-memory
defects each tool reports, and the time per file.

    python -m bench.kube --write [--checkov PATH]

checkov is not a dependency of dlgen: install it where you like (`pip install checkov`) and give its
path. Results go to bench/kube.json; `python -m bench --render-only` shows them in BENCHMARKS.md.
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
DATA = ROOT / "tests" / "data" / "k8s"
# What each finding is about: dlgen's rules by id, checkov's checks by their name.
DLGEN_CLASSES = {"probe": {"DLG130", "DLG131", "DLG132", "DLG136", "DLG138"}, "gpu": {"DLG111", "DLG134", "DLG139"},
                 "shm": {"DLG105", "DLG133"}}
CHECKOV_CLASSES = {"probe": ("probe",), "gpu": ("gpu",), "shm": ("shm", "shared memory")}
RUNS = 3


def dlgen_counts(path: Path) -> tuple[dict[str, int], float]:
    times, found = [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "dlgen", "lint", "--no-config", "--failure-threshold", "error",
                               "--format", "json", str(path)], capture_output=True, text=True, cwd=ROOT)
        times.append(time.perf_counter() - t)
        found = json.loads(proc.stdout)
    counts = {k: sum(1 for f in found if f["rule"] in ids) for k, ids in DLGEN_CLASSES.items()}
    counts["all"] = len(found)
    return counts, statistics.median(times)


def checkov_counts(checkov: str, path: Path) -> tuple[dict[str, int], float, int]:
    times: list[float] = []
    failed: list[dict] = []
    resources = 0
    for _ in range(RUNS):
        t = time.perf_counter()
        proc = subprocess.run([checkov, "-f", str(path), "--framework", "kubernetes", "-o", "json", "--quiet",
                               "--compact"], capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        data = json.loads(proc.stdout or "{}")
        data = data[0] if isinstance(data, list) else data
        failed = (data.get("results") or {}).get("failed_checks") or []
        resources = int((data.get("summary") or {}).get("resource_count") or 0)
    counts: dict[str, int] = {k: sum(1 for c in failed if any(w in c["check_name"].lower() for w in words))
                              for k, words in CHECKOV_CLASSES.items()}
    counts["all"] = len(failed)
    return counts, statistics.median(times), resources


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkov", default=shutil.which("checkov"), help="the checkov executable")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    if not args.checkov:
        raise SystemExit("checkov is not installed: pip install checkov (in a virtual environment of its own)")
    version = subprocess.run([args.checkov, "--version"], capture_output=True, text=True).stdout.strip()
    rows = []
    for path in sorted(DATA.glob("*.yaml")):
        d, d_s = dlgen_counts(path)
        c, c_s, resources = checkov_counts(args.checkov, path)
        rows.append({"file": path.name, "source": path.read_text().splitlines()[0].lstrip("# "),
                     "dlgen": {**d, "seconds": round(d_s, 2)},
                     "checkov": {**c, "seconds": round(c_s, 2), "resources": resources}})
        print(json.dumps(rows[-1]))
    if args.write:
        (ROOT / "bench" / "kube.json").write_text(json.dumps({"checkov": version, "runs": RUNS, "rows": rows},
                                                             indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
