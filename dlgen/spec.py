"""DeploySpec: what is deployed. Built from `dlgen new` options, validated, then rendered."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

from dlgen import catalog, gpuplan, matrix, memory, probes, reference, timing, units
from dlgen.catalog import Model
from dlgen.errors import DlgenError
from dlgen.newoptions import NewOptions
from dlgen.runspec import Health, Port, RunSpec, Volume
from dlgen.runvalues import GpuRequest
from dlgen.timing import NET_GBPS as DEFAULT_NET_GBPS


def kinds() -> dict[str, dict]:
    """The workload kinds and what each gets by default (dlgen/data/kinds.yaml)."""
    return reference.load("kinds")["kinds"]


# NGC's recommendation for training containers (NVIDIA's PyTorch container docs run it with
# --ulimit memlock=-1 --ulimit stack=67108864).
TRAIN_ULIMITS = {"memlock": "-1", "stack": "67108864"}
HEARTBEAT_FILE = "/tmp/dlgen-heartbeat"
STOPPED_FILE = "/tmp/dlgen-stopped"   # train.py: the group stopped and saved; launch.py reads it
# How long a node whose group was stopped elsewhere waits for its own stop (train.py, README.group)
PEER_STOP_WAIT_S = 30
CHECKPOINTS = "/checkpoints"
HEARTBEAT_MAX_AGE_S = 600
HF_HOME = "/cache/huggingface"
# The fetch container's label (verify and compose find the fetch phase by it) and its timeouts:
# a stalled download fails after 60 s without data, a metadata request after 30 s, and is retried
# (huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT / HF_HUB_ETAG_TIMEOUT; KServe uses 30 s and 3 retries).
FETCH_LABEL = "ai.dlgen.phase"
FETCH_ENV = {"HF_HUB_DOWNLOAD_TIMEOUT": "60", "HF_HUB_ETAG_TIMEOUT": "30"}
TORCH_DTYPE_NAMES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
APP_USER = "app"
APP_UID = 1000
# Kinds that write into a folder of the host (notebooks, the project of a dev container) run as the
# invoking user, so what they write is theirs: run.sh sets RUN_AS to `id -u`:`id -g` (uid 1000 for
# a notebook started by root); compose and stack files read the same variable.
RUN_AS = f"${{RUN_AS:-{APP_UID}:{APP_UID}}}"
# An interactive bash ignores SIGTERM but exits on SIGHUP: a dev container stops at once on
# `docker stop` with this stop signal (bash(1), SIGNALS), under --init.
DEV_STOP_SIGNAL = "SIGHUP"

# Every option value is matched in full (fullmatch: no `$` that admits a trailing newline) and in
# ASCII: these values are rendered into shell, YAML and Dockerfiles, where U+2028, U+0085 or a
# newline would start a new line or key. First the characters any option may hold, then each
# option's own form.
_OPTION_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=,-]{0,199}", re.ASCII)
_SIZE_RE = re.compile(r"\d+(\.\d+)?[bkmg]?", re.IGNORECASE | re.ASCII)
_RESTART_RE = re.compile(r"no|always|unless-stopped|on-failure(:\d+)?", re.ASCII)
_IMAGE_RE = re.compile(r"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?"          # registry host[:port]/
                       r"[a-z0-9][a-z0-9._/-]*"                       # repository path
                       r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"       # :tag
                       r"(@sha256:[a-f0-9]{64})?", re.ASCII)          # @digest


def check_option(flag: str, value: str | None) -> None:
    """Refuse a `dlgen new` option value with characters no such value has (one line, exit 2)."""
    if value is not None and not _OPTION_TEXT.fullmatch(value):
        bad = next((c for c in value if not (c.isascii() and (c.isalnum() or c in "._:/@+=,-"))), "")
        raise DlgenError(f"invalid {flag} {value!r}: character {bad!r} (U+{ord(bad):04X}) is not allowed" if bad
                         else f"invalid {flag} {value!r}: it must start with a letter or digit and be at most "
                              "200 characters" if value else f"invalid {flag}: empty",
                         "use ASCII letters, digits and . _ : / @ + = , - only")


@dataclass
class Probe:
    tool: str                  # python | curl | wget | heartbeat | none
    argv: list[str]            # exec-form HEALTHCHECK command ([] = none)
    url: str = ""              # readiness URL (HTTP probes)
    heartbeat: str = ""
    max_age_s: int = 0


@dataclass(frozen=True)
class NodeWords:
    """How one target writes a node's own values into its command (run.sh: shell variables; a
    LeaderWorkerSet: $(LWS_WORKER_INDEX) and $(LWS_LEADER_ADDRESS))."""
    rank: str
    leader: str
    group_port: str
    is_host: str = "0"
    join_timeout_s: str = "600"
    api_host: str | None = None    # where the leader's API listens (None: as the preset says)


@dataclass(frozen=True)
class Group:
    """The group a bundle over several nodes forms (the preset's ``multinode`` entry, sized)."""
    split: str             # pipeline | heads | replicas
    port: int              # the leader's group port (rendezvous, Ray head, dist-init)
    wait_s: int            # the server's own wait for its group (torchrun's rendezvous join timeout)
    wait_env: str | None
    assembly_s: int        # the leader's wait for every node to join (0: none of its own)
    workers_serve: bool    # every node runs the same command and probe (training); else workers are headless
    source: str


@dataclass
class DeploySpec:
    name: str
    model: Model
    kind: str
    server: str
    preset: dict
    base_image: str
    facts: dict
    torch_base: matrix.TorchBase | None
    port: int | None
    extra_ports: list[int]
    probe: Probe
    timing: timing.Timing
    gpus: str | None
    restart: str | None
    shm_size: str | None
    ipc: str | None
    ulimits: dict[str, str]
    user: str | None
    docker_version: float | None
    python: str
    pip: list[str]
    init: bool
    env: dict[str, str | None] = field(default_factory=dict)
    volumes: list[Volume] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    gpu_plan: gpuplan.GpuPlan | None = None
    training: memory.TrainingFit | None = None   # how a training bundle fits its GPUs (DDP, FSDP, LoRA)
    fetch: dict | None = None     # {"entrypoint": [...], "command": [...]}: the one-off weight download
    net_gbps: float = DEFAULT_NET_GBPS
    model_path: str | None = None  # the user's model files on the host (servers that read files)
    model_files: dict | None = None  # {"repo", "file", "dir", "size_gb"}: files the fetch puts in a volume
    publish_all: bool = False      # ports on every interface instead of 127.0.0.1
    mount: str | None = None       # the dev container's project folder on the host (default: run.sh's)
    user_app: str | None = None    # MODULE:ATTR of the user's own app (dlgen new --app)
    app_paths: list[str] = field(default_factory=list)   # health paths the user's app serves itself
    pip_sources: list[tuple[str, str]] = field(default_factory=list)   # (--find-links|--extra-index-url, URL)

    @property
    def pip_source_args(self) -> str:
        """The wheel sources as pip options, quoted for a shell-form RUN ("" without any)."""
        import shlex

        return "".join(f" {opt} {shlex.quote(url)}" for opt, url in self.pip_sources)

    @property
    def pip_source_cuda_notes(self) -> list[str]:
        """One line per wheel source whose CUDA minor differs from the base image's."""
        cuda = matrix.image_cuda(self.base_image)
        return [f"{opt} {url} has wheels for CUDA {c.wheel} on this CUDA {c.base} base: CUDA's minor-version "
                "compatibility runs them on the newer runtime" for opt, url in self.pip_sources
                for c in (matrix.wheel_cuda_clashes(f"{opt} {url}", cuda) if cuda else [])]

    @property
    def app_dirs(self) -> tuple[str, str]:
        """(folder in the bundle, folder in the image) of dlgen's own app files."""
        d = self.preset.get("app_dir") or {}
        return d.get("bundle", "app"), d.get("image", "/app")

    @property
    def stack_start_period_s(self) -> int:
        """The start period where the download cannot come first (a Swarm stack): load plus download
        (model files for a server that cannot download them are put on the nodes before the deploy)."""
        t = self.timing
        return timing.with_download(t.start_period_s, t.load_s, self.stack_download_s, t.margin)

    @property
    def stack_download_s(self) -> float:
        """The download a stack's first start does itself (0: none, or done before the deploy)."""
        return 0.0 if not self.fetch or self.model_files else self.download_s

    @property
    def download_s(self) -> float:
        """Estimated duration of the fetch phase at ``net_gbps`` (off the health clock)."""
        size = (self.model_files or {}).get("size_gb") or self.model.weights_gb
        return timing.download_seconds(size, self.net_gbps)

    @property
    def fetch_image(self) -> str | None:
        """The small image the fetch runs in where the server's image has no Python for it, else None."""
        return f"{self.name}-fetch:latest" if self.fetch and self.fetch.get("image") == "fetch" else None

    def fill(self, words, node: NodeWords | None = None) -> list[str]:
        """A preset's command words with {python}, {port}, {model}, {dtype} and {gpus} filled in; in a group
        over several nodes also {nodes}, {name}, {assembly_s} and the words ``node`` gives the node's own
        values in (its rank, the leader's address, ...): every target names them its own way."""
        gpus = self.gpu_count or 1
        group = self.group
        if group and group.split == "heads":   # tensor parallelism over every GPU of the group
            gpus = self.gpu_plan.total if self.gpu_plan else gpus
        values = {"python": self.python, "port": str(self.port), "model": self.model_ref,
                  "dtype": TORCH_DTYPE_NAMES.get(self.model.dtype, "auto"), "gpus": str(gpus),
                  "model_file": (self.model_files or {}).get("file") or (self.model_path or "").rsplit("/", 1)[-1],
                  "nodes": str(self.nodes), "name": self.name,
                  "assembly_s": str(group.assembly_s if group else 0)}
        if node:
            values.update({"rank": node.rank, "leader": node.leader, "group_port": node.group_port,
                           "is_host": node.is_host, "join_timeout_s": node.join_timeout_s})
        return [str(w).format(**values) for w in words]

    @property
    def nodes(self) -> int:
        return self.gpu_plan.nodes if self.gpu_plan else 1

    @property
    def group(self) -> Group | None:
        """How the nodes form one group (None: one host)."""
        mn = self.preset.get("multinode")
        if self.nodes < 2 or not mn:
            return None
        # A node still downloading is not waited for here: its fetch comes before its container (Docker)
        # or is an init container, a Pending pod, which the group's restart policy waits for (k8s.yaml).
        return Group(split=mn["split"], port=int(mn["port"]), wait_s=int(mn["wait_s"]), wait_env=mn.get("wait_env"),
                     assembly_s=int(mn.get("assembly_s") or 0), workers_serve=mn["split"] == "replicas",
                     source=mn["source"])

    def node_commands(self, node: NodeWords) -> dict[str, tuple[list[str], list[str]]]:
        """role -> (entrypoint, command) of a group's nodes: {"node": ...} where every node runs the same
        command (its rank and address filled in), else {"leader": ..., "worker": ...}."""
        mn = self.preset["multinode"]
        entry = self.fill(self.preset.get("entrypoint") or [], node)
        command = [*self.fill(mn.get("command") or self.preset.get("command") or [], node), *self.server_args(),
                   *self.fill(mn.get("args") or [], node)]
        if node.api_host and "--host" in command[:-1]:   # the API on the host's loopback only (host network)
            command[command.index("--host") + 1] = node.api_host
        if mn.get("leader_script"):
            script = self.fill([mn["leader_script"]], node)[0]
            leader = (["bash", "-c"], [f"{script} && exec {shlex.join(entry + command)}"])
        else:
            leader = (entry, command)
        if mn.get("worker_command"):
            worker = (self.fill(mn.get("worker_entrypoint") or [], node), self.fill(mn["worker_command"], node))
        else:
            worker = leader
        group = self.group
        if worker == leader and group and group.workers_serve:
            return {"node": leader}
        return {"leader": leader, "worker": worker}

    def worker_probe(self) -> list[str]:
        """A worker's health check: the leader's group port answers (its own process is PID 1: when it
        dies the container ends). LEADER_HOST and GROUP_PORT come from the container's environment
        (LWS_LEADER_ADDRESS under a LeaderWorkerSet)."""
        code = ("import os,socket,sys; v=[os.getenv(n) for n in sys.argv[1:]]; "
                "socket.create_connection((v[0] or v[1], int(v[2])), 5).close()")
        return [self.facts.get("python") or "python3", "-c", code, "LEADER_HOST", "LWS_LEADER_ADDRESS", "GROUP_PORT"]

    def worker_health(self) -> Health:
        """The headless worker's health check with the group's timings (the leader's start-up budget, so
        a worker is never restarted while its group may still form): run.sh's --health-* flags and the
        LeaderWorkerSet's probes are both this one value."""
        t = self.timing
        return Health(test=["CMD", *self.worker_probe()], interval=t.interval_s, timeout=t.timeout_s,
                      start_period=t.start_period_s, start_interval=t.start_interval_s, retries=t.retries)

    @property
    def model_mount(self) -> str | None:
        """Where the user's model files are mounted (--model-path, or a --model folder), else None."""
        if not self.model_path:
            return None
        return self.preset.get("model_dir") or LOCAL_MODEL_DIR

    @property
    def context_limit(self) -> int | None:
        """The context the server is limited to (its full context does not fit the KV cache), or None."""
        fit = self.gpu_plan.serving if self.gpu_plan else None
        return fit.limit if fit else None

    def server_args(self) -> list[str]:
        """Options added to the preset's command: online quantization (--dtype fp8 on a bf16
        checkpoint) and the context limit (dlgen/memory.py)."""
        args: list[str] = []
        if self.model.stored_dtype and self.model.stored_dtype != self.model.dtype:
            args += [str(w) for w in (self.preset.get("online_quant") or {}).get(self.model.dtype, [])]
        limit, ctx = self.context_limit, self.preset.get("context") or {}
        if limit is not None and ctx:
            args += [ctx["flags"][0], str(limit)]
            if ctx.get("input_flags"):
                args += [ctx["input_flags"][0], str(limit - 1)]
        return args

    def fetch_run_spec(self, image: str | None = None) -> RunSpec | None:
        """The fetch phase as a container: the bundle's image (or the server's own downloader) with the
        cache volumes, the token by name and the hub mirror passed through; None without one."""
        if not self.fetch:
            return None
        env: dict[str, str | None] = {"HF_TOKEN": None, "HF_ENDPOINT": None}
        env.update(FETCH_ENV)
        if self.model_files:  # files into the server's model folder, not the hub cache
            files = {"MODEL_REPO": self.model_files["repo"], "MODEL_FILE": self.model_files["file"],
                     "MODEL_PATTERNS": ",".join(self.model_files["patterns"]), "MODEL_DIR": self.model_files["dir"]}
            env.update({k: v for k, v in files.items() if v})
        return RunSpec(image=image or self.fetch_image or f"{self.name}:latest",
                       entrypoint=self.fill(self.fetch["entrypoint"]),
                       command=self.fill(self.fetch.get("command") or []), remove=True,
                       volumes=[v for v in self.docker_volumes()
                                if v.kind == "volume" and v.target in self.cache_paths],
                       env=env, labels={FETCH_LABEL: "fetch"}, origin="dlgen",
                       health=Health(disabled=True))   # the image's probe checks a server the fetch never runs

    @property
    def cache_paths(self) -> list[str]:
        """Where the weights (and compile caches) live in the container: on named volumes."""
        models = [self.model_files["dir"]] if self.model_files else []
        return [HF_HOME, *((self.preset.get("caches") or {}).values()), *models]

    @property
    def gpu_count(self) -> int:
        """The bundle's one GPU count (0 without GPUs): what every target requests and the server uses."""
        return self.gpu_plan.count if self.gpu_plan else 0

    @property
    def emits_start_interval(self) -> bool:
        return self.timing.start_interval_s is not None

    @property
    def generated_app(self) -> bool:
        return bool(self.preset.get("generated_app"))

    @property
    def model_ref(self) -> str:
        """What the server loads: the HF id, or the catalog name when there is none."""
        return self.model.hf_id or self.model.name

    def health(self) -> Health | None:
        if not self.probe.argv:
            return None
        t = self.timing
        return Health(test=["CMD", *self.probe.argv], interval=t.interval_s, timeout=t.timeout_s,
                      start_period=t.start_period_s, start_interval=t.start_interval_s, retries=t.retries)

    def run_spec(self, image: str | None = None) -> RunSpec:
        """How the bundle's container runs: the source of run.sh, compose.yaml, k8s.yaml and verify."""
        dev = self.kind == "dev"
        ports = []
        if self.port and not dev:
            ip = None if self.publish_all else kinds()[self.kind]["publish_ip"]
            ports = [Port(p, p, ip) for p in [self.port, *self.extra_ports]]
        return RunSpec(
            image=image or f"{self.name}:latest",
            name=None if dev else self.name,
            gpus=self.gpus,
            restart=self.restart,
            remove=dev,
            detach=not dev,
            interactive=dev,
            tty=dev,
            init=self.init or dev,
            stop_signal=DEV_STOP_SIGNAL if dev else None,
            user=RUN_AS if kinds()[self.kind]["run_as_caller"] else None,
            shm_size=self.shm_size,
            ipc=self.ipc,
            ulimits=dict(self.ulimits),
            ports=ports,
            volumes=self.docker_volumes(),
            env=dict(self.env),
            command=["bash"] if dev else [],
            origin="dlgen",
        )

    def node_run_specs(self, node: NodeWords, image: str | None = None) -> dict[str, RunSpec]:
        """role -> the container of a group's node on a Docker host: the host's network (NCCL and Gloo
        cannot form a group across hosts through a bridge), the interface variables and, on a headless
        worker, a probe of its own that dials the leader's group port."""
        base = self.run_spec(image)
        env = {**base.env, "NCCL_SOCKET_IFNAME": None, "GLOO_SOCKET_IFNAME": None, "LEADER_HOST": None,
               "GROUP_PORT": None}
        if any(v.target == HF_HOME for v in base.volumes):   # the whole command is on the line: its cache too
            env["HF_HOME"] = HF_HOME
        out: dict[str, RunSpec] = {}
        for role, (entry, command) in self.node_commands(node).items():
            run = replace(base, network="host", ports=[], env=dict(env), entrypoint=entry or None, command=command,
                          volumes=[Volume("${CHECKPOINTS}", v.target, v.mode, "bind") if v.target == CHECKPOINTS
                                   else v for v in base.volumes])   # every node writes and resumes the same
            if role == "worker":
                run.health = self.worker_health()
            out[role] = run
        return out

    def docker_volumes(self) -> list[Volume]:
        """The volumes as Docker names them: a named volume is ``<bundle name>-<volume>``, the same
        for run.sh, compose (which gives it that exact name, not its project prefix) and a stack, so
        the weights are downloaded once per host whichever way the bundle is started."""
        return [replace(v, source=f"{self.name}-{v.source}") if v.kind == "volume" and "/" not in v.source else v
                for v in self.volumes]


# The longest start period accepted: a day. Docker stores durations in int64 nanoseconds (it
# refuses ~292 years), and a start-up longer than a day is not one a health check should wait for.
MAX_START_PERIOD_S = 86400


def _validate_name(name: str) -> str:
    from dlgen import names

    return names.check(name)


def _default_name(model: Model, kind: str) -> str:
    from dlgen import names

    return names.derive(model.name.rsplit("/", 1)[-1], kind)


def gpu_request(gpus: str) -> GpuRequest:
    """--gpus, parsed once (GpuRequest's grammar): a count or device indexes, at most three digits each."""
    request = GpuRequest.parse(gpus if gpus == "all" or not re.fullmatch(r"[0-9]{1,3}(,[0-9]{1,3})+", gpus)
                               else f"device={gpus}")
    numbers = [*((str(request.count),) if request and request.count is not None else ()), *(request.ids if request
                                                                                             else ())]
    if request is None or any(not re.fullmatch(r"[0-9]{1,3}", n) for n in numbers) or request.count == 0:
        raise DlgenError(f"invalid --gpus {gpus!r}", "use all, a count (2) or device indexes (0,1)")
    return request


MIN_GPU_SHM_BYTES = 2**30
def _size_bytes(text: str) -> float:
    n = units.size_bytes(text)
    if n is None:
        raise DlgenError(f"invalid size {text!r}", "write it like 2g or 8g")
    return n


def build(options: NewOptions | dict | None = None, /, **kw) -> DeploySpec:
    """`dlgen new`'s options -> DeploySpec, as cog's config goes Parse -> Validate -> Complete:
    validate (one small check per concern), resolve (server preset, model, base image), plan
    (probe, timing, GPUs, storage and fetch). Raises DlgenError on bad input."""
    o = NewOptions.of(options, **kw)
    _validate_text(o)
    server, preset = _resolve_server(o)
    _validate_values(o)
    mdl = _with_model_file(o, _resolve_model(o), preset)
    base_image, torch_base = _resolve_base(o, server, preset)
    pip_sources = _pip_sources(list(o.find_links), list(o.extra_index_url), preset, server, base_image)
    facts = reference.image_facts(base_image) or {"curl": None, "wget": None, "python": "python", "nvcc": None,
                                                 "torch": None, "gpu": True, "source": "unknown image"}
    python_cmd = facts.get("python") or ""
    port = o.port if o.port is not None else (preset["port"] or None)
    probe = _plan_probe(preset, facts, base_image, python_cmd, port)
    _validate_quantization(mdl, preset, server)
    plan = _plan_gpus(o, mdl, preset, server, facts)
    training = _plan_training(o, mdl, plan, preset)
    # a served model is split over the group: each node reads its share; every training node loads it all
    shares = plan.nodes if plan and (preset.get("multinode") or {}).get("split") != "replicas" else 1
    tm = _plan_timing(o, mdl, preset, shares)
    env, volumes, fetch, model_files = _plan_storage(o, mdl, preset, server, python_cmd, plan)
    if training:
        env["DLGEN_TRAIN_STRATEGY"] = str(training.strategy)
    kd = kinds()[o.kind]
    ipc, shm = kd["ipc"], kd["shm_size"]
    if preset.get("ipc") or preset.get("shm_size"):   # what the server's documentation asks for
        ipc, shm = preset.get("ipc"), preset.get("shm_size")
    if o.shm_size:
        ipc, shm = None, o.shm_size
    # NCCL between worker processes: locked memory and a large stack (NVIDIA's PyTorch container
    # documentation runs with --ulimit memlock=-1 --ulimit stack=67108864)
    nccl = bool(plan and plan.count > 1 and (preset.get("parallel") or {}).get("nccl"))
    notes = []
    if mdl.source.startswith(catalog.NAME_SOURCE):   # the last resort: say what was assumed
        why = mdl.source[len(catalog.NAME_SOURCE):].strip()[1:-1]
        notes.append(f"{mdl.name}: sized as {mdl.params / 1e9:g} B parameters in {mdl.dtype} from its name "
                     f"({mdl.weights_gb:.1f} GB): its files were not read, {why}")
    if plan and plan.serving and plan.serving.limit is not None:
        notes.append(f"{mdl.name}'s full context ({mdl.context} tokens) does not fit the KV cache left on "
                     f"{plan.count} x {plan.gpu}: the server is limited to {plan.serving.limit} tokens "
                     "(more or larger GPUs give it more)")
    if torch_base and not torch_base.tags_verified:
        notes.append(f"pytorch/pytorch tags for torch {torch_base.torch} are not verified in dlgen's matrix; "
                     "check that the tag exists before building")
    made = DeploySpec(
        name=o.name or _default_name(mdl if mdl.task != "none" else Model(server, "", "", 0, "bf16", ""), o.kind),
        model=mdl, kind=o.kind, server=server, preset=preset, base_image=base_image, facts=facts,
        torch_base=torch_base, port=port if o.kind != "dev" else None,
        extra_ports=list(preset.get("extra_ports") or []), probe=probe, timing=tm,
        gpus=plan.request.docker() if plan else None,
        restart=o.restart if o.restart is not None else kd["restart"], shm_size=shm, ipc=ipc,
        ulimits=dict(TRAIN_ULIMITS) if o.kind == "train" or nccl else {},
        user=APP_USER if preset["image"] in ("torch", "python") and o.kind != "dev" else None,
        docker_version=timing.parse_docker_version(o.docker_version),
        python=python_cmd or "python", pip=list(preset.get("pip") or []),
        init=not preset.get("handles_sigterm", True), env=env, volumes=volumes, notes=notes, gpu_plan=plan,
        training=training,
        fetch=fetch, net_gbps=o.net_gbps or timing.NET_GBPS, model_path=o.model_path or local_model(o.model),
        model_files=model_files,
        publish_all=o.publish_all, mount=o.mount, user_app=o.app,
        app_paths=[p for p in (o.health_path, o.ready_path) if p], pip_sources=pip_sources,
    )
    made.notes.extend(made.pip_source_cuda_notes)
    if made.nodes > 1:
        _plan_group(o, made)
    return made


def group_start_period(preset: dict, start_period_s: int) -> int:
    """A group's start period from one node's: the leader's assembly of the group before its own
    load, never below the server's own wait for the group (the preset's ``multinode`` entry)."""
    mn = preset["multinode"]
    return timing.group_start_period(start_period_s, int(mn["wait_s"]), int(mn.get("assembly_s") or 0))


def _plan_group(o: NewOptions, made: DeploySpec) -> None:
    """A group over several nodes: the start-up budget covers the group's own clocks (assembly, the
    server's wait for its group) and never falls below that wait."""
    mn = made.group
    assert mn is not None
    period = group_start_period(made.preset, made.timing.start_period_s)
    if o.start_period is not None:
        if o.start_period < mn.wait_s:
            raise DlgenError(f"--start-period {o.start_period} is below the {mn.wait_s} s {made.server} waits for "
                             "the other nodes: a group still forming would be marked unhealthy",
                             f"give at least {mn.wait_s}, or leave it out for {period}")
        period = o.start_period
    made.timing = made.timing.with_start_period(period)
    if mn.wait_env and period > mn.wait_s:   # the server's own wait, as long as the budget
        made.env[mn.wait_env] = str(period)
    plan = made.gpu_plan
    layers = made.model.layers
    if plan and plan.pipeline > 1 and layers and layers % plan.pipeline:   # vLLM's get_pp_indices
        made.notes.append(f"{layers} layers over {plan.pipeline} pipeline stages: {made.server} gives "
                          f"{layers % plan.pipeline} of the stages one layer more than the others")
    made.notes.append(f"{made.nodes} nodes of {made.gpu_count} GPUs run {made.server} as one group: on each node "
                      "`LEADER_ADDR=HOST:PORT ./run.sh RANK` (README.md, \"Run: on every node\"), or k8s.yaml")


# ------------------------------------------------------------------------------------ validate
# Where a local checkpoint folder (--model ./path) is mounted, read-only, for a server that loads
# a Hugging Face model: the server is given this path instead of a hub id.
LOCAL_MODEL_DIR = "/models/model"


def local_model(value: str | None) -> str | None:
    """--model as a checkpoint folder on this host (absolute), or None for a name or hub id."""
    if not value or not value.startswith(("/", "./", "../", "~")):
        return None
    return os.path.abspath(os.path.expanduser(value))


def _validate_text(o: NewOptions) -> None:
    for flag, value in o.text_options():
        if flag == "--model" and local_model(value):
            _host_path("--model", str(local_model(value)))   # a folder: a path's characters, checked as one
            continue
        check_option(flag, value)
    if o.kind not in kinds():
        raise DlgenError(f"unknown kind {o.kind!r}", f"use one of {', '.join(kinds())}")
    if o.app is not None and not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_][\w.]*", o.app, re.ASCII):
        raise DlgenError(f"--app {o.app!r} is not MODULE:ATTR", "e.g. --app main:app (the object in main.py)")
    if (o.health_path or o.ready_path) and o.app is None:
        raise DlgenError("--health-path/--ready-path name your app's own endpoints", "use them with --app")
    for flag, value in (("--health-path", o.health_path), ("--ready-path", o.ready_path)):
        if value is not None and not re.fullmatch(r"/[A-Za-z0-9._~/-]{0,200}", value, re.ASCII):
            raise DlgenError(f"{flag} {value!r} is not a URL path", "write it like /healthz")
    if o.name is not None:
        _validate_name(o.name)
    if o.mount and o.kind != "dev":
        raise DlgenError(f"--mount is for the dev kind, not {o.kind}", "drop --mount, or use --kind dev")
    if o.mount:
        _host_path("--mount", o.mount)


