"""The lint engine: find files, parse them once, run every rule, apply ignores and config.

Rules live one per file in rules/ (and in extra rule directories from the config); each file
holds its id, name, severity, target, explanation, failing and passing examples and check().
Importing this module imports no Docker SDK and no Jinja, so pre-commit runs stay fast.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from dlgen import kubesource, textfile
from dlgen.config import SEVERITIES  # one list of severities, the config's
from dlgen.rulekit import Context, Hit  # noqa: F401  (Context: rules' and callers' name for it)
from dlgen.sources import NotCompose, SourceError, compose_services, parse_dockerfile, parser_directives, run_lines

# A fix is safe when the fixed image behaves as before (same program, same health behaviour, same
# packages); unsafe when it may not. --fix applies safe fixes, --unsafe-fixes adds the others.
FIX_SAFETIES = ("safe", "unsafe")
IGNORE_RE = re.compile(r"#\s*dlgen:\s*ignore=([A-Z0-9, ]+)")
IGNORE_FILE_RE = re.compile(r"#\s*dlgen:\s*ignore-file=([A-Z0-9, ]+)")


@dataclass
class Finding:
    file: str
    line: int
    column: int
    rule: str
    name: str
    severity: str
    message: str
    hint: str = ""
    fix: tuple = ()          # rulekit.Edit objects --fix would apply
    fix_safety: str = ""     # the rule's: safe, or unsafe (applied with --unsafe-fixes only)

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "rule": self.rule, "name": self.name,
                "severity": self.severity, "message": self.message, "hint": self.hint, "fixable": bool(self.fix),
                **({"fix_safety": self.fix_safety} if self.fix else {})}


@dataclass
class Rule:
    id: str
    name: str
    severity: str
    target: str          # dockerfile | run | kubernetes
    why: str
    module: ModuleType
    path: str
    fixable: bool = False
    fix_safety: str = ""   # safe: the image behaves the same; unsafe: it may not (--unsafe-fixes)
    fix_why: str = ""      # why the fix is classed so (the rule page says it)

    def carries_to(self, target: str) -> bool:
        """Whether the rule's meaning carries over to another target: its module defines
        check_<target> (check_run, check_kubernetes), with <TARGET>_FAIL / <TARGET>_PASS examples."""
        return self.target != target and hasattr(self.module, f"check_{target}")

    @property
    def carried(self) -> list[str]:
        return [t for t in TARGETS if self.carries_to(t)]

    @property
    def kubernetes(self) -> bool:
        return self.carries_to("kubernetes")

    def applies_to(self, target: str) -> bool:
        return self.target == target or self.carries_to(target)

    @property
    def unsafe_fix(self) -> bool:
        return self.fixable and self.fix_safety != "safe"

    def check(self, doc, ctx: Context, target: str | None = None):
        if target is not None and target != self.target:
            return getattr(self.module, f"check_{target}")(doc, ctx)
        return self.module.check(doc, ctx)


def builtin_rules_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "rules", here.parent / "rules"):
        if any(candidate.glob("dlg*.py")):
            return candidate
    return here.parent / "rules"


def load_rules(extra_dirs: list[str] | None = None) -> list[Rule]:
    rules: list[Rule] = []
    for d in [builtin_rules_dir(), *[Path(x) for x in (extra_dirs or [])]]:
        for f in sorted(Path(d).glob("*.py")):
            if f.name.startswith("_"):
                continue
            spec = importlib.util.spec_from_file_location(f"dlgen_rule_{f.stem}", f)
            if spec is None or spec.loader is None:
                raise RuleLoadError(f"{f}: cannot be imported as a Python module")
            mod = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(mod)
            except Exception as exc:
                raise RuleLoadError(f"{f}: rule file does not import: {type(exc).__name__}: {exc}") from None
            try:
                rule = Rule(mod.ID, mod.NAME, mod.SEVERITY, mod.TARGET, mod.WHY.strip(), mod, str(f),
                            bool(getattr(mod, "FIXABLE", False)), str(getattr(mod, "FIX_SAFETY", "")),
                            str(getattr(mod, "FIX_SAFETY_WHY", "")).strip())
            except AttributeError as exc:
                raise RuleLoadError(f"{f}: not a dlgen rule ({exc}); a rule file defines ID, NAME, SEVERITY, "
                                    "TARGET, WHY, FAIL, PASS and check()") from None
            if rule.severity not in SEVERITIES or rule.target not in TARGETS:
                raise RuleLoadError(f"{f}: severity must be info|warning|error and target {'|'.join(TARGETS)}")
            if rule.fixable and (rule.fix_safety not in FIX_SAFETIES or not rule.fix_why):
                raise RuleLoadError(f"{f}: a fixable rule sets FIX_SAFETY (safe: the image behaves the same; unsafe: "
                                    "it may not) and FIX_SAFETY_WHY (why)")
            same = next((r for r in rules if r.id == rule.id or r.name == rule.name), None)
            if same is not None:
                what = f"id {rule.id}" if same.id == rule.id else f"name {rule.name}"
                raise RuleLoadError(f"{f}: rule {what} is already defined by {same.path}")
            rules.append(rule)
    return sorted(rules, key=lambda r: r.id)


TARGETS = ("dockerfile", "run", "kubernetes")   # what a rule reads: a Dockerfile, a run, a Kubernetes container


class RuleLoadError(Exception):
    """An extra rule directory holds a file that is not a rule."""


# ---------------------------------------------------------------------------- file kinds
def classify(path: Path, text: str | None = None) -> str | None:
    n = path.name
    low = n.lower()
    if n in ("Dockerfile", "Containerfile") or low.endswith(".dockerfile") or low.startswith("dockerfile.") \
            or low.startswith("containerfile."):
        return "dockerfile"
    if re.fullmatch(r".*compose.*\.ya?ml", low) and (text is None or not kubesource.looks_like(text)):
        return "compose"
    if n == "Makefile" or low.endswith(".mk") or n == "GNUmakefile":
        return "makefile"
    if low.endswith((".md", ".markdown")):
        return "markdown"
    if low.endswith((".sh", ".bash")):
        return "shell"
    if text is None:
        return None
    first = next((l.strip() for l in textfile.lines(text) if l.strip() and not l.strip().startswith("#")), "")
    if re.match(r"^(FROM|ARG)\s", first, re.IGNORECASE) or text.lstrip().lower().startswith("# syntax="):
        return "dockerfile"
    if low.endswith((".yml", ".yaml")) and re.search(r"^services:\s*$", text, re.MULTILINE):
        return "compose"
    if (low.endswith((".yml", ".yaml", ".json")) or n == "-") and kubesource.looks_like(text):
        return "kubernetes"   # found by its content (apiVersion and kind), never by its name alone
    if text.startswith("#!") and "sh" in textfile.lines(text)[0]:
        return "shell"
    if re.search(r"\b(nvidia-)?docker\s+(container\s+)?run\b", text):
        return "shell"
    return None


# ---------------------------------------------------------------------------- ignores
HADOLINT_IGNORE_RE = re.compile(r"#\s*hadolint\s+ignore\s*=\s*([A-Za-z0-9, ]+)")
HADOLINT_GLOBAL_RE = re.compile(r"#\s*hadolint\s+global\s+ignore\s*=\s*([A-Za-z0-9, ]+)")


def _ids(text: str) -> set[str]:
    return {x.strip() for x in text.split(",") if x.strip()}


def twins() -> dict[str, dict[str, dict]]:
    """The other linters' rules that report a dlgen rule's defect (dlgen/data/twins.yaml)."""
    from dlgen import reference

    return reference.load("twins")


def _twin_ignores(ids: set[str], table: str) -> set[str]:
    """hadolint (or BuildKit check) ids -> what they silence: "DLGxxx" or "DLGxxx|message text"."""
    out = set()
    for twin_id, twin in (twins().get(table) or {}).items():
        if twin_id in ids or "all" in ids:
            out.add(twin["rule"] + (f"|{twin['message']}" if twin.get("message") else ""))
    return out


def _ignores_by_line(lines: list[str]) -> list[set[str]]:
    """For each line number N (index N - 1): the rule ids named in `# dlgen: ignore=` comments in the
    block of comment lines directly above it, and the twins of `# hadolint ignore=` ones there. One
    pass over the file."""
    out: list[set[str]] = []
    block: set[str] = set()
    for text in lines:
        out.append(block)
        if textfile.lstrip(text).startswith("#"):
            m = IGNORE_RE.search(text)
            h = HADOLINT_IGNORE_RE.search(text)
            block = block | (_ids(m.group(1)) if m else set()) | (_twin_ignores(_ids(h.group(1)), "hadolint")
                                                                  if h else set())
        else:
            block = set()
    return out


def _file_ignores(text: str) -> set[str]:
    ids: set[str] = set()
    for m in IGNORE_FILE_RE.finditer(text):
        ids |= _ids(m.group(1))
    for m in HADOLINT_GLOBAL_RE.finditer(text):
        ids |= _twin_ignores(_ids(m.group(1)), "hadolint")
    for key, value in parser_directives(textfile.lines(text)):   # BuildKit's `# check=skip=...;...`
        if key == "check":
            for part in value.split(";"):
                option, _, names = part.partition("=")
                if option.strip().lower() == "skip":
                    ids |= _twin_ignores(_ids(names), "buildkit")
    return ids


def _silenced(f: Finding, ids: set[str]) -> bool:
    return f.rule in ids or any(i.startswith(f"{f.rule}|") and i.split("|", 1)[1] in f.message for i in ids)


# ---------------------------------------------------------------------------- running
@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)   # bad input: exit 2
    rule_errors: list[str] = field(default_factory=list)    # a rule raised: exit 2
    files: int = 0


def lint_text(text: str, path: str, kind: str, rules: list[Rule], ctx: Context) -> tuple[list[Finding], list[str]]:
    """Findings for one file's text (before severity config); second value: rule crashes."""
    findings: list[Finding] = []
    crashes: list[str] = []
    lines = textfile.lines(text)   # BuildKit's line model: every line number below is the parser's
    docs: list
    try:
        if kind == "dockerfile":
            docs = [parse_dockerfile(text, path)]
            target = "dockerfile"
        elif kind == "kubernetes":
            docs = kubesource.containers(text)
            target = "kubernetes"
        else:
            docs = compose_services(text) if kind == "compose" else run_lines(text, kind)
            target = "run"
    except NotCompose:
        raise
    except SourceError as exc:
        return [Finding(path, exc.line, 1, "DLG000", "syntax", "error", str(exc).splitlines()[0],
                        "fix the syntax; the file was not linted further")], []
    ctx.path = path
    ctx.docs = docs
    for rule in rules:
        if not rule.applies_to(target):
            continue
        for doc in docs:
            try:
                for hit in rule.check(doc, ctx, target) or ():
                    if not isinstance(hit, Hit):
                        raise TypeError(f"yielded {type(hit).__name__}, not rulekit.Hit")
                    findings.append(Finding(path, hit.line, hit.column, rule.id, rule.name,
                                            hit.severity or rule.severity, hit.message, hit.hint, tuple(hit.fix),
                                            rule.fix_safety if hit.fix else ""))
            except Exception as exc:  # a rule never takes the run down
                crashes.append(f"{path}: rule {rule.id} failed: {type(exc).__name__}: {exc}")
    file_ids = _file_ignores(text)
    above = _ignores_by_line(lines)
    kept = [f for f in findings if not _silenced(f, file_ids)
            and not (1 <= f.line <= len(above) and _silenced(f, above[f.line - 1]))]
    kept.sort(key=lambda f: (f.line, f.column, f.rule))
    return kept, crashes


