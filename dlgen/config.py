"""dlgen lint configuration: `.dlgen.yaml`, or `[tool.dlgen]` in `pyproject.toml`, found from the
current directory upward (the first directory holding either wins; `.dlgen.yaml` before
pyproject.toml). The search stops at the repository root (the first directory holding `.git`) or
at the home directory, whichever comes first, and never looks above either: a config file in a
parent such as /tmp is not yours and is never read. Rule directories (`rule-dirs`) must lie inside
the directory of the config file that names them.

A config can load Python (`rule-dirs`), so one that another user owns or can write (a file in a
shared folder such as /tmp, or in a folder anyone may change) is not read: one line on standard
error says which and why, as git's safe.directory does. Rule files are held to the same test.

    disable: [DLG034, apt-hygiene]      # rule ids or names
    severity: {DLG033: warning}         # per-rule severity override
    failure-threshold: warning          # info | warning | error
    model: llama-8b                     # default model for the start-period rules
    docker-version: "26"                # target engine (below 25: no --start-interval)
    rule-dirs: [lint/rules]             # extra rule directories, relative to the config file
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dlgen import textfile
from dlgen.errors import DlgenError
from dlgen.units import parse_docker_version

SEVERITIES = ("info", "warning", "error")
KEYS = {"disable", "severity", "failure-threshold", "model", "docker-version", "rule-dirs"}


@dataclass
class Config:
    path: Path | None = None
    disable: set[str] = field(default_factory=set)
    severity: dict[str, str] = field(default_factory=dict)
    failure_threshold: str | None = None
    model: str | None = None
    docker_version: float | None = None
    rule_dirs: list[str] = field(default_factory=list)


def search_dirs(start: Path | None = None) -> list[Path]:
    """The directories `find` looks in: from ``start`` up to the repository root or home directory."""
    here = (start or Path.cwd()).resolve()
    try:
        home: Path | None = Path.home().resolve()
    except (RuntimeError, KeyError):
        home = None
    out = []
    for d in [here, *here.parents]:
        out.append(d)
        if (d / ".git").exists() or d == home:
            return out
    # neither a repository nor the home directory above: only the starting directory is ours
    return out[:1]


def untrusted(path: Path) -> str | None:
    """Why ``path`` (a config or rule file, or a rule directory) may not be loaded, or None.

    Trusted: owned by you or root, writable by no other user (group write only by a group you are
    in), in a folder that no other user may change (a sticky folder such as /tmp protects your own
    file in it). A link is judged with its target, each in its own folder."""
    me = os.geteuid()
    groups = {os.getegid(), *os.getgroups()}
    try:
        items = [(path, os.lstat(path))]
        if stat.S_ISLNK(items[0][1].st_mode):
            items.append((Path(os.path.realpath(path)), os.stat(path)))
        folders = [(p.parent, os.stat(p.parent)) for p, _ in items]
    except OSError as exc:
        return f"cannot be checked ({exc.strerror})"
    for p, st in items:
        link = stat.S_ISLNK(st.st_mode)   # a link's own mode bits mean nothing
        if st.st_uid not in (me, 0):
            return f"{p} is owned by uid {st.st_uid}, not by you"
        if st.st_mode & 0o002 and not link:
            return f"{p} is writable by every user"
        if st.st_mode & 0o020 and not link and st.st_gid not in groups:
            return f"{p} is writable by group {st.st_gid}, which you are not in"
    for d, st in folders:   # others may write in it only if it is sticky (their files, not yours)
        if st.st_uid not in (me, 0):
            return f"its folder {d} is owned by uid {st.st_uid}, not by you"
        if st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX:
            return f"its folder {d} may be changed by every user"
    return None


def _trusted(path: Path) -> bool:
    why = untrusted(path)
    if why:
        print(f"dlgen: not reading the config {path}: {why} (a config can load code); "
              "chown or chmod it, or pass --config", file=sys.stderr)
    return why is None


def find(start: Path | None = None) -> Path | None:
    for d in search_dirs(start):
        for name in (".dlgen.yaml", ".dlgen.yml"):
            if (d / name).is_file():
                return d / name if _trusted(d / name) else None
        py = d / "pyproject.toml"
        if py.is_file():
            try:
                text = textfile.read_text(py).text
            except textfile.FileProblem:
                continue
            if re.search(r"^\[tool\.dlgen\]", text, re.MULTILINE):
                return py if _trusted(py) else None
    return None


def load(path: Path | None) -> Config:
    if path is None:
        return Config()
    raw = _read(path)
    if raw is None:
        return Config(path=path)
    if not isinstance(raw, dict):
        raise DlgenError(f"{path}: the dlgen config must be a mapping", "see `dlgen lint --help` for its keys")
    norm = {str(k).replace("_", "-"): v for k, v in raw.items()}
    unknown = sorted(set(norm) - KEYS)
    if unknown:
        raise DlgenError(f"{path}: unknown config key {unknown[0]!r}", f"use {', '.join(sorted(KEYS))}")
    cfg = Config(path=path)
    cfg.disable = {str(x) for x in _list(path, "disable", norm.get("disable"))}
    sev = norm.get("severity") or {}
    if not isinstance(sev, dict):
        raise DlgenError(f"{path}: 'severity' must map rule ids to info, warning or error",
                         "e.g. severity: {DLG033: warning}")
    for k, v in sev.items():
        if str(v) not in SEVERITIES:
            raise DlgenError(f"{path}: severity {v!r} for {k} is not info, warning or error",
                             "use info, warning or error")
        cfg.severity[str(k)] = str(v)
    th = norm.get("failure-threshold")
    if th is not None and str(th) not in SEVERITIES:
        raise DlgenError(f"{path}: failure-threshold {th!r} is not info, warning or error",
                         "use info, warning or error")
    cfg.failure_threshold = str(th) if th is not None else None
    cfg.model = str(norm["model"]) if norm.get("model") else None
    if norm.get("docker-version") is not None:
        cfg.docker_version = parse_docker_version(str(norm["docker-version"]), f"docker-version in {path}")
    home = path.parent.resolve()
    for d in _list(path, "rule-dirs", norm.get("rule-dirs")):
        full = (home / str(d)).resolve()
        if full != home and home not in full.parents:
            raise DlgenError(f"{path}: rule directory {d} is outside {home}",
                             "rule-dirs load Python code: keep them inside the directory of the config file")
        if not full.is_dir():
            raise DlgenError(f"{path}: rule directory {full} does not exist", "fix rule-dirs in the config")
        for code in [path, full, *sorted(full.glob("*.py"))]:
            why = untrusted(code)
            if why:
                raise DlgenError(f"{path}: rule directory {d} is not loaded: {why}",
                                 "rule files run as you: keep them owned by you and writable by no one else")
        cfg.rule_dirs.append(str(full))
    return cfg


def _list(path: Path, key: str, value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [x.strip() for x in value.split(",") if x.strip()]
    if not isinstance(value, list):
        raise DlgenError(f"{path}: {key!r} must be a list", f"e.g. {key}: [DLG034]")
    return value


def _read(path: Path):
    try:
        text = textfile.read_text(path).text
    except textfile.FileProblem as exc:
        raise DlgenError(f"{path}: cannot read the config: {exc}", "pass a readable config file") from None
    if path.name == "pyproject.toml":
        import tomllib

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DlgenError(f"{path}: invalid TOML: {exc}", "fix the file or move the config to .dlgen.yaml") \
                from None
        return doc.get("tool", {}).get("dlgen")
    from dlgen import yamlload

    try:
        return yamlload.plain(yamlload.load(text, round_trip=False))
    except yamlload.YamlProblem as exc:
        raise DlgenError(f"{path}:{exc.line}: {exc}", "fix the config file") from None