def _validate_restart(o: NewOptions) -> None:
    if o.restart is None:
        return
    if not _RESTART_RE.fullmatch(o.restart):
        raise DlgenError(f"invalid restart policy {o.restart!r}", "use no, always, unless-stopped or on-failure[:N]")
    if o.kind == "dev" and o.restart != "no":
        raise DlgenError("the dev kind runs with --rm, which docker refuses together with --restart",
                         "drop --restart, or use --kind serve/train")


def _validate_shm(o: NewOptions) -> None:
    if o.shm_size is not None and not _SIZE_RE.fullmatch(o.shm_size):
        raise DlgenError(f"invalid --shm-size {o.shm_size!r}", "write it like 2g or 8g")
    if o.shm_size is not None and _size_bytes(o.shm_size) < MIN_GPU_SHM_BYTES:
        # DLG105: below 1 GiB, DataLoader workers and NCCL die with SIGBUS
        raise DlgenError(f"--shm-size {o.shm_size} is below 1g: PyTorch DataLoader workers die with SIGBUS "
                         "(exit 135)", "use 1g or more (8g for training), or leave it out for the kind's default")


def _validate_values(o: NewOptions) -> None:
    """Numbers and policies in their ranges (written as "not (a < x <= b)": NaN fails every
    comparison, so it is refused too)."""
    if o.port is not None and not 1 <= o.port <= 65535:
        raise DlgenError(f"invalid port {o.port}", "use a number from 1 to 65535")
    _validate_restart(o)
    _validate_shm(o)
    if o.start_period is not None and not (0 < o.start_period <= MAX_START_PERIOD_S):
        raise DlgenError(f"invalid --start-period {o.start_period}",
                         f"give a number of seconds from 1 to {MAX_START_PERIOD_S} (a day)")
    if o.net_gbps is not None and not (0 < o.net_gbps <= 1000):
        raise DlgenError(f"invalid --net-gbps {o.net_gbps}", "give a positive download speed in GB/s, e.g. 0.1")
    if o.disk_gbps is not None and not (0 < o.disk_gbps <= 1000):
        raise DlgenError(f"invalid --disk-gbps {o.disk_gbps}", "give a positive throughput in GB/s, e.g. 0.6")
    most_nodes = int(gpuplan.table()["max_nodes"])
    if o.nodes is not None and not (1 <= o.nodes <= most_nodes):
        raise DlgenError(f"invalid --nodes {o.nodes}", f"give 1 to {most_nodes}")
    if o.margin is not None and not (1 <= o.margin <= 10):
        raise DlgenError(f"invalid --margin {o.margin}", "give a factor from 1 to 10, e.g. 2")
    timing.parse_docker_version(o.docker_version)
    if o.image and not _IMAGE_RE.fullmatch(o.image):
        raise DlgenError(f"invalid --image {o.image!r}", "give an image reference like repo/name:tag")


