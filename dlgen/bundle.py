"""Render a DeploySpec into a bundle (Dockerfile, .dockerignore, run.sh, compose.yaml, k8s.yaml,
README.md and, for dlgen's own servers, the app) and write it atomically."""

from __future__ import annotations

import io
import json
import math
import os
import posixpath
import re
import shlex
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

from dlgen import __version__, dockerignore, reference, textfile, timing, units
from dlgen.errors import DlgenError
from dlgen.spec import APP_UID, APP_USER, HEARTBEAT_FILE, HF_HOME, DeploySpec
from dlgen.units import k8s_quantity

# Pinned Python dependencies of the generated app per model task; torch (and torchvision)
# come with the pytorch/pytorch base image.
TASK_REQUIREMENTS = {
    "llm": ["transformers==4.57.1", "accelerate==1.10.1"],
    "embedding": ["transformers==4.57.1", "accelerate==1.10.1"],  # device_map needs accelerate
    "custom": ["transformers==4.57.1", "accelerate==1.10.1"],     # model.py's AutoModel fallback
    "speech": ["transformers==4.57.1", "accelerate==1.10.1"],
    "diffusion": ["diffusers==0.35.2", "transformers==4.57.1", "accelerate==1.10.1"],
}
EXECUTABLE = {"run.sh"}
# The weight claim: the weights x 1.25 (a revision next to the current one while it downloads,
# tokenizer and config files) plus 5 GiB for compile caches.
PVC_MARGIN = 1.25
PVC_EXTRA_GI = 5
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


