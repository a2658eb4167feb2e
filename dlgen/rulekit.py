"""What the lint rules share: the final image's chain of stages, its base-image facts, the
model and server an image or run configuration serves, HEALTHCHECK timings, shell commands
inside RUN, and the Hit/Edit types a rule yields.

Imports nothing heavy (no Docker SDK, no Jinja): `dlgen lint` stays fast in pre-commit.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dlgen import matrix, probes, reference
from dlgen.sources import DockerfileDoc, pairs

if TYPE_CHECKING:
    from dlgen.runspec import RunSpec


# ---------------------------------------------------------------------------- what rules yield
@dataclass(frozen=True)
class Edit:
    """Replace lines ``start``..``end`` (1-based, inclusive) with ``text``.

    ``end == start - 1`` inserts ``text`` before line ``start``; an empty ``text`` deletes."""
    start: int
    end: int
    text: str


@dataclass(frozen=True, kw_only=True)
class Hit:
    """One finding a rule reports, built with keywords only:
    ``Hit(line=ins.line, message="...", hint="...", fix=(Edit(...),))``."""
    line: int                       # 1-based, BuildKit's line numbers
    message: str
    column: int = 1
    hint: str = ""                  # the change that fixes it, in a few words
    severity: str | None = None     # overrides the rule's default for this finding
    fix: tuple[Edit, ...] = ()      # what --fix writes


@dataclass
class Context:
    """What a rule may consult besides the parsed file."""
    path: str = ""
    model: str | None = None          # --model / config default model
    model_source: str | None = None   # "--model" or "config"
    docker_version: float | None = None
    docs: list = field(default_factory=list)   # every service/run line of the file (cross-service rules)


# What a rule's check() is: a Dockerfile rule reads the parsed file, a run rule one container's run
# configuration (a docker run line, a compose service); both yield Hits (lint.load_rules checks that
# a rule module has these names; mypy checks each check() against these types).
DockerfileCheck = Callable[["DockerfileDoc", Context], Iterator[Hit]]
RunCheck = Callable[["RunSpec", Context], Iterator[Hit]]


def replace_instr(ins, new_text: str) -> tuple[Edit, ...]:
    """An edit that rewrites one whole instruction (all of its lines)."""
    return (Edit(ins.line, ins.end_line, new_text),)


def instr_source(doc, ins) -> str:
    """The instruction's lines as written, each comment line inside its continuation blanked to
    spaces (BuildKit skips them; positions in the other lines stay as they are)."""
    from dlgen.sources import continuation_comments

    lines = list(doc.lines[ins.line - 1:ins.end_line])
    for n in continuation_comments(doc.lines, ins.line, ins.end_line):
        lines[n - ins.line] = " " * len(lines[n - ins.line])
    return "\n".join(lines)


def exec_form(argv: list[str]) -> str:
    return json.dumps(list(argv))


# ---------------------------------------------------------------------------- image facts
def chain(doc) -> list:
    """The final stage and the local stages it builds FROM, final first."""
    return doc.chain


def base_image(doc) -> str:
    """The external image the final stage ultimately builds on (ARGs resolved)."""
    return doc.resolve(chain(doc)[-1].base)


def image_facts(doc) -> dict:
    return reference.image_facts(base_image(doc)) or {}


def chain_instrs(doc, *cmds: str) -> list:
    """Instructions of the final image's chain of stages, in file order."""
    return doc.chain_instrs(*cmds)


def env_of(doc) -> dict[str, str]:
    """ENV of the final image (later ENV wins)."""
    return doc.env()


def env_pairs(ins) -> list[tuple[str, str]]:
    """ENV/LABEL key/value pairs, values unquoted."""
    return pairs(ins)


def labels_of(doc) -> dict[str, str]:
    return doc.labels()


def command_argv(ins) -> list[str]:
    """CMD/ENTRYPOINT as words (shell form split leniently)."""
    if ins.json:
        return list(ins.value)
    try:
        return shlex.split(" ".join(ins.value))
    except ValueError:
        return " ".join(ins.value).split()


def final_command(doc) -> list[str]:
    """ENTRYPOINT + CMD of the final image (the last of each in its chain)."""
    ep = chain_instrs(doc, "ENTRYPOINT")
    cmd = chain_instrs(doc, "CMD")
    return [*(command_argv(ep[-1]) if ep else []), *(command_argv(cmd[-1]) if cmd else [])]