# ------------------------------------------------------------------------------------ resolve
def _resolve_server(o: NewOptions) -> tuple[str, dict]:
    """The server preset (servers.yaml) that runs the kind: --server, --app's, or the kind's default."""
    servers = reference.servers()
    app_preset = next(n for n, p in servers["servers"].items() if p.get("user_app"))   # serves --app
    server = o.server
    if o.app is not None:
        if o.kind != "serve":
            raise DlgenError(f"--app serves an app; the {o.kind} kind runs none", "drop --kind, or drop --app")
        if server not in (None, app_preset):
            raise DlgenError(f"--app runs your app with uvicorn behind dlgen's wrapper, not the {server} server",
                             "drop --server")
        server = app_preset
    elif server == app_preset:
        raise DlgenError("the app server runs your own app", "pass --app MODULE:ATTR (e.g. --app main:app)")
    server = server or servers["defaults"][o.kind]
    if server not in servers["servers"] or servers["servers"][server].get("lint_only"):
        raise DlgenError(f"unknown server {server!r}", "use one of " + ", ".join(
            n for n, p in servers["servers"].items() if not p.get("lint_only")))
    preset = servers["servers"][server]
    if o.health_path or o.ready_path:   # the app serves these itself: probes go there
        preset = {**preset, "liveness": o.health_path or preset["liveness"],
                  "readiness": o.ready_path or preset["readiness"]}
    if o.kind not in preset["kinds"]:
        ok = [n for n, p in servers["servers"].items() if o.kind in p["kinds"]]
        raise DlgenError(f"server {server!r} does not run kind {o.kind!r}", f"for {o.kind} use {', '.join(ok)}")
    return server, preset


