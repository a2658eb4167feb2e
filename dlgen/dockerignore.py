"""The .dockerignore of a bundle: Docker's matching rules, the patterns dlgen keeps out (data:
dlgen/data/dockerignore.yaml), and the merge into a user's own file that never undoes their rules.

Docker's rules, as its pattern matcher applies them: blank lines and ``#`` lines are skipped; a
pattern is cleaned as a path and a leading ``/`` dropped; ``*`` and ``?`` do not cross ``/``,
``**`` spans any number of folders; a pattern matches a path or any folder above it; the last
pattern that matches decides, and a ``!`` pattern re-includes.
Source: Docker docs, "Build context" > ".dockerignore files" (moby/patternmatcher).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

LARGE_BYTES = 100 * 2**20     # a file this large going into an image is named at dlgen new
SHOWN = 20                    # names listed per reason; the rest are counted


@dataclass(frozen=True)
class Pattern:
    text: str                  # as written (without the "!")
    negated: bool
    regex: re.Pattern

    def matches(self, rel: str) -> bool:
        if self.regex.match(rel):
            return True
        parts = rel.split("/")
        return any(self.regex.match("/".join(parts[:i])) for i in range(1, len(parts)))


def _compile(pattern: str) -> re.Pattern:
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1:i + 2] == "*":
                i += 1
                if i + 1 == len(pattern):
                    out.append(".*")
                elif pattern[i + 1] == "/":
                    out.append("(.*/)?")
                    i += 1
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    try:
        return re.compile("".join(out))
    except re.error:
        return re.compile(re.escape(pattern) + "$")


def parse(text: str) -> list[Pattern]:
    """The patterns of a .dockerignore, in order."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        body = line[1:].strip() if negated else line
        if not body:
            continue
        clean = posixpath.normpath(body)
        if len(clean) > 1 and clean.startswith("/"):
            clean = clean.lstrip("/")
        if clean == ".":
            continue
        found.append(Pattern(body, negated, _compile(clean)))
    return found


def excluded(patterns: list[Pattern], rel: str) -> bool:
    """Whether Docker leaves ``rel`` (a path inside the context, with /) out of the build context."""
    out = False
    for p in patterns:
        if p.matches(rel):
            out = not p.negated
    return out


@cache
def groups() -> dict[str, dict]:
    from dlgen import reference

    return reference.load("dockerignore")["groups"]


def our_patterns(project: bool) -> list[tuple[str, str]]:
    """(group, pattern) that dlgen keeps out: every group for a bundle, the project ones for a
    user's project."""
    return [(name, p) for name, g in groups().items() if g.get("project") or not project for p in g["patterns"]]


def render(project: bool = False) -> str:
    lines = []
    for g in groups().values():
        if g.get("project") or not project:
            lines.append(f"# {g['why']}")
            lines += g["patterns"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- a user's project
def walk(root: Path, prune=None):
    """(relative path, size in bytes) of every file in ``root``; links are not followed. A folder
    for which ``prune(rel)`` is true is given once, as ``rel/`` with size 0, and not entered."""
    for here, dirs, files in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(here, root).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        dirs.sort()
        for name in list(dirs):
            if prune is not None and prune(prefix + name):
                dirs.remove(name)
                yield f"{prefix}{name}/", 0
        for name in sorted(files):
            try:
                size = os.lstat(os.path.join(here, name)).st_size
            except OSError:
                continue
            yield prefix + name, size


@dataclass
class Merge:
    """What dlgen adds to a project's .dockerignore, and what a person should hear about it."""
    added: list[str] = field(default_factory=list)               # lines appended, in order
    kept_out: dict[str, list[str]] = field(default_factory=dict)  # reason -> files the added lines keep out
    reincluded: list[str] = field(default_factory=list)           # dlgen's files the user's rules excluded
    large: list[tuple[str, int]] = field(default_factory=list)    # big files that go into the image

    def notes(self) -> list[str]:
        out = []
        for why, names in self.kept_out.items():
            more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
            out.append(f"kept out of the image, {why}: {', '.join(names[:SHOWN])}{more}")
        if self.reincluded:
            out.append(f"your .dockerignore left out {', '.join(self.reincluded)}, which the image needs: "
                       "dlgen re-includes only those")
        for rel, size in self.large[:SHOWN]:
            out.append(f"going into the image: {rel} ({size / 2**30:.1f} GiB): add it to .dockerignore if the app "
                       "does not need it")
        return out


def merge(project: Path, theirs: str, needed: list[str]) -> Merge:
    """The lines to append to a project's .dockerignore (``theirs``: its text, '' if none):
    dlgen's project patterns it lacks; then, where those would drop a file the user's own ``!``
    rule brought back, that rule again (a user's rule is never undone); then ``!`` for each of
    dlgen's own files (``needed``) that the user's rules exclude (an allowlist). Names what the
    added lines keep out and the large files that go in."""
    user = parse(theirs)
    have = {p.text.strip() for p in user}
    m = Merge()
    ours = [(group, parse(text)[0]) for group, text in our_patterns(project=True) if text not in have]
    added = [pat for _, pat in ours]   # the patterns appended, compiled once; m.added holds their lines
    m.added = [pat.text for pat in added]
    # a folder left out whole is not entered (node_modules, .git): unless a "!" rule could bring
    # something inside it back
    prune = None if any(p.negated for p in user) else (lambda rel: excluded([*user, *added], rel))
    walked = [(rel.rstrip("/"), size, rel.endswith("/")) for rel, size in walk(project, prune)]
    shown = {rel: rel + ("/" if is_dir else "") for rel, _, is_dir in walked}
    files = [(rel, size) for rel, size, _ in walked]
    user_out = {rel: excluded(user, rel) for rel, _ in files}
    reason_of: dict[str, str] = {}
    for group, pat in ours:
        for rel, _ in files:
            if not user_out[rel] and pat.matches(rel):
                reason_of.setdefault(rel, groups()[group]["why"])
    final = [*user, *added]
    # the user's "!" rules that name a file an added line would drop: said again, last. A rule that
    # brings back a whole folder (after "*") is not a decision about a key file inside it.
    again = [p for p in user if p.negated
             and any(p.regex.match(rel) and not user_out[rel] and excluded(final, rel) for rel, _ in files)]
    final += again
    m.added += [f"!{p.text}" for p in again]
    for rel in needed:
        if excluded(final, rel):
            top = rel.split("/")[0]
            final += parse(f"!{top}")
            m.added.append(f"!{top}")
            m.reincluded.append(top + ("/" if "/" in rel else ""))
    for rel, size in files:
        if excluded(final, rel):
            if rel in reason_of and not user_out[rel]:
                m.kept_out.setdefault(reason_of[rel], []).append(shown[rel])
        elif size >= LARGE_BYTES:
            m.large.append((rel, size))
    m.reincluded = sorted(set(m.reincluded))
    m.large.sort(key=lambda x: -x[1])
    return m