def inherited_command(doc) -> list[str]:
    """What the final image runs: ENTRYPOINT + CMD of its chain of stages, completed from the base
    image's own (images.yaml) as Docker does: an ENTRYPOINT set here drops the base's CMD."""
    ep = chain_instrs(doc, "ENTRYPOINT")
    cmd = chain_instrs(doc, "CMD")
    facts = image_facts(doc)
    entry = command_argv(ep[-1]) if ep else list(facts.get("entrypoint") or [])
    args = command_argv(cmd[-1]) if cmd else ([] if ep else list(facts.get("cmd") or []))
    return [*entry, *args]


def base_user(doc) -> str | None:
    """The USER the base image runs as (images.yaml); None: root or unknown."""
    user = image_facts(doc).get("user")
    return str(user) if user is not None else None


def exposed_ports(doc) -> list[int]:
    return doc.exposed_ports()


PORT_FLAG = re.compile(r"^--?(port|p|http-port|listen-port)$")


def command_ports(argv: list[str]) -> set[int]:
    """Ports a server command line says it listens on (--port 8000, --bind 0.0.0.0:8000)."""
    ports = set()
    for i, w in enumerate(argv):
        key, eq, val = w.partition("=")
        if PORT_FLAG.match(key):
            val = val if eq else (argv[i + 1] if i + 1 < len(argv) else "")
            if val.isdigit():
                ports.add(int(val))
        m = re.match(r"^(?:--bind=?|-b)?(?:[\w.]+|\[[\w:]*\]):(\d+)$", w)
        if m and ("bind" in w or (i and argv[i - 1] in ("--bind", "-b"))):
            ports.add(int(m.group(1)))
    return ports


# ---------------------------------------------------------------------------- servers
def server_signs() -> list[tuple[str, re.Pattern]]:
    """(preset, regex) from servers.yaml's detect patterns, lowest detect_rank first."""
    return _server_signs()


@functools.cache
def _server_signs() -> list[tuple[str, re.Pattern]]:
    servers = reference.servers()["servers"]
    ranked = sorted((p.get("detect_rank", 1000), name) for name, p in servers.items() if p.get("detect"))
    return [(name, re.compile(servers[name]["detect"])) for _, name in ranked]


def model_servers() -> tuple[str, ...]:
    """Presets that load a model (servers.yaml serves_model)."""
    return tuple(n for n, p in reference.servers()["servers"].items() if p.get("serves_model"))


def serving_command(text: str, models: bool = False) -> bool:
    """The command starts a server: a preset's detect pattern or one of servers.yaml's serving_commands
    (``models``: only servers that load a model at start)."""
    return bool(text) and bool(_serving(models).search(text))


@functools.cache
def _serving(models: bool) -> re.Pattern:
    data = reference.servers()
    signs = [p["detect"] for p in data["servers"].values()
             if p.get("detect") and (p.get("serves_model") or not models)]
    signs += [c["pattern"] for c in data.get("serving_commands") or [] if c["models"] or not models]
    return re.compile("|".join(f"(?:{sign})" for sign in signs))


def server_of(*texts: str, label: str | None = None) -> str | None:
    if label and label in reference.servers()["servers"]:
        return label
    joined = " ".join(t for t in texts if t)
    for name, sign in server_signs():
        if sign.search(joined):
            return name
    return None


def preset(name: str | None) -> dict:
    """A server preset; the plain python server (shortest boot) when unknown, so estimates err low."""
    servers = reference.servers()["servers"]
    default = reference.servers()["defaults"]["serve"]
    return servers.get(name or default) or servers[default]


# ---------------------------------------------------------------------------- models
_MODEL_FLAG = re.compile(r"^--?(model|model-id|model_id|model-name|model_name|model-path|model_path|served-model)"
                         r"(=.*)?$")
_MODEL_ENV = re.compile(r"^(MODEL|MODEL_ID|MODEL_NAME|HF_MODEL_ID|MODEL_PATH|DLGEN_MODEL|MODEL_SOURCE)$")
_HF_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


@dataclass(frozen=True)
class FoundModel:
    model: Any             # dlgen.catalog.Model (imported lazily: lint stays light)
    where: str             # "--model", "config", "LABEL ai.dlgen.model", "CMD", "ENV MODEL_ID", ...