def _resolve_model(o: NewOptions) -> Model:
    if o.model is None and o.params is None and (kinds()[o.kind]["model_optional"] or o.app is not None):
        return Model("none", "", "none", 0, "bf16", "no model", in_catalog=False)
    folder = local_model(o.model)
    if folder:
        from dlgen import modelfacts

        facts = modelfacts.read_local(Path(folder))
        name = folder.rstrip("/").rsplit("/", 1)[-1]
        return replace(catalog.from_facts(name, facts), hf_id=LOCAL_MODEL_DIR).with_dtype(o.dtype)
    return catalog.resolve(o.model, o.params, o.dtype, online=True)


def _with_model_file(o: NewOptions, mdl: Model, preset: dict) -> Model:
    """The model as the one GGUF file a server such as llama.cpp loads: given with --model-path and
    present on this host, read (its size, its architecture's metadata); else the catalog's GGUF
    (its size), not the bf16 checkpoint."""
    one_file = "{model_file}" in " ".join(map(str, preset.get("command") or []))
    if one_file and not o.model_path and not o.model_repo and mdl.gguf:
        return replace(mdl, stored_gb=mdl.gguf[2], quant="gguf", source=f"{mdl.source}; GGUF {mdl.gguf[1]}")
    if not (o.model_path and o.model_path.endswith(".gguf") and os.path.isfile(o.model_path)):
        return mdl
    from dlgen import modelfacts

    f = modelfacts.read_gguf(Path(o.model_path))
    return replace(mdl, params=f.params or mdl.params, stored_gb=round(f.stored_gb, 3), quant=f.quant_method,
                   layers=f.layers or mdl.layers, heads=f.heads or mdl.heads, kv_heads=f.kv_heads or mdl.kv_heads,
                   head_dim=f.head_dim or mdl.head_dim, context=f.context or mdl.context,
                   source=f"read from {o.model_path}")


