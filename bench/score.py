"""Recall and precision of `dlgen lint` on a labelled set of files.

    python -m bench.score bench/fresh                 # a set with its labels.yaml
    python -m bench.score --corpus                    # the labelled part of ../shared/corpus/real
    python -m bench.score bench/fresh --corpus --write --baseline 552535f
                                                      # both, dlgen before issue 16, bench/precision.json

A set's labels.yaml maps each file (relative to the set's folder, or to `root:`) to `expect`, the
complete list of findings a reviewer makes (RULE:LINE, repeated for two on one line). A finding
dlgen reports that is not expected is a false positive; an expected one it does not report is a
miss. Every finding counts, whatever its severity.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS_LABELS = ROOT / "bench" / "corpus_labels.yaml"
PRECISION_FILE = ROOT / "bench" / "precision.json"


@dataclass
class Score:
    name: str
    files: int = 0
    true: int = 0
    false: list[str] = field(default_factory=list)     # file: RULE:LINE message
    missed: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.true / (self.true + len(self.missed)) if self.true + len(self.missed) else 1.0

    @property
    def precision(self) -> float:
        return self.true / (self.true + len(self.false)) if self.true + len(self.false) else 1.0

    def as_dict(self) -> dict:
        return {"set": self.name, "files": self.files, "true_findings": self.true, "false_findings": len(self.false),
                "missed": len(self.missed), "recall": round(self.recall, 4), "precision": round(self.precision, 4)}


def load_labels(path: Path) -> tuple[Path, dict]:
    from dlgen import yamlload

    doc = yamlload.load(path.read_text())
    root = (path.parent / doc["root"]).resolve() if doc.get("root") else path.parent
    return root, doc["files"]


def score(name: str, labels: Path) -> Score:
    from dlgen import lint

    root, files = load_labels(labels)
    rules = lint.load_rules()
    out = Score(name)
    for rel, entry in files.items():
        path = root / rel
        kind = lint.classify(path)
        if kind is None:
            raise SystemExit(f"{labels}: {rel} is not a file dlgen lints")
        findings, crashes = lint.lint_text(lint.read_text(path), str(path), kind, rules, lint.Context())
        if crashes:
            raise SystemExit(f"{rel}: {crashes[0]}")
        got = Counter(f"{f.rule}:{f.line}" for f in findings)
        want = Counter(str(x) for x in entry.get("expect") or [])
        messages = {f"{f.rule}:{f.line}": f.message for f in findings}
        out.files += 1
        out.true += sum((got & want).values())
        out.false += [f"{rel}: {k} {messages[k]}" for k in (got - want).elements()]
        out.missed += [f"{rel}: {k}" for k in (want - got).elements()]
    return out


def baseline(rev: str, todo: list[tuple[str, Path]]) -> list[dict]:
    """The same sets scored with dlgen as it was at git revision ``rev`` (a temporary worktree
    running this file), to show what a change did."""
    import shutil
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            shutil.copy(__file__, tree / "bench" / "score_now.py")
            code = ("import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
                    "from bench import score_now as s; "
                    "print(json.dumps([s.score(n, Path(p)).as_dict() for n, p in json.loads(sys.argv[2])]))")
            proc = subprocess.run([sys.executable, "-c", code, str(tree),
                                   json.dumps([(n, str(p.resolve())) for n, p in todo])],
                                  capture_output=True, text=True, check=True, cwd=tree)
            return [{**d, "rev": rev} for d in json.loads(proc.stdout)]
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def report(s: Score) -> str:
    lines = [f"{s.name}: {s.files} files, {s.true} true findings, {len(s.false)} false, {len(s.missed)} missed: "
             f"recall {s.recall:.1%}, precision {s.precision:.1%}"]
    lines += [f"  false positive  {x}" for x in s.false] + [f"  missed          {x}" for x in s.missed]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.score", description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="*", help="folders holding a labels.yaml")
    ap.add_argument("--corpus", action="store_true", help="also score bench/corpus_labels.yaml")
    ap.add_argument("--write", action="store_true", help="write bench/precision.json (BENCHMARKS.md reads it)")
    ap.add_argument("--baseline", metavar="REV", help="also score dlgen as it was at this git revision")
    args = ap.parse_args(argv)
    todo = [(Path(s).name, Path(s) / "labels.yaml") for s in args.sets]
    if args.corpus:
        todo.append(("corpus", CORPUS_LABELS))
    if not todo:
        ap.error("name a set, or --corpus")
    scores = [score(name, labels) for name, labels in todo]
    for s in scores:
        print(report(s))
    before = baseline(args.baseline, todo) if args.baseline else []
    for b in before:
        print(f"{b['set']} at {b['rev']}: recall {b['recall']:.1%}, precision {b['precision']:.1%}")
    if args.write:
        PRECISION_FILE.write_text(json.dumps({"now": [s.as_dict() for s in scores], "baseline": before},
                                             indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