def _resolve(name: str, params: str | None = None, dtype: str | None = None):
    from dlgen import catalog
    from dlgen.errors import DlgenError

    try:
        return catalog.resolve(name, params, dtype)
    except DlgenError:
        return None


def model_from_words(words: list[str]):
    """A model named in a command line: after --model & co, as `vllm serve ID`, or any HF id / catalog name."""
    from dlgen import catalog

    for i, w in enumerate(words):
        m = _MODEL_FLAG.match(w)
        if m:
            val = m.group(2)[1:] if m.group(2) else (words[i + 1] if i + 1 < len(words) else "")
            found = _resolve(val) if val else None
            if found:
                return found
        for after in _model_after():   # `vllm serve MODEL` and the like (servers.yaml model_after)
            n = len(after)
            if n <= i + 1 < len(words) and [x.rsplit("/", 1)[-1] for x in words[i - n + 1:i + 1]] == after:
                found = _resolve(words[i + 1])
                if found:
                    return found
    for w in words:
        w = w.split("=", 1)[-1]
        if catalog.find(w) or (_HF_ID.match(w) and catalog.size_from_name(w)):
            found = _resolve(w)
            if found:
                return found
    return None


def option_value(words: Sequence[str], flags: Sequence[str]) -> str | None:
    """The value of the last of ``flags`` in a command line (``--flag V`` or ``--flag=V``), or None."""
    found = None
    for i, word in enumerate(words):
        for flag in flags:
            if word == flag and i + 1 < len(words):
                found = words[i + 1]
            elif word.startswith(flag + "="):
                found = word[len(flag) + 1:]
    return found


def hub_model_id(words: list[str], env: dict) -> str | None:
    """A Hugging Face repository id the command (or MODEL_ID & co in env) names as its model: what the
    server downloads at start. Local paths (/models/x, ./x) are not ids."""
    candidates: list[str] = []
    for i, w in enumerate(words):
        m = _MODEL_FLAG.match(w)
        if m:
            candidates.append(m.group(2)[1:] if m.group(2) else (words[i + 1] if i + 1 < len(words) else ""))
        for after in _model_after():
            n = len(after)
            if n <= i + 1 < len(words) and [x.rsplit("/", 1)[-1] for x in words[i - n + 1:i + 1]] == after:
                candidates.append(words[i + 1])
    candidates += [str(v) for k, v in env.items() if v and _MODEL_ENV.match(k)]
    return next((c for c in candidates if _HF_ID.match(c) and not c.startswith((".", "/"))), None)


def _model_after() -> list[list[str]]:
    return [list(p["model_after"]) for p in reference.servers()["servers"].values() if p.get("model_after")]


def model_from_env(env: dict) -> tuple[object, str] | None:
    for k, v in env.items():
        if v and _MODEL_ENV.match(k):
            found = _resolve(v)
            if found:
                return found, f"ENV {k}"
    return None


def find_model(ctx, *, labels: dict | None = None, words: Sequence[str] = (),
               env: dict | None = None) -> FoundModel | None:
    """The model an image or service serves: --model, the config, a LABEL, then CMD/ENTRYPOINT/ENV."""
    if getattr(ctx, "model", None):
        found = _resolve(ctx.model)
        if found:
            return FoundModel(found, getattr(ctx, "model_source", None) or "--model")
    labels = labels or {}
    if labels.get("ai.dlgen.model"):
        found = _resolve(labels["ai.dlgen.model"], labels.get("ai.dlgen.params") or None,
                         labels.get("ai.dlgen.dtype") or None)
        stored = labels.get("ai.dlgen.weights-gb") or ""
        if found and re.fullmatch(r"\d+(\.\d+)?", stored):   # the file it loads (a GGUF), not the checkpoint
            import dataclasses

            found = dataclasses.replace(found, stored_gb=float(stored), quant="gguf")
        if found:
            return FoundModel(found, "LABEL ai.dlgen.model")
    found = model_from_words(list(words))
    if found:
        return FoundModel(found, "the command")
    hit = model_from_env(env or {})
    if hit:
        return FoundModel(hit[0], hit[1])
    return None