def _resolve_base(o: NewOptions, server: str, preset: dict) -> tuple[str, matrix.TorchBase | None]:
    """The base image: --image, the torch matrix's pytorch/pytorch tag, the python image, or the
    server project's own image."""
    if o.image:
        return o.image, None
    if preset["image"] == "torch":
        torch_base = matrix.choose(o.torch, o.cuda, o.variant or ("devel" if o.kind == "dev" else "runtime"))
        return torch_base.image, torch_base
    if preset["image"] == "python":
        if o.torch or o.cuda:
            raise DlgenError(f"the {server} preset runs on {reference.servers()['python_image']} without torch or "
                             "CUDA", "drop --torch/--cuda for this kind")
        return reference.servers()["python_image"], None
    if o.torch or o.cuda or o.variant:
        raise DlgenError(f"the {server} preset uses its project's image {preset['image']}",
                         "drop --torch/--cuda/--variant, or pass --image to pick another tag")
    return preset["image"], None


def unloadable(mdl: Model, preset: dict, server: str) -> str | None:
    """Why the server cannot load this checkpoint as it is stored (None: it can): dlgen's own servers
    load bf16/fp16/fp32 weights through transformers, not quantized checkpoints."""
    if mdl.quant and preset.get("generated_app"):
        return f"{mdl.name} is a {mdl.quant} checkpoint, which dlgen's {server} server does not load"
    return None


