"""Reading what `dlgen lint` judges: Dockerfiles (BuildKit's own parser, via the `dockerfile`
package), `docker run` lines in shell scripts, Makefiles and Markdown, and compose services.
Run configurations all become RunSpec objects."""

from __future__ import annotations

import functools
import re
import shlex
from dataclasses import dataclass, field

from dlgen import textfile
from dlgen.runspec import ComposeTypeError, RunSpec


class SourceError(Exception):
    """The file cannot be parsed (reported as DLG000 with its line)."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.line = line


class NotCompose(SourceError):
    """Valid YAML, but not a compose file: bad input (exit 2), not a lint finding."""


# ---------------------------------------------------------------------------- Dockerfile
@dataclass
class Instr:
    cmd: str                 # upper-case keyword
    flags: tuple
    value: tuple
    json: bool
    line: int                # 1-based first line
    end_line: int
    original: str
    heredocs: tuple
    stage: int

    def flag(self, name: str) -> str | None:
        for f in self.flags:
            key, eq, val = f.lstrip("-").partition("=")
            if key == name:
                return val if eq else ""
        return None

    def flags_named(self, name: str) -> list[str]:
        """Every value of a repeatable flag (RUN --mount=... --mount=...)."""
        out = []
        for f in self.flags:
            key, eq, val = f.lstrip("-").partition("=")
            if key == name:
                out.append(val if eq else "")
        return out

    @property
    def text(self) -> str:
        """Arguments as one string (shell form), heredoc bodies appended."""
        body = " ".join(self.value)
        for h in self.heredocs:
            body += "\n" + h.content
        return body


@dataclass(eq=False)   # a stage is itself: comparing instruction lists would make chain walks quadratic
class Stage:
    index: int
    base: str
    name: str
    instrs: list[Instr] = field(default_factory=list)

    def find(self, *cmds: str) -> list[Instr]:
        return [i for i in self.instrs if i.cmd in cmds]


@dataclass
class DockerfileDoc:
    path: str
    text: str
    instrs: list[Instr]
    stages: list[Stage]
    args: dict[str, str]      # ARG defaults before and inside stages

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def chain_instrs(self, *cmds: str) -> list[Instr]:
        """Instructions of the final image's chain of stages, in file order (all, or of ``cmds``)."""
        return [i for st in reversed(self.chain) for i in st.instrs if not cmds or i.cmd in cmds]

    def labels(self) -> dict[str, str]:
        """LABELs of the final image (later ones win), quotes removed."""
        out: dict[str, str] = {}
        for ins in self.chain_instrs("LABEL"):
            for k, v in pairs(ins):
                out[unquote(k)] = v
        return out

    def env(self) -> dict[str, str]:
        """ENV of the final image (later ENV wins)."""
        out: dict[str, str] = {}
        for ins in self.chain_instrs("ENV"):
            for k, v in pairs(ins):
                out[k] = v
        return out

    def exposed_ports(self) -> list[int]:
        ports = []
        for ins in self.chain_instrs("EXPOSE"):
            for v in ins.value:
                p = self.resolve(v).split("/")[0]
                if p.isdigit():
                    ports.append(int(p))
        return ports

    @functools.cached_property
    def chain(self) -> list[Stage]:
        """The final stage and the local stages it builds FROM, final first (computed once)."""
        names: dict[str, Stage] = {}
        for s in self.stages:
            if s.name:
                names[s.name.lower()] = s
        out: list[Stage] = []
        seen: set[int] = set()
        st: Stage | None = self.final
        while st is not None and st.index not in seen:
            seen.add(st.index)
            out.append(st)
            st = names.get(self.resolve(st.base).lower())
        return out

    @functools.cached_property
    def lines(self) -> list[str]:
        """The file's lines as BuildKit counts them: ``lines[ins.line - 1]`` is an instruction's first line."""
        return textfile.lines(self.text)

    def resolve(self, text: str) -> str:
        """Substitute ${ARG} / $ARG defaults (unknown ones stay)."""
        return _expand(text, self.args)


_NAME = re.compile(r"\w+")