def timing_for(found: FoundModel | None, server: str | None, ctx):
    """The same timing function `dlgen new` uses (dlgen.timing.for_server); where the linted file's
    folder has a timings.json (dlgen verify --write-timings), its measured load instead."""
    import dataclasses

    from dlgen import timing

    weights = found.model.weights_gb if found else DEFAULT_FIX_WEIGHTS_GB
    dv = getattr(ctx, "docker_version", None)
    t = timing.for_server(weights, preset(server), docker_version=dv)
    measured = measured_timings(ctx)
    if measured:
        consts = timing.Constants().override(margin=measured.get("margin"))
        t = dataclasses.replace(t, load_s=round(float(measured["load_s"]), 1),
                                start_period_s=timing.start_period_for(float(measured["load_s"]), consts))
    return t


def measured_timings(ctx) -> dict | None:
    """The timings.json beside the linted file (a bundle measured on its host), or None."""
    from pathlib import Path

    from dlgen import measured

    path = getattr(ctx, "path", "")
    return measured.read(Path(path).parent) if path else None


def load_source(ctx) -> str:
    """How a load time was found: measured (timings.json) or estimated."""
    from dlgen import measured

    m = measured_timings(ctx)
    return measured.describe(m) if m else "estimated"


# When a fix must size a start period and no model is known: an 8B model in bf16, the most common
# served size (16 GB). A generous start period costs nothing with a short start interval
# (Docker docs, HEALTHCHECK: one success ends the start period); DLG012 judges it again once the model is known.
DEFAULT_FIX_WEIGHTS_GB = 16.0


# ---------------------------------------------------------------------------- image: model & server
def image_server(doc) -> str | None:
    """The server the final image runs: its ai.dlgen.server label, else what its command starts. The base
    image's name counts only while the base's own command runs (no CMD or ENTRYPOINT in this file), or
    when this file sets only CMD on a base whose ENTRYPOINT images.yaml does not record (the CMD may be
    that server's arguments)."""
    label = labels_of(doc).get("ai.dlgen.server")
    command = " ".join(inherited_command(doc))
    if chain_instrs(doc, "ENTRYPOINT") or (chain_instrs(doc, "CMD") and image_facts(doc).get("entrypoint")):
        return server_of(command, label=label)
    return server_of(command, label=label) or server_of(base_image(doc), label=label)


def image_model(doc, ctx) -> FoundModel | None:
    return find_model(ctx, labels=labels_of(doc), words=final_command(doc), env=env_of(doc))


def serves_model(doc, ctx) -> bool:
    """The final image serves a model: a known model server, a model found, or a GPU/torch base that EXPOSEs."""
    server = image_server(doc)
    if server in model_servers():
        return True
    if labels_of(doc).get("ai.dlgen.kind") == "serve":
        return True
    if image_model(doc, ctx):
        return True
    facts = image_facts(doc)
    return bool(exposed_ports(doc) and (facts.get("gpu") or facts.get("torch"))
                and serving_command(" ".join(final_command(doc)), models=True))


# ---------------------------------------------------------------------------- HEALTHCHECK
def healthcheck(ins, doc=None):
    """A HEALTHCHECK instruction as the one health value (runspec.Health), ARGs resolved; None for NONE."""
    from dlgen.runspec import Health

    return Health.from_instruction(ins, doc.resolve if doc is not None else None)


def with_flag(ins, name: str, value: str | None, after: str | None = None) -> str:
    """The instruction's text (one line) with flag --name set to value (None removes it)."""
    flags = [f for f in ins.flags if f.lstrip("-").partition("=")[0] != name]
    if value is not None:
        new = f"--{name}={value}"
        pos = len(flags)
        if after:
            for i, f in enumerate(flags):
                if f.lstrip("-").partition("=")[0] == after:
                    pos = i + 1
        flags.insert(pos, new)
    return render_instr(ins, flags=flags)


def render_instr(ins, flags=None, value=None, json_form=None) -> str:
    """One-line text of an instruction from its parts (HEALTHCHECK keeps its CMD keyword)."""
    flags = list(ins.flags if flags is None else flags)
    value = list(ins.value if value is None else value)
    json_form = ins.json if json_form is None else json_form
    head = " ".join([ins.cmd, *flags])
    if ins.cmd == "HEALTHCHECK" and value and value[0].upper() == "CMD":
        rest = value[1:]
        body = exec_form(rest) if json_form else " ".join(rest)
        return f"{head} CMD {body}"
    body = exec_form(value) if json_form else " ".join(value)
    return f"{head} {body}"


