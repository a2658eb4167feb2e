"""Render a DeploySpec into a bundle (Dockerfile, .dockerignore, run.sh, compose.yaml, k8s.yaml,
README.md and, for dlgen's own servers, the app) and write it atomically."""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass, field, replace
from pathlib import Path

from dlgen import __version__, dockerignore, textfile
from dlgen.errors import DlgenError
from dlgen.newoptions import NewOptions
from dlgen.spec import APP_UID, APP_USER, HEARTBEAT_FILE, HF_HOME, PEER_STOP_WAIT_S, STOPPED_FILE, DeploySpec
from dlgen.targets.image import dlgen_requirements, ours_beside
from dlgen.targets.yamltext import to_yaml

EXECUTABLE = {"run.sh"}


def builtin_templates() -> Path:
    """templates/ inside the installed package, or at the repository root in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "Dockerfile.j2").is_file():
            return candidate
    raise DlgenError("dlgen's templates are missing from this installation", "reinstall dlgen")


def environment(user_dir: str | None = None):
    import jinja2

    builtin = jinja2.FileSystemLoader(str(builtin_templates()))
    loaders: list[jinja2.BaseLoader] = []
    if user_dir:
        if not Path(user_dir).is_dir():
            raise DlgenError(f"--templates {user_dir!r} is not a directory",
                             "give a directory holding e.g. Dockerfile.j2 that extends \"dlgen/Dockerfile.j2\"")
        loaders.append(jinja2.FileSystemLoader(user_dir))
    loaders += [builtin, jinja2.PrefixLoader({"dlgen": builtin})]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["exec_form"] = lambda argv: json.dumps(list(argv))
    env.filters["to_yaml"] = to_yaml
    env.filters["to_yaml_all"] = lambda docs: "---\n".join(to_yaml(d) for d in docs)
    env.filters["dirname"] = posixpath.dirname
    return env


PROJECT_MARKERS = (".git", "requirements.txt", "pyproject.toml", "setup.py", "setup.cfg")


def is_project(directory: Path) -> bool:
    """A folder that holds someone's code (not an empty or a dlgen-made one): dlgen writes beside
    its files, never over them."""
    return directory.is_dir() and (any((directory / m).exists() for m in PROJECT_MARKERS)
                                   or any(directory.glob("*.py")))


def render(spec: DeploySpec, command_line: str, templates: str | None = None,
           project: Path | None = None) -> dict[str, str]:
    """All files of the bundle, path -> text: every registered target's (dlgen.targets), rendered
    from one context. Same input, same bytes."""
    from dlgen import targets

    env = environment(templates)
    ctx: dict = {"spec": spec, "version": __version__, "command_line": command_line, "project": project,
                 "in_project": project is not None, "hf_home": HF_HOME, "app_uid": APP_UID, "app_user": APP_USER,
                 "heartbeat": HEARTBEAT_FILE, "stopped": STOPPED_FILE,
                 "peer_stop_wait_s": PEER_STOP_WAIT_S}
    registered = targets.all_targets()
    for target in registered:
        ctx.update(target.context(spec, ctx))
    files: dict[str, str] = {}
    for target in registered:
        files.update(target.files(spec, ctx))
    return {path: _tidy(env.get_template(tpl).render(**ctx)) for path, tpl in files.items()}


def _tidy(text: str) -> str:
    """Collapse runs of blank lines left by template blocks; end with exactly one newline."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line and out and not out[-1]:
            continue
        out.append(line)
    while out and not out[0]:
        out.pop(0)
    return "\n".join(out).rstrip("\n") + "\n"


def write(files: dict[str, str], out_dir: Path, force: bool = False,
          appends: dict[str, str] | None = None, plan: dict | None = None) -> list[Path]:
    """Write all files or none (dlgen.ownership decides what may be replaced: with ``force``, only
    the files dlgen wrote and nobody changed since; nothing through a link); ``appends``: text added
    at the end of an existing file of the user's (their .dockerignore), keeping every byte of it.
    Each file is written atomically and recorded in the folder's manifest."""
    from dlgen import ownership

    out_dir = Path(out_dir)
    appends = appends or {}
    for d in [out_dir, *out_dir.parents]:   # the nearest existing ancestor must be a directory
        if os.path.lexists(d):
            if not d.is_dir():
                raise DlgenError(f"{d} exists and is not a directory", f"choose another DIR than {out_dir}")
            break
    ownership.check_paths([*files, *appends, ownership.MANIFEST], out_dir)
    ownership.check_replace(files, out_dir, force)
    written, done = [], {}
    try:
        for rel, text in files.items():
            path = out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            textfile.write_text(path, text, mode=0o755 if rel in EXECUTABLE else 0o644)
            if rel in EXECUTABLE:
                os.chmod(path, os.stat(path).st_mode | 0o111)
            written.append(path)
            done[rel] = text.encode("utf-8")
        for rel, text in appends.items():
            if text:
                _append(out_dir / rel, text)
                written.append(out_dir / rel)
        ownership.record(out_dir, done, plan)
    except textfile.FileProblem as exc:
        raise DlgenError(f"{out_dir}: {exc}", "choose another DIR") from None
    except OSError as exc:
        raise DlgenError(f"cannot write in {out_dir}: {exc.strerror}", "choose another DIR") from None
    return written