def iter_files(paths: list[str], result: Result, forced_kind: str | None = None):
    """(path, kind or None, named explicitly, its text where finding it read it, else None) of each file to lint."""
    for p in paths:
        path = Path(p)
        if p == STDIN:
            yield path, forced_kind, True, None
            continue
        try:
            exists, is_dir = os.path.lexists(path) and path.exists(), path.is_dir()
        except OSError as exc:
            result.input_errors.append(f"{p}: cannot read: {exc.strerror}")
            continue
        if not exists:
            result.input_errors.append(f"{p}: no such file or directory")
            continue
        if is_dir:
            found = False
            root = path.resolve()
            for f in sorted(path.rglob("*")):
                if f.is_symlink() and not _inside(f, root):
                    continue   # a link out of the directory: its target is not part of what was asked for
                if f.is_file() and not any(part.startswith(".") and part not in (".", "..") for part in
                                           f.relative_to(path).parts[:-1]) and "node_modules" not in f.parts:
                    kind = forced_kind or classify(f)
                    text = _manifest_text(f) if kind is None and f.suffix.lower() in (".yaml", ".yml") else None
                    if kind is not None or text is not None:
                        found = True
                        yield f, kind or "kubernetes", False, text
            if not found:
                result.input_errors.append(f"{p}: no Dockerfile, compose file, Kubernetes manifest or script found in "
                                           "this directory")
            continue
        yield path, forced_kind, True, None