python_probe = probes.python_probe


URL_RE = re.compile(r"https?://[^\s\"'|;&)]+")


# ---------------------------------------------------------------------------- shell in RUN
# Shell words and separators: a double-quoted string (escapes inside), a single-quoted string, an
# escaped character, && || ; | newline, or a run of anything else. One regex pass: linear time.
_SHELL_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|\'[^\']*\'?|\\.|&&|\|\||[;|\n]|[^"\'\\&|;\n]+|[&\\]', re.S)
_SHELL_SEPS = {"&&", "||", ";", "|", "\n"}


SHELL_NAME = re.compile(r"(?:.*/)?(?:ba|z|da|a)?sh")
SHELL_LOGIN_FLAGS = ("-l", "-i", "--login", "-il", "-li")


def is_shell(word: str) -> bool:
    """sh, bash, zsh, dash, ash, by name or path."""
    return bool(SHELL_NAME.fullmatch(word))


def bare_shell(argv: Sequence[str]) -> bool:
    """The command is a shell and nothing else (sh, /bin/bash -l, bash -i): an interactive session."""
    words = [w for w in argv if w not in SHELL_LOGIN_FLAGS]
    return len(words) == 1 and is_shell(words[0])


_SHELL_C_START = re.compile(r"(?:/usr)?(?:/bin/)?(?:ba|da)?sh\s+-[a-zA-Z]*c[a-zA-Z]*\s")


def shell_commands(text: str, depth: int = 0) -> list[str]:
    """Split a RUN's shell text into simple commands on && || ; | and newlines (quotes respected); a
    `bash -c "SCRIPT"` (any option cluster holding c: -ic, -lc, -euxc) is the commands of its script."""
    out: list[str] = []
    buf: list[str] = []
    for m in _SHELL_TOKEN.finditer(text):
        tok = m.group(0)
        if tok in _SHELL_SEPS:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(tok)
    out.append("".join(buf))
    cmds = [c.strip() for c in out if c.strip()]
    if depth >= 3 or not any(_SHELL_C_START.match(c) for c in cmds):
        return cmds
    expanded: list[str] = []
    for c in cmds:
        argv = None
        if _SHELL_C_START.match(c):
            try:
                argv = shlex.split(c)
            except ValueError:
                argv = None
        if argv and shell_runs_string(argv):
            expanded += shell_commands(argv[2], depth + 1)
        else:
            expanded.append(c)
    return expanded


# pip's global options may come before the subcommand: `pip3 --no-cache-dir install torch`
PIP_INSTALL = re.compile(r"(?:^|\s|/)(?:pip3?|python3?(?:\.\d+)?\s+-m\s+pip|uv\s+pip)"
                         r"(?:\s+--?[\w-]+(?:=\S+)?)*\s+install\b")
# A shell told to run its next argument: -c, or an option cluster with c in it (-lc, -ic, -ec, -euxc).
SHELL_C_OPTION = re.compile(r"-[a-zA-Z]*c[a-zA-Z]*")


def shell_runs_string(argv) -> bool:
    """argv is `sh|bash|dash -c STRING ...` (any option cluster holding c, such as bash -ic)."""
    return len(argv) >= 3 and bool(re.fullmatch(r"(/bin/|/usr/bin/)?(ba|da)?sh", argv[0])) \
        and bool(SHELL_C_OPTION.fullmatch(argv[1]))


def pip_installs(text: str) -> list[str]:
    """The `pip install ...` simple commands in a RUN's text (not uv/conda)."""
    return [c for c in shell_commands(text) if PIP_INSTALL.search(c)]


# A torch requirement as one word: torch, torch==2.4.1, "torch>=2.0", torch[opt]~=2.3
TORCH_REQ = re.compile(r"^[\"']?torch(?:\[[\w,]+\])?(?:(==|===)\s*([\w.+*]+)|([<>!~]=?.*))?[\"']?$")