def _validate_quantization(mdl: Model, preset: dict, server: str) -> None:
    """--dtype converts a checkpoint only where the server does (online FP8 in vLLM, SGLang, TGI); a
    quantized checkpoint is served as it is stored."""
    if mdl.quant and mdl.stored_dtype:
        raise DlgenError(f"{mdl.name} is a {mdl.quant} checkpoint: it is served as stored ({mdl.stored_dtype})",
                         "drop --dtype")
    why = unloadable(mdl, preset, server)
    if why:
        raise DlgenError(why, "use --server vllm (or sglang, tgi): they read the checkpoint's quantization_config")
    if not mdl.stored_dtype or mdl.stored_dtype == mdl.dtype:
        return
    if mdl.dtype in ("bf16", "fp16", "fp32") and mdl.stored_dtype in ("bf16", "fp16", "fp32"):
        return   # a cast at load, which every server does
    online = preset.get("online_quant") or {}
    if mdl.dtype in online:
        return
    fp8 = " or ".join(n for n, p in reference.servers()["servers"].items() if "fp8" in (p.get("online_quant") or {}))
    if mdl.dtype == "fp8":
        raise DlgenError(f"the {server} server cannot convert {mdl.name} ({mdl.stored_dtype}) to fp8 at load",
                         f"use --server {fp8} (online FP8), or a checkpoint quantized to FP8")
    raise DlgenError(f"--dtype {mdl.dtype} needs a checkpoint quantized to it: {mdl.name} is stored in "
                     f"{mdl.stored_dtype}, and no server dlgen generates converts it at load",
                     "give the id of an AWQ or GPTQ checkpoint of the model (its weights are int4), or --dtype "
                     f"fp8 with --server {fp8}")


# ------------------------------------------------------------------------------------ plan
def _plan_probe(preset: dict, facts: dict, base_image: str, python_cmd: str, port: int | None) -> Probe:
    """The health probe: only a tool the image is known to have (DLG014)."""
    tool = preset["probe"]
    if tool in probes.HTTP_TOOLS:
        tool = probes.choose_tool(tool, facts) or "python"
    if tool in ("python", "heartbeat") and not python_cmd:
        raise DlgenError(f"{base_image} has no python for the health probe",
                         "pick an image with python, or a server preset whose image has curl")
    return _probe(tool, python_cmd, port, preset)


def _plan_timing(o: NewOptions, mdl: Model, preset: dict, nodes: int = 1) -> timing.Timing:
    """Health timings from the load estimate; over several nodes each reads its share of the weights."""
    consts = timing.Constants().override(disk_gbps=o.disk_gbps, margin=o.margin)
    tm = timing.for_server(mdl.weights_gb / nodes, preset, constants=consts,
                           docker_version=timing.parse_docker_version(o.docker_version), start_period_s=o.start_period)
    if o.start_period is not None and o.start_period < tm.load_s:   # DLG012 would report the bundle
        raise DlgenError(f"--start-period {o.start_period} is below the estimated load time of {mdl.name} "
                         f"({tm.load_s:.0f} s): the container would be marked unhealthy while it loads",
                         f"give at least {int(-(-tm.load_s // 1))}, or leave it out for {tm.start_period_s}")
    return tm