STDIN = "-"   # `helm template ... | dlgen lint -`


def _stdin_text() -> str:
    """Standard input's text, read once (`-` named twice lints the same text twice)."""
    import sys

    global _STDIN_CACHE
    if _STDIN_CACHE is None:
        data = sys.stdin.buffer.read()
        try:
            _STDIN_CACHE = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("standard input is not UTF-8 text") from None
    return _STDIN_CACHE


_STDIN_CACHE: str | None = None


def _manifest_text(path: Path) -> str | None:
    """The text of a YAML file in a directory that is a Kubernetes manifest by its content, else None."""
    try:
        text = read_text(path) if path.stat().st_size < 10_000_000 else ""
    except (OSError, ValueError):
        return None
    return text if kubesource.looks_like(text) else None


def _inside(link: Path, root: Path) -> bool:
    try:
        return root in Path(os.path.realpath(link)).parents
    except OSError:
        return False


def read_text(path: Path) -> str:
    """A regular file's text without its BOM; ValueError with a one-line reason otherwise."""
    try:
        return textfile.read_text(path).text
    except textfile.FileProblem as exc:
        raise ValueError(str(exc)) from None


def lint_paths(paths: list[str], rules: list[Rule], ctx: Context, forced_kind: str | None = None,
               only_known: bool = False) -> Result:
    result = Result()
    for path, kind, explicit, known in iter_files(paths, result, forced_kind):
        try:
            text = known if known is not None else _stdin_text() if str(path) == STDIN else read_text(path)
        except (OSError, ValueError) as exc:
            result.input_errors.append(f"{path}: cannot lint: {exc}")
            continue
        kind = kind or classify(path, text)
        if kind is None:
            if explicit and not only_known:
                result.input_errors.append(f"{path}: not a Dockerfile, compose file, Kubernetes manifest or script "
                                           "with docker run lines; pass --file-kind to force")
            continue
        if kind == "run":
            kind = "markdown" if path.suffix.lower() in (".md", ".markdown") else "shell"
        if not text.strip():
            if explicit or kind in ("dockerfile", "compose"):
                result.input_errors.append(f"{path}: empty file; nothing to lint")
            continue
        try:
            findings, crashes = lint_text(text, str(path), kind, rules, ctx)
        except NotCompose as exc:
            result.input_errors.append(f"{path}: {exc}; pass --kind to lint it as something else")
            continue
        result.findings += findings
        result.rule_errors += crashes
        result.files += 1
    return result