def requirement_words(doc, ctx, cmd: str) -> list[tuple[str, str]]:
    """(requirement, where) for the words of one `pip install` and the lines of the requirements files
    it reads (where: "" for a word, " (requirements.txt line 3)" for a line), environment markers cut."""
    words = [(w, "") for w in cmd.split()]
    for name in requirement_files(cmd):
        words += [(req.replace(" ", ""), f" ({file} line {no})") for file, no, req in requirement_lines(doc, ctx, name)]
    return [(word.split(";")[0], where) for word, where in words]


def torch_requirements(doc, ctx, cmd: str) -> list[tuple[re.Match, str]]:
    """The torch requirements of one `pip install`: (match of TORCH_REQ, where), from requirement_words."""
    return [(m, where) for word, where in requirement_words(doc, ctx, cmd) if (m := TORCH_REQ.match(word))]


# A requirement as one word: NAME, NAME[extras], NAME==1.2, "NAME>=1" (group 1 the name, 2 an exact pin)
REQ_WORD = re.compile(r"^[\"']?([A-Za-z0-9][\w.-]*)(?:\[[\w,.-]+\])?(?:(?:==|===)\s*([\w.+*]+)|[<>!~]=?.*)?[\"']?$")


def torch_pinners() -> set[str]:
    """Packages each of whose releases requires one exact torch (torch_cuda.yaml pins_torch)."""
    return {p["name"] for p in reference.torch_matrix().get("pins_torch") or []}


def unpinned_torch_pinners(doc, ctx, cmd: str) -> list[tuple[str, str]]:
    """(package, where) for each package of torch_pinners() that one `pip install` takes without an
    exact version (requirement_words: its words and the requirements files it reads)."""
    pinners = torch_pinners()
    out = []
    for word, where in requirement_words(doc, ctx, cmd):
        m = REQ_WORD.match(word)   # an option (-r, --pre) starts with "-": never a requirement
        if m and m.group(1).lower() in pinners and not m.group(2):
            out.append((m.group(1).lower(), where))
    return out


def base_cuda(doc) -> str | None:
    """The CUDA (12.4) of the final image's base: its tag, or a CUDA ARG the file declares."""
    cuda = matrix.image_cuda(base_image(doc))
    if cuda:
        return cuda
    for name, value in doc.args.items():
        if re.fullmatch(r"CUDA(_VERSION|_VER)?", name, re.IGNORECASE) and re.match(r"^\d+\.\d+", value):
            return ".".join(value.split(".")[:2])
    return None


REQ_FLAG = re.compile(r"^(?:-r|--requirement)(?:=?(.+))?$")


def requirement_files(cmd: str) -> list[str]:
    """The files a `pip install` reads requirements from (-r FILE, --requirement=FILE, -rFILE)."""
    words = cmd.split()
    out = []
    for i, w in enumerate(words):
        m = REQ_FLAG.match(w)
        if m:
            name = m.group(1) or (words[i + 1] if i + 1 < len(words) else "")
            if name:
                out.append(name.strip("\"'"))
    return out


def requirement_lines(doc, ctx, name: str, depth: int = 0) -> list[tuple[str, int, str]]:
    """(file, line number, requirement) of a requirements file a RUN installs from, read from the
    build context (the Dockerfile's folder): the path as written, else where a COPY put it, else
    its name; nested -r files followed once. Empty when the file is not there."""
    from pathlib import Path, PurePosixPath

    from dlgen import textfile

    root = Path(ctx.path).parent if ctx.path else None
    if root is None or "$" in name:
        return []
    candidates = [name.lstrip("/")] if not name.startswith("/") else []
    for ins in doc.chain_instrs("COPY", "ADD"):
        if ins.flag("from") is not None or len(ins.value) < 2:
            continue
        *sources, dest = ins.value
        for src in sources:
            image_path = PurePosixPath(dest) / PurePosixPath(src).name if dest.endswith("/") or len(sources) > 1 \
                else PurePosixPath(dest)
            if str(image_path) == name or PurePosixPath(name).name == PurePosixPath(src).name:
                candidates.append(src.lstrip("/"))
            elif src in (".", "./"):   # the whole context: the path below the destination
                prefix = dest.rstrip("/") + "/"
                candidates.append(name[len(prefix):] if name.startswith(prefix) else name.lstrip("/"))
    candidates.append(PurePosixPath(name).name)
    for cand in dict.fromkeys(candidates):
        path = root / cand
        try:
            text = textfile.read_text(path, max_bytes=1 << 20).text
        except (OSError, textfile.FileProblem):
            continue
        out = []
        for no, line in enumerate(text.splitlines(), 1):
            req = line.split(" #", 1)[0].strip()
            if req.startswith(("-r ", "--requirement")) and depth < 1:
                for nested in requirement_files(req):
                    out += requirement_lines(doc, ctx, str(PurePosixPath(cand).parent / nested), depth + 1)
            elif req and not req.startswith(("#", "-")):
                out.append((cand, no, req))
        return out
    return []