def _plan_gpus(o: NewOptions, mdl: Model, preset: dict, server: str, facts: dict) -> gpuplan.GpuPlan | None:
    """The one GPU count every target requests and the server uses (None: no GPU)."""
    kd = kinds()[o.kind]
    if o.nodes is not None and o.nodes > 1 and not (kd["trains"] or kd["loads_model"]):
        raise DlgenError(f"the {o.kind} kind runs on one host", "drop --nodes")
    if o.gpus and not kd["gpu"]:
        raise DlgenError(f"the {o.kind} kind runs without a GPU (nothing in it uses one)",
                         "drop --gpus, or use --kind serve/train/notebook/dev")
    if not ((kd["gpu"] and facts.get("gpu", True)) or o.gpus):
        if o.gpu or o.gpu_memory is not None:
            raise DlgenError(f"the {o.kind} kind runs without a GPU", "drop --gpu/--gpu-memory")
        return None
    memory_gb, gpu_label = gpuplan.gpu_memory(o.gpu, o.gpu_memory)
    # serving sizes the count to the model; other kinds run the user's code on one GPU unless told
    plan = gpuplan.plan(mdl, preset, server, gpu_request(o.gpus) if o.gpus else None, memory_gb, gpu_label,
                        default_count=1 if kd["one_gpu"] else None, fit=kd["loads_model"] and not kd["trains"],
                        nodes=o.nodes, kind=o.kind)
    tasks = (preset.get("parallel") or {}).get("tasks")
    if plan.count > 1 and tasks and mdl.task not in tasks:
        raise DlgenError(f"the {server} server places a {mdl.task} model on one GPU; {plan.count} would "
                         "leave GPUs idle", "use --gpus 1 (run one container per GPU for more throughput)")
    return plan


def _plan_training(o: NewOptions, mdl: Model, plan: gpuplan.GpuPlan | None,
                   preset: dict) -> memory.TrainingFit | None:
    """A training bundle's strategy over every GPU of the job (all its nodes): DDP where the whole
    training state fits each GPU, else FSDP over the job's GPUs, else LoRA. How many GPUs a job gets
    is the user's choice (--gpus, --nodes): none fits, one line naming the GPUs, or the nodes of full
    hosts, that would."""
    if not (kinds()[o.kind]["trains"] and plan and mdl.params and mdl.task != "none"):
        return None
    util = float(gpuplan.table()["memory_utilization"])
    fit = memory.training(mdl, plan.total, plan.memory_gb, util)
    if fit.strategy:
        return fit
    most, most_nodes = int(gpuplan.table()["max_per_host"]), int(gpuplan.table()["max_nodes"])
    would = next((n for n in range(plan.count + 1, most + 1)
                  if memory.training(mdl, n, plan.memory_gb, util).strategy), None) if plan.nodes == 1 else None
    nodes = next((n for n in range(max(2, plan.nodes + 1), most_nodes + 1)
                  if memory.training(mdl, most * n, plan.memory_gb, util).strategy), None)
    fix = (f"use --gpus {would} (FSDP shards it over them)" if would else
           f"use --nodes {nodes} --gpus {most} (FSDP shards it over every GPU of the job)"
           if nodes and preset.get("multinode") else "use larger GPUs (--gpu h200) or a smaller model")
    raise DlgenError(f"training {mdl.name} does not fit {plan.summary()}: {fit.summary()}", fix)


def _plan_storage(o: NewOptions, mdl: Model, preset: dict, server: str, python_cmd: str,
                  plan: gpuplan.GpuPlan | None) -> tuple[dict[str, str | None], list[Volume], dict | None, dict | None]:
    """(environment, volumes, fetch phase, model files): where the weights come from and live."""
    env: dict[str, str | None] = {}
    for key, value in (preset.get("env") or {}).items():
        env[str(key)] = str(value).format(gpus=plan.count if plan else 0)
    volumes: list[Volume] = []
    fetch = model_files = None
    for flag, value in (("--model-path", o.model_path), ("--model-repo", o.model_repo)):
        if value and not preset.get("model_dir"):
            raise DlgenError(f"the {server} server loads {mdl.name} from the hub (fetched into the cache volume)",
                             f"drop {flag}; it is for servers that read model files ("
                             + ", ".join(n for n, p in reference.servers()["servers"].items() if p.get("model_dir"))
                             + ")")
    if o.model_path and o.model_repo:
        raise DlgenError("--model-path and --model-repo both name the model files",
                         "give one: files on the host (--model-path) or a hub repository to fetch (--model-repo)")
    loads_model = mdl.task != "none" and kinds()[o.kind]["loads_model"]
    folder = local_model(o.model)
    if folder and preset.get("model_dir"):
        raise DlgenError(f"the {server} server reads its own model files at {preset['model_dir']}",
                         f"give them with --model-path {folder} (a checkpoint folder is for servers that load "
                         "Hugging Face models)")
    if folder and loads_model:   # the user's checkpoint, read-only; nothing is downloaded
        volumes.append(Volume(folder, LOCAL_MODEL_DIR, "ro", "bind"))
        _add_caches(preset, env, volumes)
        env["HF_HUB_OFFLINE"] = "1"
    elif loads_model and preset.get("model_dir") and o.model_path:
        volumes.append(_model_files(server, preset, o.model_path))  # the user's files, read-only: no hub
    elif loads_model and preset.get("model_dir"):
        model_files = _model_repo(server, preset, o.model_repo, mdl)  # fetched into a volume, in a small image
        volumes.append(Volume("models", model_files["dir"], "", "volume"))
        fetch = {"image": "fetch", "entrypoint": ["python", "/app/fetch.py"], "command": []}
    elif loads_model:
        env["HF_TOKEN"] = None  # passed by name: the value never lands in a file (DLG107)
        volumes.append(Volume("hf-cache", HF_HOME, "", "volume"))
        _add_caches(preset, env, volumes)
        if preset.get("fetch"):
            fetch = dict(preset["fetch"])
        elif python_cmd and (mdl.hf_id or mdl.torchvision):
            app_image_dir = (preset.get("app_dir") or {}).get("image", "/app")
            fetch = {"entrypoint": ["{python}", f"{app_image_dir}/fetch.py"], "command": []}
        if fetch and not preset.get("user_app"):  # the weights are in the cache first: it never asks the hub
            env["HF_HUB_OFFLINE"] = "1"   # (the user's app may fetch more than the model: it stays online)
    volumes += _kind_volumes(o)
    if o.kind == "notebook":
        env["JUPYTER_TOKEN"] = None
    if kinds()[o.kind]["run_as_caller"]:  # another uid than the image's: give it a home it can write
        env["HOME"] = "/tmp"
    return env, volumes, fetch, model_files