def _expand(text: str, args: dict[str, str]) -> str:
    """${NAME}, ${NAME:-default}, $NAME from ``args`` (unknown ones stay, or take their default).

    One pass, linear in the text: a ``${`` with no ``}`` after it cannot match, and neither can
    any later one, so the rest is copied as it is (a regex would rescan it from every ``${``)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("$", i)
        if j == -1:
            break
        out.append(text[i:j])
        if text.startswith("${", j):
            m = _NAME.match(text, j + 2)
            if m:
                k = m.end()
                if text.startswith("}", k):
                    out.append(args.get(m.group(0)) or text[j:k + 1])
                    i = k + 1
                    continue
                if text.startswith("-", k) or text.startswith(":-", k):
                    start = k + (1 if text[k] == "-" else 2)
                    close = text.find("}", start)
                    if close == -1:
                        out.append(text[j:])
                        return "".join(out)
                    out.append(args.get(m.group(0)) or text[start:close])
                    i = close + 1
                    continue
            out.append("$")
            i = j + 1
            continue
        m = _NAME.match(text, j + 1)
        if m:
            out.append(args.get(m.group(0)) or text[j:m.end()])
            i = m.end()
            continue
        out.append("$")
        i = j + 1
    out.append(text[i:])
    return "".join(out)


def pairs(ins: Instr) -> list[tuple[str, str]]:
    """ENV/LABEL key/value pairs; the parser gives (k, v, k, v, ...), values with their quotes."""
    vals = list(ins.value)
    return [(vals[i], unquote(vals[i + 1]) if i + 1 < len(vals) else "") for i in range(0, len(vals), 2)]


def unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")


def parser_directives(lines: list[str]):
    """(key in lower case, value) of each parser directive: the ``# key=value`` lines at the top of a
    Dockerfile, before anything else (BuildKit reads no directive below the first other line)."""
    for line in lines:
        m = _DIRECTIVE.match(line.strip())
        if not m:
            return
        yield m.group(1).lower(), m.group(2)


def escape_char(lines: list[str]) -> str:
    """The Dockerfile's escape character: ``# escape=`` among the parser directives, else backslash."""
    for key, value in parser_directives(lines):
        if key == "escape" and value[:1] in ("\\", "`"):
            return value[:1]
    return "\\"


def continuation_comments(lines: list[str], start: int, end: int) -> set[int]:
    """Line numbers (1-based) of the comment lines inside the continuation of the instruction on
    lines ``start``..``end``: BuildKit skips them, so they are no part of the instruction. Lines
    after the continuation ends (a heredoc's body) are never comments."""
    from dlgen import textfile

    esc = escape_char(lines)
    out: set[int] = set()
    continuing = lines[start - 1].rstrip().endswith(esc) if start - 1 < len(lines) else False
    for n in range(start + 1, min(end, len(lines)) + 1):
        if not continuing:
            break
        line = lines[n - 1]
        if textfile.is_blank(line):
            continue
        if textfile.lstrip(line).startswith("#"):
            out.add(n)
            continue
        continuing = line.rstrip().endswith(esc)
    return out


def parse_dockerfile(text: str, path: str = "Dockerfile") -> DockerfileDoc:
    import dockerfile

    try:
        cmds = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        msg = str(exc)
        m = re.search(r"line (\d+)", msg)
        raise SourceError(msg, int(m.group(1)) if m else 1) from None
    instrs: list[Instr] = []
    stages: list[Stage] = []
    args: dict[str, str] = {}
    for c in cmds:
        if not c.cmd:  # BuildKit yields an empty node for a continuation that no instruction follows
            raise SourceError(f"line {c.start_line}: a line continuation (\\) with no instruction after it; "
                              "docker build rejects it", c.start_line)
        cmd = c.cmd.upper()
        if cmd == "FROM":
            vals = list(c.value)
            name = vals[2] if len(vals) >= 3 and vals[1].lower() == "as" else ""
            stages.append(Stage(len(stages), vals[0] if vals else "", name))
        inst = Instr(cmd, tuple(c.flags), tuple(c.value), bool(c.json), c.start_line, c.end_line, c.original,
                     tuple(c.heredocs), max(0, len(stages) - 1))
        if cmd == "ARG":
            for v in c.value:
                k, eq, d = v.partition("=")
                if eq and k not in args:   # a default may use the ARGs above it, as BuildKit expands it
                    value = _expand(d.strip("\"'"), args)
                    args[k] = value if len(value) <= 4096 else d.strip("\"'")   # no doubling blow-up
        instrs.append(inst)
        if stages and cmd != "FROM":
            stages[-1].instrs.append(inst)
        elif stages:
            stages[-1].instrs.append(inst)
    if not stages:  # a fragment BuildKit still parses: judge it as one stage with no base
        stages = [Stage(0, "", "", list(instrs))]
    return DockerfileDoc(path, text, instrs, stages, args)


# ---------------------------------------------------------------------------- docker run lines
_RUN_START = re.compile(r"(?:^|[\s;&|(`])((?:sudo\s+)?(?:nvidia-docker|docker|podman)\s+(?:container\s+)?run)\b")