# The fetch init container streams the download to disk; huggingface_hub holds chunks of at most
# a few hundred MB in memory.
FETCH_MEMORY_REQUEST = "256Mi"
FETCH_MEMORY_LIMIT = "2Gi"
CHECKPOINTS = "/checkpoints"
# Pod Security Standard "restricted" (kubernetes.io/docs/concepts/security/pod-security-standards):
# non-root with a non-zero uid, the runtime's default seccomp profile, no privilege escalation, no
# capabilities. GPUs need none of these: the device plugin injects the devices. fsGroup makes
# the claims writable by that uid.
RESTRICTED_POD = {"runAsNonRoot": True, "runAsUser": APP_UID, "runAsGroup": APP_UID, "fsGroup": APP_UID,
                  "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER = {"runAsNonRoot": True, "runAsUser": APP_UID, "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


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


# Words that YAML 1.1 readers (kubectl's and compose's Go parsers, PyYAML) take for a boolean or
# null: written quoted, so a name "on" or "no" stays a string for every reader (YAML 1.1 spec,
# "Boolean Language-Independent Type").
YAML_1_1_WORDS = re.compile(r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
                            r"|null|Null|NULL|~")


def _str_for_yaml_1_1(representer, data):
    if YAML_1_1_WORDS.fullmatch(data):
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return representer.represent_str(data)


def to_yaml(obj) -> str:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.ignore_aliases = lambda *_: True
    yaml.representer.add_representer(str, _str_for_yaml_1_1)
    buf = io.StringIO()
    yaml.dump(obj, buf)
    return buf.getvalue()


# ------------------------------------------------------------------------ compose / k8s data
def compose_document(spec: DeploySpec) -> dict:
    run = spec.run_spec()
    svc = run.compose_service()
    svc = {"build": {"context": ".", "dockerfile": "Dockerfile"}, **svc}
    health = spec.health()
    if health:  # restate the image's check so compose and Swarm agree with it
        svc["healthcheck"] = health.compose()
    if "ports" in svc:  # quoted: YAML 1.1 readers take 8000:8000 for a base-60 number
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString

        svc["ports"] = [DoubleQuotedScalarString(p) for p in svc["ports"]]
    doc: dict = {"services": {spec.name: svc}}
    fetch = spec.fetch_run_spec()
    if fetch:  # a one-shot service the server waits for: the download is not on the health clock
        one_shot = fetch.compose_service()
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Quoted

        build = {"context": ".", "dockerfile": "Dockerfile.fetch"} if spec.fetch_image else svc["build"]
        doc["services"] = {fetch_name(spec): {"build": build, **one_shot, "restart": Quoted("no")},
                           spec.name: {**svc, "depends_on": {fetch_name(spec): {
                               "condition": "service_completed_successfully"}}}}
    doc.update(_named_volumes(spec, run))
    return doc


def _named_volumes(spec: DeploySpec, run) -> dict:
    """compose's and a stack's top-level ``volumes``: the bundle's own keep their names (no project or
    stack prefix), so run.sh, compose and the stack use the same ones."""
    named = sorted({v.source for v in run.volumes if v.kind == "volume"})
    return {"volumes": {n: ({"name": n} if n.startswith(f"{spec.name}-") else {}) for n in named}} if named else {}


def cpu_override(spec: DeploySpec, compose: dict) -> dict | None:
    """What compose.cpu.yaml changes (over ``compose``, the bundle's compose document) so the bundle
    runs on a machine without a GPU: for bundles that ask for GPUs and run dlgen's own code on a
    torch image (vLLM, TGI and the like have no CPU path); None for the others."""
    if not spec.gpu_count or spec.kind not in ("serve", "train") or spec.preset["image"] not in ("torch", "python"):
        return None
    ulimits = dict(spec.run_spec().ulimits)
    memlock = "memlock" in ulimits
    kept = {k: v for k, v in ulimits.items() if k != "memlock"}
    return {"services": list(compose["services"]), "memlock": memlock,
            "ulimits": ("!override " + json.dumps(kept)) if kept else "!reset {}"}


def fetch_name(spec: DeploySpec) -> str:
    """The fetch phase's compose service and container name."""
    return f"{spec.name}-fetch"


# Swarm names GPUs as a generic resource of this kind (the node's daemon.json lists them as
# node-generic-resources; NVIDIA Container Toolkit's swarm-resource setting, docs.docker.com
# "docker service create --generic-resource").
SWARM_GPU_KIND = "NVIDIA-GPU"
# /dev/shm for a kind that asks for the host IPC namespace, which services cannot have.
SWARM_IPC_HOST_SHM = "8g"


def stack_document(spec: DeploySpec) -> dict:
    """The service for `docker stack deploy`: only keys Swarm honours. GPUs as a generic resource,
    /dev/shm as a tmpfs mount, the health check with a start period that also covers the download
    (a stack cannot run a fetch phase first), rollback on a failed update."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Quoted

    run = spec.run_spec()
    svc: dict = {"image": run.image}
    env = [k if v is None else f"{k}={v}" for k, v in run.env.items() if k != "HF_HUB_OFFLINE"]
    if env:
        svc["environment"] = env
    if run.user:
        svc["user"] = run.user
    if run.ports and spec.publish_all:  # the routing mesh publishes on every interface of every node
        svc["ports"] = [{"target": p.container, "published": p.host or p.container, "protocol": p.protocol,
                         "mode": "ingress"} for p in run.ports]
    # Without --publish-all nothing is published: Swarm cannot bind a port to 127.0.0.1 (ingress and
    # host mode both listen on every interface), so the loopback-only default of run.sh and compose
    # becomes "reachable on the stack's network only"; the header says how to open it.
    # a bind source must exist on whichever node runs the task: the bundle's own folders
    # (./notebooks, ./runs) become named volumes there
    binds = {v.source: v.source.strip("./").replace("/", "-") for v in run.volumes
             if v.kind == "bind" and v.source.startswith("./")}
    run = replace(run, volumes=[replace(v, source=binds[v.source], kind="volume") if v.source in binds else v
                                for v in run.volumes])
    volumes: list = [Quoted(v.render()) if v.kind == "volume" else v.render() for v in run.volumes]
    shm = spec.shm_size or (SWARM_IPC_HOST_SHM if spec.ipc == "host" else None)
    if shm:  # services have no shm_size or ipc: a tmpfs at /dev/shm of the same size
        volumes.append({"type": "tmpfs", "target": "/dev/shm", "tmpfs": {"size": int(units.size_bytes(shm) or 0)}})
    if volumes:
        svc["volumes"] = volumes
    if run.ulimits:
        svc["ulimits"] = run.compose_service()["ulimits"]
    health = spec.health()
    if health:
        svc["healthcheck"] = replace(health, start_period=spec.stack_start_period_s).compose()
    policy = spec.restart or "no"
    name, _, count = policy.partition(":")
    deploy: dict = {"replicas": 1, "restart_policy": {"condition": {"no": "none", "on-failure": "on-failure"}
                                                      .get(name, "any")}}
    if count:
        deploy["restart_policy"]["max_attempts"] = int(count)
    if spec.kind != "train":  # a failed update (tasks unhealthy within the monitor window) rolls back
        # a task whose probe always fails turns unhealthy after the start period plus `retries`
        # intervals: the monitor window covers that, so such an update is rolled back
        t = spec.timing
        monitor = f"{timing.stack_monitor_s(spec.stack_start_period_s, t.retries, t.interval_s)}s"
        deploy["update_config"] = {"parallelism": 1, "order": "stop-first", "failure_action": "rollback",
                                   "monitor": monitor}
        deploy["rollback_config"] = {"parallelism": 1, "order": "stop-first", "monitor": monitor}
    if spec.gpu_count:
        deploy["resources"] = {"reservations": {"generic_resources": [
            {"discrete_resource_spec": {"kind": SWARM_GPU_KIND, "value": spec.gpu_count}}]}}
    svc["deploy"] = deploy
    svc["stop_grace_period"] = "30s"
    doc: dict = {"services": {spec.name: svc}}
    doc.update(_named_volumes(spec, run))
    return doc


def _http_get(path: str, port: int) -> dict:
    return {"httpGet": {"path": path, "port": port}}


def k8s_documents(spec: DeploySpec) -> list[dict]:
    """The workload (Deployment, Job or Pod), its Service, and the claim that keeps the weights."""
    docs = _k8s_workload(spec)
    if any(v.kind == "volume" and (v.target in spec.cache_paths or v.target == CHECKPOINTS) for v in spec.volumes):
        docs.append(cache_claim(spec))
    return docs


def cache_claim(spec: DeploySpec) -> dict:
    """A PersistentVolumeClaim sized for the weights plus margin; the cluster's default storage class
    (set spec.storageClassName to choose one)."""
    size_gi = math.ceil(spec.model.weights_gb * PVC_MARGIN / 1.073741824) + PVC_EXTRA_GI
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{spec.name}-cache", "labels": {"app.kubernetes.io/name": spec.name,
                                                                   "app.kubernetes.io/managed-by": "dlgen"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{size_gi}Gi"}}}}


def _k8s_workload(spec: DeploySpec) -> list[dict]:
    container: dict = {"name": spec.name, "image": f"{spec.name}:latest", "imagePullPolicy": "IfNotPresent"}
    if spec.kind == "dev":
        container.update({"command": ["bash"], "stdin": True, "tty": True, "workingDir": "/app"})
    if spec.port and spec.kind != "dev":
        container["ports"] = [{"containerPort": p, "name": f"p{p}"} for p in [spec.port, *spec.extra_ports]]
    env: list[dict[str, object]] = []
    for name, value in spec.env.items():
        if value is not None:  # a plain setting (DLGEN_GPUS); names without a value are secrets
            env.append({"name": name, "value": value})
            continue
        secret = {"HF_TOKEN": "hf-token", "JUPYTER_TOKEN": "jupyter-token"}.get(name, name.lower().replace("_", "-"))
        env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": "token", "optional":
                                                                 name != "JUPYTER_TOKEN"}}})
    if env:
        container["env"] = env
    limits: dict = {}
    if spec.gpu_count:  # limits alone: request = limit (Kubernetes "Schedule GPUs")
        limits["nvidia.com/gpu"] = spec.gpu_count
    if limits:
        container["resources"] = {"limits": limits}
    mounts: list[dict[str, object]] = [{"name": "dshm", "mountPath": "/dev/shm"}]
    volumes: list[dict] = [{"name": "dshm", "emptyDir": {"medium": "Memory",
                                                          "sizeLimit": k8s_quantity(spec.shm_size, "8Gi")}}]
    cache_mounts: list[dict[str, object]] = []
    for v in spec.volumes:
        if v.kind == "volume" and v.target in spec.cache_paths:  # weights and caches: on the claim
            cache_mounts.append({"name": "cache", "mountPath": v.target, "subPath": posixpath.basename(v.target)})
            continue
        if v.kind == "volume" and v.target == CHECKPOINTS:  # a retried pod resumes from them
            mounts.append({"name": "cache", "mountPath": v.target, "subPath": "checkpoints"})
            continue
        if spec.model_path and v.target == spec.preset.get("model_dir"):  # the user's model files
            mounts.append({"name": "models", "mountPath": v.target, "readOnly": True})
            volumes.append({"name": "models", "persistentVolumeClaim": {"claimName": f"{spec.name}-models",
                                                                         "readOnly": True}})
            continue
        vname = "workspace" if v.source == "." else v.source.strip("./").replace("_", "-") or "data"
        mount: dict[str, object] = {"name": vname, "mountPath": v.target}
        if v.mode == "ro":
            mount["readOnly"] = True
        mounts.append(mount)
        volumes.append({"name": vname, "emptyDir": {}})
    if cache_mounts or any(m["name"] == "cache" for m in mounts):
        mounts += cache_mounts
        volumes.append({"name": "cache", "persistentVolumeClaim": {"claimName": f"{spec.name}-cache"}})
    container["volumeMounts"] = mounts
    health = spec.health()
    if health:
        if spec.probe.tool == "heartbeat":
            container.update(health.k8s_probes())
        else:
            assert spec.port is not None, "an HTTP probe has a port"
            ready = spec.preset["readiness"]
            live = spec.preset["liveness"] or ready
            container.update(health.k8s_probes(_http_get(ready, spec.port), _http_get(live, spec.port)))
    container["securityContext"] = dict(RESTRICTED_CONTAINER)
    if not spec.user and not any(e["name"] == "HOME" for e in container.get("env", [])):
        # an image made to run as root, run as APP_UID here: give it a writable home (once)
        container.setdefault("env", []).append({"name": "HOME", "value": "/tmp"})
    labels = {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/managed-by": "dlgen"}
    pod_spec: dict = {"securityContext": dict(RESTRICTED_POD), "containers": [container], "volumes": volumes,
                      "terminationGracePeriodSeconds": 30}
    fetch = spec.fetch_run_spec()
    if fetch and cache_mounts:
        init: dict = {"name": "fetch", "image": spec.fetch_image or container["image"],
                      "imagePullPolicy": "IfNotPresent",
                      "command": fetch.full_command(),
                      "env": [e for e in env if e["name"] == "HF_TOKEN"]
                      + [{"name": k, "value": v} for k, v in fetch.env.items() if v is not None],
                      "volumeMounts": cache_mounts,
                      # the download streams to disk: a small, fixed memory limit (kserve#5326: 1 GiB
                      # was too small for an 8 GB download through an older downloader)
                      "resources": {"requests": {"memory": FETCH_MEMORY_REQUEST},
                                    "limits": {"memory": FETCH_MEMORY_LIMIT}}}
        init["securityContext"] = dict(RESTRICTED_CONTAINER)
        if not spec.user and not spec.fetch_image:
            init["env"].append({"name": "HOME", "value": "/tmp"})
        pod_spec["initContainers"] = [init]
    meta = {"name": spec.name, "labels": labels}
    if spec.kind == "train":
        pod_spec["restartPolicy"] = "Never"
        backoff = int((spec.restart or "on-failure:3").partition(":")[2] or 3)
        return [{"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                 "spec": {"backoffLimit": backoff, "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}]
    if spec.kind == "dev":
        pod_spec["restartPolicy"] = "Never"
        return [{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                  "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                           "selector": {"matchLabels": {"app.kubernetes.io/name": spec.name}},
                           "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}
    docs: list[dict] = [deployment]
    if spec.port:
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": meta,
                     "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": spec.name},
                              "ports": [{"name": f"p{p}", "port": p, "targetPort": p}
                                        for p in [spec.port, *spec.extra_ports]]}})
    return docs


# ------------------------------------------------------------------------ commands per preset


def entrypoint_and_command(spec: DeploySpec) -> tuple[list[str] | None, list[str]]:
    """The preset's entrypoint and command (servers.yaml) with {python}, {port}, {model}, {dtype} and
    {gpus} (the bundle's GPU count) filled in."""
    if "command" not in spec.preset:
        raise DlgenError(f"no command known for server {spec.server!r}", "add command: to its servers.yaml entry")
    ep = spec.preset.get("entrypoint")
    return (spec.fill(ep) if ep else None), spec.fill(spec.preset["command"])


def gpu_use(spec: DeploySpec) -> str:
    """How the bundle's server uses its GPUs, in words for the README."""
    if not spec.gpu_plan:
        return ""
    n, par = spec.gpu_count, spec.preset.get("parallel") or {}
    flags = par.get("flags") or []
    if flags:
        return f"{spec.server} is told the same count (`{flags[0]} {n}`)"
    if "DLGEN_GPUS" in spec.env:
        return (f"the server places the model over them with `device_map=\"auto\"` (DLGEN_GPUS={n})" if n > 1
                else "the server puts the model on that GPU")
    if par.get("split") == "layers":
        return f"{spec.server} spreads the model's layers over every GPU it sees"
    return "your code sees exactly those GPUs"


def requirements(spec: DeploySpec) -> list[str]:
    reqs = list(spec.pip)
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


PROJECT_MARKERS = (".git", "requirements.txt", "pyproject.toml", "setup.py", "setup.cfg")


def is_project(directory: Path) -> bool:
    """A folder that holds someone's code (not an empty or a dlgen-made one): dlgen writes beside
    its files, never over them."""
    return directory.is_dir() and (any((directory / m).exists() for m in PROJECT_MARKERS)
                                   or any(directory.glob("*.py")))


def render(spec: DeploySpec, command_line: str, templates: str | None = None,
           project: Path | None = None) -> dict[str, str]:
    """All files of the bundle, path -> text. Same input, same bytes."""
    env = environment(templates)
    entrypoint, command = entrypoint_and_command(spec)
    has_requirements = spec.preset["image"] in ("torch", "python")
    in_project = project is not None   # the user's project: their README and requirements stay theirs
    requirements_file = "requirements-dlgen.txt" if in_project else "requirements.txt"
    user_requirements = project_requirements(project) if project is not None else {}
    pip_cuda_comment = "".join(f"# {part}\n" for line in spec.pip_source_cuda_notes
                               for part in textwrap.wrap(line, 96, break_long_words=False))
    if pip_cuda_comment:
        pip_cuda_comment += "# dlgen: ignore=DLG021\n"
    app: dict[str, str] = dict(spec.preset.get("app") or {})
    bundle_dir, image_dir = spec.app_dirs
    if spec.probe.tool in ("python", "heartbeat"):
        app[f"{bundle_dir}/probe.py"] = "app/probe.py.j2"
    fetch = spec.fetch_run_spec()
    if fetch and spec.fetch_image:  # the fetch image's copy stays out of the server's image
        app["fetch/fetch.py"] = "app/fetch.py.j2"
    elif fetch and f"{image_dir}/fetch.py" in fetch.full_command():
        app[f"{bundle_dir}/fetch.py"] = "app/fetch.py.j2"
    has_app = any(p.startswith(f"{bundle_dir}/") for p in app)   # what the server's image gets
    run = spec.run_spec()
    health = spec.health()
    compose = compose_document(spec)
    ctx = {
        "spec": spec, "version": __version__, "command_line": command_line, "entrypoint": entrypoint,
        "command": command, "has_requirements": has_requirements, "has_app": has_app,
        "app_bundle_dir": bundle_dir, "app_image_dir": image_dir,
        "user_requirements": user_requirements, "requirements_file": requirements_file,
        "in_project": in_project, "pip_cuda_comment": pip_cuda_comment,
        "requirements": [*ours_beside(project, dlgen_requirements(spec, in_project))[0],
                         *user_requirements.get("pyproject", [])],
        "hf_home": HF_HOME, "app_uid": APP_UID, "heartbeat": HEARTBEAT_FILE,
        "docker_run": run.docker_run(quote_image_var="IMAGE"), "compose": compose,
        "stack": stack_document(spec) if spec.kind != "dev" else None,
        "fetch_run": fetch.docker_run(quote_image_var="FETCH_IMAGE" if spec.fetch_image else "IMAGE") if fetch else "",
        "fetch_base": reference.servers()["python_image"], "fetch_pip": FETCH_PIP, "app_user": APP_USER,
        "uv_version": UV_VERSION,
        "install_project": install_run([f"/tmp/requirements/{requirements_file}",
                                        *([f"/tmp/requirements/{user_requirements['file']}"]
                                          if user_requirements.get("file") else [])], spec.pip_source_args),
        "install_requirements": install_run(["/app/requirements.txt"], spec.pip_source_args,
                                            constraints=spec.preset["image"] == "torch"),
        "install_fetch": install_run([], constraints=False, packages=FETCH_PIP),
        "k8s": k8s_documents(spec),
        "healthcheck": health.dockerfile(multiline=True) if health else "",
        "gpu_summary": spec.gpu_plan.summary() if spec.gpu_plan else "", "gpu_use": gpu_use(spec),
        "dockerignore": dockerignore.render(project=in_project).rstrip("\n"),
        "cpu_override": cpu_override(spec, compose),
    }
    files = {
        "Dockerfile": "Dockerfile.j2",
        ".dockerignore": "dockerignore.j2",
        "run.sh": "run.sh.j2",
        "compose.yaml": "compose.yaml.j2",
        "k8s.yaml": "k8s.yaml.j2",
        **({"stack.yaml": "stack.yaml.j2"} if spec.kind != "dev" else {}),
        **({"Dockerfile.fetch": "Dockerfile.fetch.j2"} if spec.fetch_image else {}),
        **({"compose.cpu.yaml": "compose.cpu.yaml.j2"} if ctx["cpu_override"] else {}),
        "README.md": "README.md.j2",
    }
    if in_project:
        files["DEPLOY.md"] = files.pop("README.md")
    if has_requirements:
        files[requirements_file] = "requirements.txt.j2"
    files.update(app)
    out = {}
    for path, tpl in files.items():
        text = env.get_template(tpl).render(**ctx)
        out[path] = _tidy(text)
    return out


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
          appends: dict[str, str] | None = None) -> list[Path]:
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
        ownership.record(out_dir, done)
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


# `dlgen new` options in the order the "Regenerate with" line writes them.
NEW_OPTIONS = ("app", "model", "params", "dtype", "kind", "server", "torch", "cuda", "variant", "image", "model_path",
               "model_repo", "mount", "health_path", "ready_path", "port", "gpus", "gpu", "gpu_memory", "restart",
               "shm_size", "docker_version", "start_period", "disk_gbps", "margin", "net_gbps", "name", "publish_all",
               "find_links", "extra_index_url")


def canonical_command(opts: dict) -> str:
    """The `dlgen new` line that regenerates a bundle (each word shell-quoted)."""
    parts = ["dlgen", "new"]
    for key in NEW_OPTIONS:
        value = opts.get(key)
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        for one in value if isinstance(value, (list, tuple)) else [value]:
            parts += [flag] if one is True else [flag, str(one)]
    return " ".join(shlex.quote(p) for p in parts)


@dataclass
class NewResult:
    spec: DeploySpec
    files: dict[str, str]
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # what the .dockerignore keeps out, large files going in


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


def new(opts: dict, directory: Path | None, templates: str | None = None, force: bool = False) -> NewResult:
    """`dlgen new`: validate the options, render the bundle, write it to ``directory`` (None: only render)."""
    from dlgen import spec as spec_mod

    if opts.get("app") and not opts.get("name") and directory is not None:  # named after the project
        from dlgen import names

        opts = {**opts, "name": names.derive(Path(directory).resolve().name)}
    spec = spec_mod.build(**opts)
    # A user's project: their app (--app), or a dev container on a folder that holds their code.
    project = Path(directory) if directory is not None and (
        spec.user_app or (spec.kind == "dev" and is_project(Path(directory)))) else None
    files = render(spec, canonical_command(opts), templates, project=project)
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
    written = write(files, directory, force=force, appends=appends) if directory is not None else []
    result = NewResult(spec, files, written)
    result.notes = notes
    return result