# ---------------------------------------------------------------------------- config applied
def select_rules(rules: list[Rule], disabled: set[str]) -> list[Rule]:
    return [r for r in rules if r.id not in disabled and r.name not in disabled]


def apply_severity(findings: list[Finding], overrides: dict[str, str]) -> list[Finding]:
    for f in findings:
        new = overrides.get(f.rule) or overrides.get(f.name)
        if new:
            f.severity = new
    return findings


# ---------------------------------------------------------------------------- --fix
def apply_edits(text: str, edits: list) -> str:
    """Apply line edits (rulekit.Edit) to ``text`` in BuildKit's line model; other lines keep their bytes.

    A comment line inside a continued instruction is the user's, not the instruction's: an edit
    that rewrites the instruction keeps it (in its place when the edit keeps the line count,
    else just above the instruction, or below it on line 1 where a comment could read as a
    parser directive)."""
    from dataclasses import replace as _replace

    from dlgen.sources import continuation_comments

    lines = textfile.lines(text)
    kept = []
    for e in edits:
        if e.end <= e.start:
            kept.append(e)
            continue
        inside = sorted(n for n in continuation_comments(lines, e.start, e.end))
        if not inside:
            kept.append(e)
            continue
        new = e.text.split("\n") if e.text else []
        if len(new) == e.end - e.start + 1:
            for n in inside:
                new[n - e.start] = lines[n - 1]
        else:
            comments = [lines[n - 1] for n in inside]
            mine = set(comments)
            new = [x for x in new if x not in mine]
            new = [*new, *comments] if e.start == 1 else [*comments, *new]
        kept.append(_replace(e, text="\n".join(new)))
    return textfile.replace_lines(text, kept)


