"""`dlgen lint`'s options, read with argparse: the command that pre-commit and CI start for every batch
of files starts in a fraction of the time the typer app takes to import (dlgen.cli hands `lint` here
first). The options are read here and handed to dlgen.lint.run; the result is printed here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

USAGE_HINT = "see `dlgen lint --help`"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):   # one line and exit 2, as every other bad input
        raise _Usage(message)


class _Usage(Exception):
    pass


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dlgen lint", allow_abbrev=False, add_help=False,
                description="Lint Dockerfiles, run configurations (docker run lines, compose services) and "
                            "Kubernetes manifests.")
    p.add_argument("paths", nargs="*", metavar="PATHS",
                   help="Dockerfiles, compose files, Kubernetes manifests, scripts/Makefiles/Markdown, directories; "
                        "- reads standard input. [required]")
    p.add_argument("--format", dest="fmt", default="text", metavar="TEXT", help="text, json, sarif or github.")
    p.add_argument("--file-kind", dest="kind", metavar="TEXT",
                   help="Force the file kind: dockerfile, compose, run or kubernetes.")
    p.add_argument("--kind", dest="old_kind", help=argparse.SUPPRESS)   # the old spelling of --file-kind
    p.add_argument("--model", metavar="TEXT", help="Model the images serve (for start-period rules).")
    p.add_argument("--failure-threshold", dest="threshold", metavar="TEXT",
                   help="info, warning (default) or error: lowest severity that fails.")
    p.add_argument("--disable", action="append", default=[], metavar="TEXT",
                   help="Rule id or name to skip (repeatable).")
    p.add_argument("--docker-version", metavar="TEXT", help="Target Docker Engine, e.g. 24.")
    p.add_argument("--config", type=Path, metavar="PATH",
                   help="Config file (default: .dlgen.yaml or [tool.dlgen] found from here upward).")
    p.add_argument("--no-config", action="store_true", help="Ignore config files.")
    p.add_argument("--fix", action="store_true", help="Repair what fixable rules report, in place (atomic).")
    p.add_argument("--diff", action="store_true", help="Print the --fix changes as a unified diff; write nothing.")
    p.add_argument("--unsafe-fixes", action="store_true",
                   help="With --fix/--diff: also apply fixes that may change what the image does (a new "
                        "HEALTHCHECK, a rewritten probe).")
    p.add_argument("--quiet", "-q", action="store_true", help="Text output without its closing summary line.")
    p.add_argument("--only-known", action="store_true",
                   help="Skip a named file that is no Dockerfile, compose file, Kubernetes manifest or script, "
                        "instead of refusing it (pre-commit on *.yaml).")
    p.add_argument("-h", "--help", action="help", help="Show this message and exit.")
    return p


def main(argv: list[str]) -> int:
    """Run `dlgen lint ARGV`; the exit code (0 clean, 1 findings at the threshold, 2 bad input)."""
    try:
        return _lint(parser().parse_args(argv))
    except _Usage as exc:
        print(f"dlgen: error: {exc} ({USAGE_HINT})", file=sys.stderr)
        return 2
    except SystemExit as done:   # --help
        return done.code if isinstance(done.code, int) else 0
    except Exception as exc:
        from dlgen.errors import report

        return report(exc)


def _lint(a: argparse.Namespace) -> int:
    from dlgen import lint as lint_mod
    from dlgen import report
    from dlgen.errors import DlgenError

    if not a.paths:
        raise _Usage("missing argument PATHS")
    if a.fmt not in report.FORMATS:
        raise DlgenError(f"unknown format {a.fmt!r}", "use text, json, sarif or github")
    if a.old_kind is not None:   # one word, two meanings: lint's file kind is --file-kind
        print("dlgen: note: `dlgen lint --kind` is spelt --file-kind now (`dlgen new --kind` is the workload)",
              file=sys.stderr)
    run = lint_mod.run(lint_mod.LintOptions(
        paths=a.paths, kind=a.kind or a.old_kind, model=a.model, threshold=a.threshold, disable=a.disable,
        docker_version=a.docker_version, config=a.config, no_config=a.no_config, fix=a.fix, diff=a.diff,
        unsafe_fixes=a.unsafe_fixes, only_known=a.only_known))
    out = sys.stdout
    for ff in run.fixes:
        if a.diff:
            out.write(lint_mod.unified_diff(ff))
        if ff.written:
            for f in ff.applied:
                print(f"{ff.path}:{f.line}: fixed {f.rule} {f.name}", file=sys.stderr)
    if run.linted:
        if a.fmt == "json":
            print(report.as_json(run.findings), file=out)
        elif a.fmt == "sarif":
            print(report.sarif(run.findings, run.rules), file=out)
        elif a.fmt == "github":
            if run.findings:
                print(report.github(run.findings), file=out)
        else:
            if run.findings:
                print(report.text(run.findings, colour=report.use_colour()), file=out)
            if not a.quiet:
                print(run.summary(), file=out)
    if run.unsafe_left:
        print(f"dlgen: note: {run.unsafe_left} finding(s) have a fix that may change what the image does; "
              "--unsafe-fixes applies them (see each rule's fix safety with `dlgen explain`)", file=sys.stderr)
    for err in run.errors:
        print(f"dlgen: error: {err}", file=sys.stderr)
    out.flush()
    return run.exit_code