def _add_caches(preset: dict, env: dict[str, str | None], volumes: list[Volume]) -> None:
    """The server's caches (e.g. vLLM's compile cache) on named volumes: warm restarts skip the work."""
    for var, path in (preset.get("caches") or {}).items():
        env[str(var)] = str(path)
        volumes.append(Volume(f"{str(var).lower().replace('_', '-')}", str(path), "", "volume"))


def _kind_volumes(o: NewOptions) -> list[Volume]:
    """The kind's own folders: notebooks, checkpoints, TensorBoard's runs, the dev project."""
    return {"notebook": [Volume("./notebooks", "/app/notebooks", "", "bind")],
            "train": [Volume("checkpoints", CHECKPOINTS, "", "volume")],
            "tensorboard": [Volume("./runs", "/logs", "ro", "bind")],
            "dev": [Volume(o.mount.rstrip("/") or "/" if o.mount else ".", "/app", "", "bind")]}.get(o.kind, [])


_WHEEL_SOURCE_RE = re.compile(r"(https?://[A-Za-z0-9.-]+(:\d+)?|file://)?/[A-Za-z0-9._~/%+=&?@:-]{0,400}")


def _pip_sources(find_links: list[str], extra_index_urls: list[str], preset: dict, server: str,
                 base_image: str) -> list[tuple[str, str]]:
    """(pip option, URL) pairs for the image's pip install; a wheel source whose CUDA is another
    major than the base image's is refused (DLG021), one with another minor is allowed (CUDA's
    minor-version compatibility) and written down with its reason."""
    sources = [("--find-links", u) for u in find_links] + [("--extra-index-url", u) for u in extra_index_urls]
    if not sources:
        return []
    if preset["image"] not in ("torch", "python"):
        raise DlgenError(f"the {server} preset's image installs no Python packages of the bundle",
                         "drop --find-links/--extra-index-url, or use a kind on a torch base (train, dev, serve)")
    for option, url in sources:
        if not _WHEEL_SOURCE_RE.fullmatch(url) or not url.isascii():
            raise DlgenError(f"{option} {url!r} is not a URL or absolute path of plain characters",
                             "give https://host/path/ (or /path on the build's file system)")
        cuda = matrix.image_cuda(base_image)
        for clash in matrix.wheel_cuda_clashes(f"{option} {url}", cuda) if cuda else []:
            if clash.major:
                raise DlgenError(f"{option} {url}: {clash.message}",
                                 f"{clash.hint}, or generate with --cuda {clash.wheel} (DLG021)")
    return sources


def _host_path(flag: str, path: str) -> None:
    if not re.fullmatch(r"/[A-Za-z0-9._/@+-]{0,250}", path, re.ASCII) or "/../" in path + "/":
        raise DlgenError(f"{flag} {path!r} is not an absolute path of plain characters",
                         "docker mounts absolute host paths: give /srv/... (letters, digits, . _ / @ + -)")


def _model_files(server: str, preset: dict, model_path: str | None) -> Volume:
    """The user's model files, mounted read-only where the server's command reads them."""
    target = preset["model_dir"]
    if not model_path:
        raise DlgenError(f"the {server} server reads model files at {target}, which nothing would provide",
                         f"pass --model-path HOST_PATH (mounted read-only at {target})")
    _host_path("--model-path", model_path)
    needs_file = "{model_file}" in " ".join(map(str, preset.get("command") or []))
    if needs_file and not model_path.endswith(".gguf"):
        raise DlgenError(f"--model-path {model_path!r}: the {server} server loads one GGUF file",
                         "give the .gguf file's path")
    source = model_path.rsplit("/", 1)[0] if needs_file else model_path.rstrip("/")
    return Volume(source or "/", target, "ro", "bind")


_REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}", re.ASCII)
_REPO_FILE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,199}){0,7}", re.ASCII)


def _model_repo(server: str, preset: dict, model_repo: str | None, mdl: Model) -> dict:
    """The hub files the fetch puts where the server's command reads them: ``REPO`` (a whole repository
    laid out as the server expects, e.g. a Triton model repository) or ``REPO:FILE`` (one file, e.g. a
    GGUF); the catalog's default GGUF for llama.cpp."""
    target = preset["model_dir"]
    needs_file = "{model_file}" in " ".join(map(str, preset.get("command") or []))
    size = None
    if not model_repo and needs_file and mdl.gguf:
        repo, file, size = mdl.gguf
    elif not model_repo:
        raise DlgenError(f"the {server} server reads model files at {target}, and {mdl.name} has no default for them",
                         f"pass --model-repo HUB_REPO{':FILE' if needs_file else ''} (fetched into a volume) or "
                         f"--model-path HOST_PATH (mounted read-only at {target})")
    else:
        repo, _, file = model_repo.partition(":")
        if not _REPO_RE.fullmatch(repo) or (file and (not _REPO_FILE_RE.fullmatch(file) or ".." in file.split("/"))):
            raise DlgenError(f"--model-repo {model_repo!r} is not OWNER/NAME or OWNER/NAME:FILE",
                             "e.g. --model-repo bartowski/Meta-Llama-3.1-8B-Instruct-GGUF:"
                             "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    if needs_file and not file.endswith(".gguf"):
        raise DlgenError(f"--model-repo {model_repo!r}: the {server} server loads one GGUF file",
                         "name it after the repository: --model-repo OWNER/NAME:FILE.gguf")
    if not needs_file and file:
        raise DlgenError(f"--model-repo {model_repo!r}: the {server} server reads a folder, not one file",
                         f"give the repository only (laid out as {target} expects)")
    return {"repo": repo, "file": file, "dir": target, "size_gb": size,
            "patterns": list(preset.get("fetch_patterns") or [])}


def _probe(tool: str, python_cmd: str, port: int | None, preset: dict) -> Probe:
    probe_file = f"{(preset.get('app_dir') or {}).get('image', '/app')}/probe.py"
    if tool == "none":
        return Probe("none", [])
    if tool == "heartbeat":
        return Probe("heartbeat", [python_cmd, probe_file, "--heartbeat", HEARTBEAT_FILE,
                                   "--max-age", str(HEARTBEAT_MAX_AGE_S)],
                     heartbeat=HEARTBEAT_FILE, max_age_s=HEARTBEAT_MAX_AGE_S)
    url = f"http://127.0.0.1:{port}{preset['readiness']}"
    return Probe(tool, probes.http_command(tool, url, python_cmd, probe_file=probe_file), url=url)