def fix_text(text: str, path: str, kind: str, rules: list[Rule], ctx: Context,
             max_passes: int = 8, unsafe: bool = False) -> tuple[str, list[Finding]]:
    """The text with every fixable finding repaired (safe fixes only, unless ``unsafe``), and the
    findings that were fixed.

    Passes repeat until no fixable finding is left (a fix may enable another: a new HEALTHCHECK
    then gets its start interval); a pass's edits never overlap. Only Dockerfiles have fixes.
    Line endings, form feeds and every other byte outside the edited lines are kept."""
    applied: list[Finding] = []
    broken: set[str] = {r.id for r in rules if r.unsafe_fix} if not unsafe else set()
    # ^ rules whose fix is not applied: unsafe ones without ``unsafe``, and those whose fix did not
    #   remove their finding here
    for _ in range(max_passes):
        findings, _crashes = lint_text(text, path, kind, rules, ctx)
        chosen: list[Finding] = []
        taken: list[tuple[int, int]] = []
        for f in findings:
            if not f.fix or f.rule in broken:
                continue
            spans = [(e.start, max(e.start, e.end)) for e in f.fix]
            if any(a <= y and x <= b for a, b in spans for x, y in taken):
                continue
            taken += spans
            chosen.append(f)
        if not chosen:
            break
        new = apply_edits(text, [e for f in chosen for e in f.fix])
        if new == text:
            break
        try:  # a fix never leaves a file that does not parse
            parse_dockerfile(new, path)
        except SourceError:
            broken |= {f.rule for f in chosen}
            continue
        after, _ = lint_text(new, path, kind, rules, ctx)
        # a fix worked if its finding is gone: count (rule, message) pairs, since the same finding
        # may stand on other lines this pass did not touch
        before_n = Counter((f.rule, f.message) for f in findings)
        after_n = Counter((f.rule, f.message) for f in after)
        chosen_n = Counter((f.rule, f.message) for f in chosen)
        failed = {rule for (rule, msg), n in chosen_n.items() if after_n[(rule, msg)] > before_n[(rule, msg)] - n}
        if failed:  # the file does not read the way the fix assumed: leave these rules alone
            broken |= failed
            continue
        text = new
        applied += chosen
    return text, applied


@dataclass
class FileFix:
    """What --fix / --diff did to one file."""
    path: Path
    original: str
    fixed: str
    applied: list[Finding]
    written: Path | None = None      # the file written (a symlink's target), None with --diff
    error: str = ""                  # why it was not written (read-only file, unwritable directory)


def fix_paths(paths: list[str], rules: list[Rule], ctx: Context, forced_kind: str | None = None,
              write: bool = True, unsafe: bool = False) -> list[FileFix]:
    """Repair the Dockerfiles among ``paths``; write them in place (``write``) or only compute the change.

    Only files whose fixed text differs are returned. A file keeps its identity (dlgen.textfile)."""
    out: list[FileFix] = []
    scratch = Result()
    for path, forced, _explicit, _text in iter_files(paths, scratch, forced_kind):
        try:
            src = textfile.read_text(path)
        except textfile.FileProblem:
            continue  # reported by the lint pass that follows
        if (forced or classify(path, src.text)) != "dockerfile":
            continue
        fixed, applied = fix_text(src.text, str(path), "dockerfile", rules, ctx, unsafe=unsafe)
        if not applied or fixed == src.text:
            continue
        ff = FileFix(path, src.text, fixed, applied)
        if write:
            try:
                ff.written = textfile.write_text(path, fixed, bom=src.bom, expect=src.text, expect_bom=src.bom)
            except textfile.FileProblem as exc:
                ff.error = f"{path}: not fixed: {exc}"
        out.append(ff)
    return out


def unified_diff(ff: FileFix) -> str:
    import difflib

    return "".join(difflib.unified_diff(_keepends(ff.original), _keepends(ff.fixed),
                                        f"a/{ff.path}", f"b/{ff.path}"))


def _keepends(text: str) -> list[str]:
    return [c + e for c, e in textfile.split_lines(text)]


@dataclass
class LintOptions:
    """What `dlgen lint` was asked (the CLI's options, unparsed config names)."""
    paths: list[str]
    kind: str | None = None
    model: str | None = None
    threshold: str | None = None
    disable: list[str] = field(default_factory=list)
    docker_version: str | None = None
    config: Path | None = None
    no_config: bool = False
    fix: bool = False
    diff: bool = False
    unsafe_fixes: bool = False   # --fix/--diff also apply fixes that may change what the image does
    only_known: bool = False     # skip a named file that is none of the kinds (the pre-commit hook's *.yaml)


