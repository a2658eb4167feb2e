"""The image: Dockerfile, .dockerignore, requirements, dlgen's own app files and, for servers whose
image has no Python for the download, Dockerfile.fetch.

The Dockerfile's HEALTHCHECK carries the start period (``retime`` rewrites it and the comment above
it after a measurement); the requirements are installed with uv on a cache mount, the base image's
torch pinned so nothing replaces it.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from dlgen import dockerignore, reference, timing
from dlgen.errors import DlgenError
from dlgen.spec import DeploySpec
from dlgen.targets import Retime, Target, register

# Pinned Python dependencies of the generated app per model task; torch (and torchvision)
# come with the pytorch/pytorch base image.
TASK_REQUIREMENTS = {
    "llm": ["transformers==4.57.1", "accelerate==1.10.1"],
    "embedding": ["transformers==4.57.1", "accelerate==1.10.1"],  # device_map needs accelerate
    "custom": ["transformers==4.57.1", "accelerate==1.10.1"],     # model.py's AutoModel fallback
    "speech": ["transformers==4.57.1", "accelerate==1.10.1"],
    "diffusion": ["diffusers==0.35.2", "transformers==4.57.1", "accelerate==1.10.1"],
}
# The fetch image (Dockerfile.fetch) for servers whose image has no Python for app/fetch.py: the
# huggingface_hub release that transformers 4.57.1 (the python images) installs.
FETCH_PIP = ["huggingface_hub==0.36.2"]
# In a user's project dlgen's own wrapper and fetch declare the ranges they work with, not pins, so
# that the project's own pins win (dlgen_app/serve.py: uvicorn's Config/Server API, lifespan and
# WSGIMiddleware, all in 0.29; fetch.py: snapshot_download/hf_hub_download as in 0.30).
PROJECT_FETCH_PIP = ["huggingface_hub>=0.30,<2"]
# uv installs the Python requirements of every generated image: a pinned `pip install uv==X` layer
# brings it (no container registry pull, and it works in any image that has pip, conda's included),
# and its cache lives in a BuildKit cache mount, so a changed requirement reuses every wheel already
# downloaded and no cache lands in a layer. Source: uv docs, "Using uv in Docker" (cache mounts,
# UV_LINK_MODE=copy across file systems; UV_NATIVE_TLS / SSL_CERT_FILE for a company CA).
UV_VERSION = "0.13.9"
UV_CACHE = "/root/.cache/uv"


def install_run(requirement_files: list[str], pip_source_args: str = "", constraints: bool = True,
                packages: list[str] | None = None) -> str:
    """The RUN that installs requirements with uv: the base image's torch (and torchvision,
    torchaudio) pinned to what it has, so uv never replaces it; the system trust store (and pip's
    PIP_CERT, where a build sets one) for TLS behind a company proxy; the cache on a cache mount."""
    what = " ".join([*(f"-r {f}" for f in requirement_files), *(packages or [])])
    lines = [f"RUN --mount=type=cache,target={UV_CACHE} \\"]
    if constraints:
        lines.append("    pip list --format=freeze > /tmp/installed.txt; "
                     "grep -iE '^(torch|torchvision|torchaudio)==' /tmp/installed.txt > /tmp/constraints.txt; \\")
    lines.append("    UV_NATIVE_TLS=1 UV_LINK_MODE=copy env ${PIP_CERT:+SSL_CERT_FILE=$PIP_CERT} \\")
    lines.append(f"    uv pip install --system{pip_source_args}{' -c /tmp/constraints.txt' if constraints else ''} "
                 f"{what}")
    return "\n".join(lines)



# LoRA adapters (a training bundle whose model only fits that way): Hugging Face PEFT.
PEFT_PIP = "peft==0.17.1"


def requirements(spec: DeploySpec) -> list[str]:
    reqs = list(spec.pip)
    if spec.training and spec.training.strategy == "lora":
        reqs.append(PEFT_PIP)
    if spec.preset.get("task_requirements") and spec.model.task in TASK_REQUIREMENTS:
        for r in TASK_REQUIREMENTS[spec.model.task]:
            if r not in reqs:
                reqs.append(r)
    return reqs


def project_requirements(project: Path) -> dict:
    """What the user's project installs: {"file": "requirements.txt"}, or the dependencies of its
    pyproject.toml ({"pyproject": [...]}), or nothing."""
    if (project / "requirements.txt").is_file():
        return {"file": "requirements.txt"}
    if (project / "pyproject.toml").is_file():
        import tomllib

        try:
            data = tomllib.loads((project / "pyproject.toml").read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DlgenError(f"{project / 'pyproject.toml'}: {exc}", "fix pyproject.toml, or add a requirements.txt") \
                from None
        deps = [str(d) for d in (data.get("project") or {}).get("dependencies") or []]
        if any(not isinstance(d, str) or "\n" in d for d in deps):
            raise DlgenError(f"{project / 'pyproject.toml'}: [project] dependencies is not a list of strings",
                             "fix pyproject.toml")
        return {"pyproject": deps}
    return {}


def _user_requirement_lines(project: Path) -> list[tuple[str, str]]:
    """(file, requirement) for each requirement the project names (requirements.txt or pyproject)."""
    found = project_requirements(project)
    if "pyproject" in found:
        return [("pyproject.toml", r) for r in found["pyproject"]]
    if "file" in found:
        try:
            text = (project / found["file"]).read_text(errors="replace")
        except OSError:
            return []
        lines = [ln.split(" #")[0].strip() for ln in text.splitlines()]
        return [(found["file"], ln) for ln in lines if ln and not ln.startswith(("#", "-"))]
    return []


def dlgen_requirements(spec: DeploySpec, in_project: bool) -> list[str]:
    """What dlgen's own code in the image needs installed (in a project: ranges, not pins)."""
    return [*requirements(spec), *(PROJECT_FETCH_PIP if in_project and spec.fetch_run_spec() else [])]