def _append(path: Path, text: str) -> None:
    """Append ``text`` to a user's file without following a link and without touching its bytes
    (an encoding other than UTF-8 stays as it is: what is appended is ASCII)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
    try:
        with os.fdopen(fd, "ab", closefd=False) as fh:
            size = os.fstat(fd).st_size
            if size:
                with open(path, "rb") as r:
                    r.seek(size - 1)
                    if r.read(1) != b"\n":
                        text = "\n" + text
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fd)
    finally:
        os.close(fd)


def canonical_command(opts: NewOptions | dict) -> str:
    """The `dlgen new` line that regenerates a bundle (each word shell-quoted)."""
    return NewOptions.of(opts).command_line()


@dataclass
class NewResult:
    spec: DeploySpec
    files: dict[str, str]
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # what the .dockerignore keeps out, large files going in


def plan(spec: DeploySpec) -> dict:
    """What the manifest keeps for later edits (verify --write-timings): the download a Swarm stack's
    first start does itself, which its start period covers."""
    return {"stack_download_s": spec.stack_download_s} if spec.stack_download_s else {}


def summary(spec: DeploySpec) -> str:
    """One line about a written bundle: kind, server, the health budget where there is one, GPUs."""
    parts = [spec.kind, spec.server]
    health = spec.health()
    if health and health.start_period:
        parts.append(f"start period {spec.timing.start_period_s}s"
                     + (" (--start-period)" if spec.timing.start_period_given else ""))
    if spec.gpu_plan:
        parts.append(spec.gpu_plan.summary())
    return ", ".join(parts)


def new(opts: NewOptions | dict, directory: Path | None, templates: str | None = None,
        force: bool = False) -> NewResult:
    """`dlgen new`: validate the options, render the bundle, write it to ``directory`` (None: only render)."""
    from dlgen import spec as spec_mod

    options = NewOptions.of(opts)
    if options.app and not options.name and directory is not None:  # named after the project
        from dlgen import names

        options = replace(options, name=names.derive(Path(directory).resolve().name))
    spec = spec_mod.build(options)
    # A user's project: their app (--app), or a dev container on a folder that holds their code.
    project = Path(directory) if directory is not None and (
        spec.user_app or (spec.kind == "dev" and is_project(Path(directory)))) else None
    files = render(spec, options.command_line(), templates, project=project)
    appends: dict[str, str] = {}
    notes: list[str] = []
    if project is not None:
        ignore = project / ".dockerignore"
        from dlgen import ownership

        ownership.check_paths([".dockerignore"], project)
        theirs = ""
        if ignore.exists() and ownership.whose(project, ".dockerignore", ownership.read_manifest(project)) != "dlgen":
            raw = ignore.read_bytes()
            try:
                theirs = raw.decode("utf-8")
            except UnicodeDecodeError:
                theirs = raw.decode("latin-1")   # the patterns are read; the file's bytes stay as they are
            files.pop(".dockerignore")
        needed = [rel for rel in files if rel.startswith(f"{spec.app_dirs[0]}/") or rel.startswith("requirements")]
        merged = dockerignore.merge(project, theirs, needed)
        notes = merged.notes()
        if ".dockerignore" in files:
            files[".dockerignore"] = files[".dockerignore"] + "".join(f"{line}\n" for line in merged.added
                                                                      if line.startswith("!"))
        elif merged.added:
            appends[".dockerignore"] = (f"# added by dlgen {__version__}: credentials, caches and outputs out of the "
                                        "build context (your rules above are kept)\n"
                                        + "".join(f"{line}\n" for line in merged.added))
        notes += ours_beside(project, dlgen_requirements(spec, True))[1]
    written = write(files, directory, force=force, appends=appends, plan=plan(spec)) if directory is not None else []
    result = NewResult(spec, files, written)
    result.notes = notes
    return result