def run_text(doc, ins) -> str:
    """A RUN's shell text, heredoc bodies included; of an exec-form `["bash", "-c", "SCRIPT"]`, the
    script (the words joined would lose its quoting)."""
    argv = list(ins.value)
    text = argv[2] if ins.json and shell_runs_string(argv) else ins.text
    return doc.resolve(text) if doc else text


def run_texts(doc, stages=None) -> list:
    """(instruction, text) for every RUN (run_text)."""
    return [(ins, run_text(doc, ins)) for st in (stages if stages is not None else doc.stages)
            for ins in st.find("RUN")]


def preset_probe(doc, server: str | None, ctx) -> tuple[list[str], str] | None:
    """(probe argv, url) for a HEALTHCHECK on the server preset's readiness endpoint, using a tool
    the final image has (the preset's curl/wget if present, else the interpreter), or None."""
    if not server:
        return None
    p = preset(server)
    if not p.get("readiness") or not p.get("port"):
        return None
    ports = sorted(command_ports(final_command(doc)))
    url = f"http://127.0.0.1:{ports[0] if ports else p['port']}{p['readiness']}"
    facts = image_facts(doc)
    tool = probes.choose_tool(p.get("probe") or "python", facts)
    if tool is None:
        return None
    return probes.http_command(tool, url, facts.get("python") or "python"), url


# ---------------------------------------------------------------------------- Kubernetes containers
# Kubernetes' probe defaults (Kubernetes API reference, Probe): periodSeconds 10, failureThreshold 3,
# initialDelaySeconds 0.
K8S_PROBE_PERIOD_S = 10
K8S_PROBE_FAILURES = 3


def k8s(spec):
    """A Kubernetes container's own facts (dlgen.kubesource.KubePod), None for docker run and compose."""
    return spec.extra.get("k8s") if spec.origin == "kubernetes" else None


def k8s_server(spec) -> str | None:
    """The model server a container runs (servers.yaml), by its image and command."""
    server = server_of(spec.image or "", " ".join(spec.full_command()))
    return server if server and preset(server).get("serves_model") else None


def k8s_startup_budget_s(probes: dict) -> float | None:
    """How long a container may take to start before Kubernetes restarts it: the startupProbe's
    initialDelaySeconds + failureThreshold x periodSeconds; without one, the livenessProbe's (None:
    no probe restarts it)."""
    probe = probes.get("startupProbe") or probes.get("livenessProbe")
    if not probe:
        return None
    def num(key, default):
        value = probe.get(key, default)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float(default)
    return num("initialDelaySeconds", 0) + num("failureThreshold", K8S_PROBE_FAILURES) * \
        num("periodSeconds", K8S_PROBE_PERIOD_S)


def k8s_where(spec) -> str:
    info = k8s(spec)
    role = f" ({info.role})" if info and info.role else ""
    return f"{spec.service}{role}"


def where(spec) -> str:
    """How a finding names a run configuration: a Kubernetes container, a compose service, or docker run."""
    if spec.origin == "kubernetes":
        return k8s_where(spec)
    return f"service {spec.service}" if spec.service else "docker run"


def script_commands(words: Sequence[str]) -> list[list[str]] | None:
    """The simple commands of `sh -c SCRIPT` as word lists (the script's own quoting respected; one
    that does not parse is left out); None when ``words`` runs no script."""
    import shlex

    if not shell_runs_string(words):
        return None
    out = []
    for command in shell_commands(words[2]):
        try:
            out.append(shlex.split(command, comments=True))
        except ValueError:
            continue
    return out


def k8s_words(spec) -> list[str]:
    """A container's command as words; a `sh -c SCRIPT` as the words of the script's simple commands
    (where a model id or a parallelism flag is found)."""
    words = spec.full_command()
    commands = script_commands(words)
    return words if commands is None else [w for command in commands for w in command]