@dataclass
class LintRun:
    """What one `dlgen lint` did: findings (after severity overrides), files fixed, errors, exit code."""
    rules: list[Rule]
    findings: list[Finding] = field(default_factory=list)
    fixes: list[FileFix] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)     # bad input, rule crashes, files not fixable
    threshold: str = "warning"
    linted: bool = True                                  # False with --diff alone: nothing was linted
    unsafe_left: int = 0                                 # findings whose unsafe fix --fix did not apply
    exit_code: int = 0                                   # 0 clean, 1 findings at the threshold, 2 errors
    files: int = 0                                       # files linted

    def summary(self) -> str:
        """One closing line, as ruff writes: the findings by severity and the files read."""
        counts = {s: sum(1 for f in self.findings if f.severity == s) for s in reversed(SEVERITIES)}
        parts = ", ".join(f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items() if n)
        files = f"{self.files} file{'s' if self.files != 1 else ''}"
        if not self.findings:
            return f"no findings in {files}"
        return f"{len(self.findings)} finding{'s' if len(self.findings) != 1 else ''} ({parts}) in {files}"


def run(opts: LintOptions) -> LintRun:
    """`dlgen lint` without the terminal: config, rules, --fix/--diff, lint, exit policy."""
    from dlgen import config as config_mod
    from dlgen.errors import DlgenError

    if opts.kind not in (None, "dockerfile", "compose", "run", "kubernetes"):
        raise DlgenError(f"unknown kind {opts.kind!r}", "use dockerfile, compose, run or kubernetes")
    if STDIN in opts.paths and (opts.fix or opts.diff):
        raise DlgenError("--fix and --diff edit files; standard input (-) is not one", "lint a file to fix it")
    if opts.config is not None and not Path(opts.config).is_file():
        raise DlgenError(f"config file {opts.config} does not exist", "pass an existing file or drop --config")
    cfg = config_mod.load(None if opts.no_config else (Path(opts.config) if opts.config else config_mod.find()))
    from dlgen import reference

    for name in ("servers", "images", "models", "gpus"):   # a broken data file is one line, before any rule runs
        reference.load(name)
    threshold = opts.threshold or cfg.failure_threshold or "warning"
    if threshold not in SEVERITIES:
        raise DlgenError(f"unknown failure threshold {threshold!r}", "use info, warning or error")
    try:
        rules = load_rules(cfg.rule_dirs)
    except RuleLoadError as exc:
        raise DlgenError(str(exc), "fix or remove the rule file (rule-dirs in the config)") from None
    known = {r.id for r in rules} | {r.name for r in rules}
    disabled = set(cfg.disable) | set(opts.disable)
    for name in sorted(disabled | set(cfg.severity)):
        if name not in known:
            raise DlgenError(f"unknown rule {name!r} (in --disable or the config)", "see `dlgen explain --list`")
    rules = select_rules(rules, disabled)
    dv = config_mod.parse_docker_version(opts.docker_version) if opts.docker_version else cfg.docker_version
    source = "--model" if opts.model else (f"config {cfg.path.name if cfg.path else ''}" if cfg.model else None)
    ctx = Context(model=opts.model or cfg.model, model_source=source, docker_version=dv)
    out = LintRun(rules=rules, threshold=threshold)
    if opts.unsafe_fixes and not (opts.fix or opts.diff):
        raise DlgenError("--unsafe-fixes widens --fix or --diff", "add --fix (or --diff to see the change first)")
    if opts.fix or opts.diff:
        out.fixes = fix_paths(opts.paths, rules, ctx, opts.kind, write=opts.fix, unsafe=opts.unsafe_fixes)
        out.errors += [ff.error for ff in out.fixes if ff.error]
        if opts.diff and not opts.fix:
            out.linted = False
            return out
    result = lint_paths(opts.paths, rules, ctx, opts.kind, opts.only_known)
    out.findings = apply_severity(result.findings, cfg.severity)
    out.files = result.files
    out.errors += result.input_errors + result.rule_errors
    if opts.fix and not opts.unsafe_fixes:
        unsafe = {r.id for r in rules if r.unsafe_fix}
        out.unsafe_left = sum(1 for f in out.findings if f.fix and f.rule in unsafe)
    level = SEVERITIES.index(threshold)
    if out.errors:
        out.exit_code = 2
    elif any(SEVERITIES.index(f.severity) >= level for f in out.findings):
        out.exit_code = 1
    return out


def example_kind(rule: Rule, example: str, target: str | None = None) -> str:
    """How a rule's documented example is read: a Dockerfile, a compose file, a Kubernetes manifest or a
    shell line (``target``: the examples of what the rule carries over to)."""
    if (target or rule.target) == "dockerfile":
        return "dockerfile"
    if kubesource.looks_like(example):
        return "kubernetes"
    if example.lstrip().startswith("services:"):
        return "compose"
    return "markdown" if "\n```" in example or re.search(r"`(sudo\s+)?docker\s+run\b", example) else "shell"