def ours_beside(project: Path | None, ours: list[str]) -> tuple[list[str], list[str]]:
    """dlgen's requirements less those the project names itself (the user's pin wins), and one note
    for each of the user's pins that lies outside the range dlgen's code works with."""
    if project is None:
        return ours, []
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    theirs: dict[str, tuple[str, Requirement]] = {}
    for where, line in _user_requirement_lines(project):
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        theirs[canonicalize_name(req.name)] = (where, req)
    kept, notes = [], []
    for text in ours:
        mine = Requirement(text)
        found = theirs.get(canonicalize_name(mine.name))
        if found is None:
            kept.append(text)
            continue
        where, req = found
        pins = [s.version for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
        if pins and not all(mine.specifier.contains(v, prereleases=True) for v in pins):
            notes.append(f"your {where} pins {req}; dlgen's wrapper works with {mine}: your pin is installed, "
                         f"and the wrapper may not start with it (a version in {mine.specifier} would)")
    return kept, notes


def entrypoint_and_command(spec: DeploySpec) -> tuple[list[str] | None, list[str]]:
    """The preset's entrypoint and command (servers.yaml) with {python}, {port}, {model}, {dtype} and
    {gpus} (the bundle's GPU count) filled in."""
    if "command" not in spec.preset:
        raise DlgenError(f"no command known for server {spec.server!r}", "add command: to its servers.yaml entry")
    ep = spec.preset.get("entrypoint")
    return (spec.fill(ep) if ep else None), [*spec.fill(spec.preset["command"]), *spec.server_args()]


def app_files(spec: DeploySpec) -> dict[str, str]:
    """dlgen's own files in the bundle (path -> template): the preset's app, the probe, the fetch."""
    app: dict[str, str] = dict(spec.preset.get("app") or {})
    bundle_dir, image_dir = spec.app_dirs
    if spec.probe.tool in ("python", "heartbeat"):
        app[f"{bundle_dir}/probe.py"] = "app/probe.py.j2"
    fetch = spec.fetch_run_spec()
    if fetch and spec.fetch_image:  # the fetch image's copy stays out of the server's image
        app["fetch/fetch.py"] = "app/fetch.py.j2"
    elif fetch and f"{image_dir}/fetch.py" in fetch.full_command():
        app[f"{bundle_dir}/fetch.py"] = "app/fetch.py.j2"
    return app


def has_requirements(spec: DeploySpec) -> bool:
    """Whether the image installs Python requirements of the bundle (dlgen's torch and python images)."""
    return spec.preset["image"] in ("torch", "python")


def _context(spec: DeploySpec, ctx: dict) -> dict[str, Any]:
    project: Path | None = ctx["project"]
    in_project = project is not None   # the user's project: their README and requirements stay theirs
    requirements_file = "requirements-dlgen.txt" if in_project else "requirements.txt"
    user_requirements = project_requirements(project) if project is not None else {}
    pip_cuda_comment = "".join(f"# {part}\n" for line in spec.pip_source_cuda_notes
                               for part in textwrap.wrap(line, 96, break_long_words=False))
    if pip_cuda_comment:
        pip_cuda_comment += "# dlgen: ignore=DLG021\n"
    bundle_dir, image_dir = spec.app_dirs
    entrypoint, command = entrypoint_and_command(spec)
    health = spec.health()
    return {
        "entrypoint": entrypoint, "command": command, "has_requirements": has_requirements(spec),
        "has_app": any(p.startswith(f"{bundle_dir}/") for p in app_files(spec)),   # what the server's image gets
        "app_bundle_dir": bundle_dir, "app_image_dir": image_dir,
        "user_requirements": user_requirements, "requirements_file": requirements_file,
        "pip_cuda_comment": pip_cuda_comment,
        "requirements": [*ours_beside(project, dlgen_requirements(spec, in_project))[0],
                         *user_requirements.get("pyproject", [])],
        "fetch_base": reference.servers()["python_image"], "fetch_pip": FETCH_PIP, "uv_version": UV_VERSION,
        "install_project": install_run([f"/tmp/requirements/{requirements_file}",
                                        *([f"/tmp/requirements/{user_requirements['file']}"]
                                          if user_requirements.get("file") else [])], spec.pip_source_args),
        "install_requirements": install_run(["/app/requirements.txt"], spec.pip_source_args,
                                            constraints=spec.preset["image"] == "torch"),
        "install_fetch": install_run([], constraints=False, packages=FETCH_PIP),
        "healthcheck": health.dockerfile(multiline=True) if health else "",
        "dockerignore": dockerignore.render(project=in_project).rstrip("\n"),
    }


def _files(spec: DeploySpec, ctx: dict) -> dict[str, str]:
    files = {"Dockerfile": "Dockerfile.j2", ".dockerignore": "dockerignore.j2",
             **({"Dockerfile.fetch": "Dockerfile.fetch.j2"} if spec.fetch_image else {})}
    if ctx["has_requirements"]:
        files[ctx["requirements_file"]] = "requirements.txt.j2"
    files.update(app_files(spec))
    return files


# ------------------------------------------------------------------------------ measured timings
MEASURED_MARK = "measured on"


def current_start_period(text: str) -> tuple[int | None, bool]:
    """(the HEALTHCHECK's --start-period in a Dockerfile's text, whether it came from a measurement)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"^HEALTHCHECK\b.*?--start-period=(\S+)", line)
        if m:
            value = timing.parse_duration(m.group(1).strip())
            above = "\n".join(lines[max(0, i - 3):i])
            return (int(value) if value is not None else None), MEASURED_MARK in above
    return None, False


def retime(path: str, text: str, r: Retime) -> str:
    """HEALTHCHECK --start-period and the comment above it that says where the number comes from."""
    if path != "Dockerfile":
        return text
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith("# Start period = "):
            line = f"# Start period = {r.start_period_s} s: {r.load_s:.1f} s load x margin {r.margin:g}, {r.where} " \
                   "(dlgen verify --write-timings).\n"
        elif line.startswith("HEALTHCHECK") and "--start-period=" in line:
            line = re.sub(r"--start-period=\S+", f"--start-period={r.start_period_s}s", line, count=1)
        out.append(line)
    return "".join(out)


TARGET = register(Target(key="image", title="the image: docker build (Dockerfile, requirements, app)",
                         files=_files, context=_context, retime=retime,
                         owns=("Dockerfile", ".dockerignore", "Dockerfile.fetch", "requirements.txt",
                               "requirements-dlgen.txt")))