def _opaque(text: str) -> str:
    """Replace $(...) and `...` command substitutions by a placeholder word (balanced parens)."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$(", i):
            depth, j = 0, i + 1
            while j < len(text):
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append("__SUBST__")
            i = j + 1
        elif text[i] == "`":
            j = text.find("`", i + 1)
            out.append("__SUBST__")
            i = (j if j != -1 else len(text) - 1) + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Join backslash continuations; keep the first line number."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for no, line in lines:
        stripped = line.rstrip()
        if not buf:
            start = no
            if stripped.lstrip().startswith("#"):   # a comment ends at its line, backslash or not (sh)
                out.append((no, line))
                continue
        if stripped.endswith("\\"):
            buf.append(stripped[:-1])
            continue
        buf.append(line)
        out.append((start, " ".join(buf)))
        buf = []
    if buf:
        out.append((start, " ".join(buf)))
    return out


_INLINE_RUN = re.compile(r"`((?:sudo\s+)?(?:nvidia-)?docker\s+(?:container\s+)?run\b[^`]*)`")


def run_lines(text: str, flavour: str = "shell") -> list[RunSpec]:
    """Every `docker run` in a shell script, a Makefile (recipes) or Markdown (code blocks)."""
    raw = textfile.lines(text)
    numbered: list[tuple[int, str]] = []
    if flavour == "markdown":
        fence = None
        for no, line in enumerate(raw, 1):
            s = line.strip()
            if s.startswith(("```", "~~~")):
                fence = None if fence else s[:3]
                continue
            if fence or line.startswith("    "):
                numbered.append((no, line))
            else:   # a `docker run ...` in an inline code span of the text (a list item, a sentence)
                numbered += [(no, m.group(1)) for m in _INLINE_RUN.finditer(line)]
    else:
        numbered = list(enumerate(raw, 1))
    code_lines = {n for n, _ in numbered} if flavour == "markdown" else None
    block_top: dict[int, int] = {}   # each code line -> the first line of its block (one pass, not one per run)
    for n, _ in numbered:
        block_top[n] = block_top.get(n - 1, n)
    specs = []
    for no, line in _logical_lines(numbered):
        code = line.split(" #", 1)[0] if flavour != "markdown" else line
        if code.lstrip().startswith("#"):
            continue
        m = _RUN_START.search(code)
        if not m:
            continue
        cmd = code[m.start(1):]
        if flavour == "makefile":
            cmd = re.sub(r"\$\((\w+)\)|\$\{(\w+)\}", lambda mm: "__MAKEVAR_" + (mm.group(1) or mm.group(2)), cmd)
        cmd = _opaque(cmd.replace("$$", "$"))
        try:
            lex = shlex.shlex(cmd, posix=True, punctuation_chars=";&|")
            lex.whitespace_split = True
            words = []
            for w in lex:
                if w and set(w) <= set(";&|"):
                    break
                words.append(w)
        except ValueError:
            words = cmd.split()
        if words and words[0] == "sudo":
            words = words[1:]
        spec = RunSpec.from_docker_run(words, line=no)
        if spec.image:
            spec.extra["prose"] = _prose_above(raw, no, code_lines, block_top=block_top)
            specs.append(spec)
    return specs


def _prose_above(raw: list[str], no: int, code: set[int] | None, most: int = 10,
                 block_top: dict[int, int] | None = None) -> str:
    """What the file says just above a `docker run` (line ``no``): the comment lines right above it
    and, in Markdown (``code``: the code lines), the text above its code block up to the heading.
    ``block_top``: each code line's first line of its block, so the block is not walked again."""
    out: list[str] = []
    i = no - 2   # index of the line above
    while i >= 0 and len(out) < most and raw[i].strip().startswith("#") and (code is None or i + 1 in code):
        out.append(raw[i].strip())
        i -= 1
    if code is not None:
        if block_top is not None and i + 1 in block_top:   # the rest of this code block, at once
            i = block_top[i + 1] - 2
        while i >= 0 and i + 1 in code:
            i -= 1
        i -= 1 if i >= 0 and raw[i].strip().startswith(("```", "~~~")) else 0
        while i >= 0 and len(out) < most and i + 1 not in code and not raw[i].strip().startswith(("```", "~~~")):
            out.append(raw[i].strip())
            if raw[i].lstrip().startswith("#"):
                break   # the heading of this section
            i -= 1
    return "\n".join(reversed(out))


# ---------------------------------------------------------------------------- compose
def compose_services(text: str) -> list[RunSpec]:
    from dlgen import yamlload

    try:
        doc = yamlload.load(text)
    except yamlload.YamlProblem as exc:
        raise SourceError(str(exc), exc.line) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        raise NotCompose("not a compose file: no top-level 'services' mapping", 1)
    specs = []
    services = doc["services"]
    for name, svc in services.items():
        try:
            line = services.lc.key(name)[0] + 1
        except Exception:
            line = 1
        if not isinstance(name, (str, int, float)):
            raise SourceError("a service name is a list or mapping; compose service names are strings", line)
        if not isinstance(svc, dict):
            continue
        try:
            plain = yamlload.plain(svc)
        except yamlload.YamlProblem as exc:
            raise SourceError(f"service {name}: {exc}", line) from None
        try:
            specs.append(RunSpec.from_compose(str(name), plain, line))
        except ComposeTypeError as exc:
            raise SourceError(f"service {name}: {exc}; compose rejects the file", line) from None
        except (TypeError, ValueError, AttributeError) as exc:  # a key with a value of the wrong type
            raise SourceError(f"service {name}: a value has the wrong type ({exc}); compose would reject it",
                              line) from None
    return specs
