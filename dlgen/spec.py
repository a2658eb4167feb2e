"""DeploySpec: what is deployed. Built from `dlgen new` options, validated, then rendered."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from dlgen import catalog, gpuplan, matrix, probes, reference, timing, units
from dlgen.catalog import Model
from dlgen.errors import DlgenError
from dlgen.runspec import Health, Port, RunSpec, Volume
from dlgen.timing import NET_GBPS as DEFAULT_NET_GBPS

KINDS = ("serve", "train", "notebook", "tensorboard", "dev")

# Workload-kind defaults (product.md, "Workload kinds"); every one can be overridden.
KIND_DEFAULTS: dict[str, dict] = {
    "serve": {"restart": "unless-stopped", "shm_size": "2g", "ipc": None, "publish_ip": "127.0.0.1", "gpu": True},
    "train": {"restart": "on-failure:3", "shm_size": None, "ipc": "host", "publish_ip": None, "gpu": True},
    "notebook": {"restart": "unless-stopped", "shm_size": "8g", "ipc": None, "publish_ip": "127.0.0.1", "gpu": True},
    "tensorboard": {"restart": "unless-stopped", "shm_size": None, "ipc": None, "publish_ip": "127.0.0.1",
                    "gpu": False},
    "dev": {"restart": None, "shm_size": "8g", "ipc": None, "publish_ip": None, "gpu": True},
}
# NGC's recommendation for training containers (docker-runtime.md section 5).
TRAIN_ULIMITS = {"memlock": "-1", "stack": "67108864"}
HEARTBEAT_FILE = "/tmp/dlgen-heartbeat"
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
RUN_AS_KINDS = ("notebook", "dev")
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
        if not self.fetch or self.model_files:
            return self.timing.start_period_s
        c = timing.Constants()
        with_download = timing.round_up(c.margin * (self.timing.load_s + self.download_s), c.round_to_s)
        return max(self.timing.start_period_s, with_download)

    @property
    def download_s(self) -> float:
        """Estimated duration of the fetch phase at ``net_gbps`` (off the health clock)."""
        size = (self.model_files or {}).get("size_gb") or self.model.weights_gb
        return timing.download_seconds(size, self.net_gbps)

    @property
    def fetch_image(self) -> str | None:
        """The small image the fetch runs in where the server's image has no Python for it, else None."""
        return f"{self.name}-fetch:latest" if self.fetch and self.fetch.get("image") == "fetch" else None

    def fill(self, words) -> list[str]:
        """A preset's command words with {python}, {port}, {model}, {dtype} and {gpus} filled in."""
        values = {"python": self.python, "port": str(self.port), "model": self.model_ref,
                  "dtype": TORCH_DTYPE_NAMES.get(self.model.dtype, "auto"), "gpus": str(self.gpu_count or 1),
                  "model_file": (self.model_files or {}).get("file") or (self.model_path or "").rsplit("/", 1)[-1]}
        return [str(w).format(**values) for w in words]

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
            ip = None if self.publish_all else KIND_DEFAULTS[self.kind]["publish_ip"]
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
            user=RUN_AS if self.kind in RUN_AS_KINDS else None,
            shm_size=self.shm_size,
            ipc=self.ipc,
            ulimits=dict(self.ulimits),
            ports=ports,
            volumes=self.docker_volumes(),
            env=dict(self.env),
            command=["bash"] if dev else [],
            origin="dlgen",
        )

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


def _validate_gpus(gpus: str) -> str:
    g = gpus
    if g == "all":
        return g  # refused by gpuplan.plan, which says why
    if re.fullmatch(r"[0-9]{1,3}", g) and int(g) > 0:
        return g
    if re.fullmatch(r"[0-9]{1,3}(,[0-9]{1,3})*", g):
        return f"device={g}"
    if re.fullmatch(r"device=[0-9]{1,3}(,[0-9]{1,3})*", g):
        return g
    raise DlgenError(f"invalid --gpus {gpus!r}", "use all, a count (2) or device indexes (0,1)")


MIN_GPU_SHM_BYTES = 2**30
def _size_bytes(text: str) -> float:
    n = units.size_bytes(text)
    if n is None:
        raise DlgenError(f"invalid size {text!r}", "write it like 2g or 8g")
    return n


def build(*, model: str | None = None, params: str | None = None, dtype: str | None = None,
          kind: str = "serve", server: str | None = None, torch: str | None = None, cuda: str | None = None,
          variant: str | None = None, port: int | None = None, gpus: str | None = None,
          restart: str | None = None, docker_version: str | None = None, name: str | None = None,
          image: str | None = None, shm_size: str | None = None, start_period: int | None = None,
          disk_gbps: float | None = None, margin: float | None = None, gpu: str | None = None,
          gpu_memory: float | None = None, net_gbps: float | None = None,
          model_path: str | None = None, model_repo: str | None = None,
          publish_all: bool = False, mount: str | None = None, app: str | None = None,
          health_path: str | None = None, ready_path: str | None = None,
          find_links: list[str] | None = None, extra_index_url: list[str] | None = None) -> DeploySpec:
    """Validate `dlgen new` options and derive everything else. Raises DlgenError on bad input."""
    for flag, value in (("--model", model), ("--params", params), ("--dtype", dtype), ("--kind", kind),
                        ("--server", server), ("--torch", torch), ("--cuda", cuda), ("--variant", variant),
                        ("--gpus", gpus), ("--restart", restart), ("--docker-version", docker_version),
                        ("--name", name), ("--image", image), ("--shm-size", shm_size), ("--gpu", gpu),
                        ("--model-repo", model_repo)):
        check_option(flag, value)
    if kind not in KINDS:
        raise DlgenError(f"unknown kind {kind!r}", f"use one of {', '.join(KINDS)}")
    servers = reference.servers()
    app_preset = next(n for n, p in servers["servers"].items() if p.get("user_app"))   # serves --app
    if app is not None:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_][\w.]*", app, re.ASCII):
            raise DlgenError(f"--app {app!r} is not MODULE:ATTR", "e.g. --app main:app (the object in main.py)")
        if kind != "serve":
            raise DlgenError(f"--app serves an app; the {kind} kind runs none", "drop --kind, or drop --app")
        if server not in (None, app_preset):
            raise DlgenError(f"--app runs your app with uvicorn behind dlgen's wrapper, not the {server} server",
                             "drop --server")
        server = app_preset
    elif server == app_preset:
        raise DlgenError("the app server runs your own app", "pass --app MODULE:ATTR (e.g. --app main:app)")
    if (health_path or ready_path) and app is None:
        raise DlgenError("--health-path/--ready-path name your app's own endpoints", "use them with --app")
    for flag, value in (("--health-path", health_path), ("--ready-path", ready_path)):
        if value is not None and not re.fullmatch(r"/[A-Za-z0-9._~/-]{0,200}", value, re.ASCII):
            raise DlgenError(f"{flag} {value!r} is not a URL path", "write it like /healthz")
    server = server or servers["defaults"][kind]
    if server not in servers["servers"] or servers["servers"][server].get("lint_only"):
        raise DlgenError(f"unknown server {server!r}", "use one of " + ", ".join(
            n for n, p in servers["servers"].items() if not p.get("lint_only")))
    preset = servers["servers"][server]
    if health_path or ready_path:   # the app serves these itself: probes go there
        preset = {**preset, "liveness": health_path or preset["liveness"],
                  "readiness": ready_path or preset["readiness"]}
    if kind not in preset["kinds"]:
        ok = [n for n, s in servers["servers"].items() if kind in s["kinds"]]
        raise DlgenError(f"server {server!r} does not run kind {kind!r}", f"for {kind} use {', '.join(ok)}")

    if model is None and params is None and (kind in ("notebook", "tensorboard", "dev") or app is not None):
        mdl = Model("none", "", "none", 0, "bf16", "no model", in_catalog=False)
    else:
        mdl = catalog.resolve(model, params, dtype)

    if port is not None and not 1 <= port <= 65535:
        raise DlgenError(f"invalid port {port}", "use a number from 1 to 65535")
    if restart is not None:
        if not _RESTART_RE.fullmatch(restart):
            raise DlgenError(f"invalid restart policy {restart!r}",
                             "use no, always, unless-stopped or on-failure[:N]")
        if kind == "dev" and restart != "no":
            raise DlgenError("the dev kind runs with --rm, which docker refuses together with --restart",
                             "drop --restart, or use --kind serve/train")
    if shm_size is not None and not _SIZE_RE.fullmatch(shm_size):
        raise DlgenError(f"invalid --shm-size {shm_size!r}", "write it like 2g or 8g")
    if shm_size is not None and _size_bytes(shm_size) < MIN_GPU_SHM_BYTES:
        # DLG105: below 1 GiB, DataLoader workers and NCCL die with SIGBUS (docker-runtime.md section 5)
        raise DlgenError(f"--shm-size {shm_size} is below 1g: PyTorch DataLoader workers die with SIGBUS (exit 135)",
                         "use 1g or more (8g for training), or leave it out for the kind's default")
    # written as "not (0 < x <= limit)": NaN fails every comparison, so it is refused too
    if start_period is not None and not (0 < start_period <= MAX_START_PERIOD_S):
        raise DlgenError(f"invalid --start-period {start_period}",
                         f"give a number of seconds from 1 to {MAX_START_PERIOD_S} (a day)")
    if net_gbps is not None and not (0 < net_gbps <= 1000):
        raise DlgenError(f"invalid --net-gbps {net_gbps}", "give a positive download speed in GB/s, e.g. 0.1")
    if disk_gbps is not None and not (0 < disk_gbps <= 1000):
        raise DlgenError(f"invalid --disk-gbps {disk_gbps}", "give a positive throughput in GB/s, e.g. 0.6")
    if margin is not None and not (1 <= margin <= 10):
        raise DlgenError(f"invalid --margin {margin}", "give a factor from 1 to 10, e.g. 2")
    dv = timing.parse_docker_version(docker_version)
    if name is not None:
        _validate_name(name)

    # ---- base image
    torch_base = None
    if image:
        if not _IMAGE_RE.fullmatch(image):
            raise DlgenError(f"invalid --image {image!r}", "give an image reference like repo/name:tag")
        base_image = image
    elif preset["image"] == "torch":
        default_variant = "devel" if kind == "dev" else "runtime"
        torch_base = matrix.choose(torch, cuda, variant or default_variant)
        base_image = torch_base.image
    elif preset["image"] == "python":
        if torch or cuda:
            raise DlgenError(f"the {server} preset runs on {servers['python_image']} without torch or CUDA",
                             "drop --torch/--cuda for this kind")
        base_image = servers["python_image"]
    else:
        if torch or cuda or variant:
            raise DlgenError(f"the {server} preset uses its project's image {preset['image']}",
                             "drop --torch/--cuda/--variant, or pass --image to pick another tag")
        base_image = preset["image"]
    pip_sources = _pip_sources(find_links or [], extra_index_url or [], preset, server, base_image)
    facts = reference.image_facts(base_image) or {"curl": None, "wget": None, "python": "python", "nvcc": None,
                                             "torch": None, "gpu": True, "source": "unknown image"}

    python_cmd = facts.get("python") or ""
    # ---- probe: only a tool the image is known to have (DLG014)
    port_ = port if port is not None else (preset["port"] or None)
    tool = preset["probe"]
    if tool in probes.HTTP_TOOLS:
        tool = probes.choose_tool(tool, facts) or "python"
    if tool in ("python", "heartbeat") and not python_cmd:
        raise DlgenError(f"{base_image} has no python for the health probe",
                         "pick an image with python, or a server preset whose image has curl")
    probe = _probe(tool, python_cmd, port_, preset)

    # ---- timing
    consts = timing.Constants().override(disk_gbps=disk_gbps, margin=margin)
    tm = timing.for_server(mdl.weights_gb, preset, constants=consts, docker_version=dv,
                           start_period_s=start_period)
    if start_period is not None and start_period < tm.load_s:   # DLG012 would report the bundle
        raise DlgenError(f"--start-period {start_period} is below the estimated load time of {mdl.name} "
                         f"({tm.load_s:.0f} s): the container would be marked unhealthy while it loads",
                         f"give at least {int(-(-tm.load_s // 1))}, or leave it out for {tm.start_period_s}")

    kd = KIND_DEFAULTS[kind]
    gpu_wanted = kd["gpu"] and facts.get("gpu", True)
    if gpus and not kd["gpu"]:
        raise DlgenError(f"the {kind} kind runs without a GPU (nothing in it uses one)",
                         "drop --gpus, or use --kind serve/train/notebook/dev")
    plan = None
    if gpu_wanted or gpus:
        memory_gb, gpu_label = gpuplan.gpu_memory(gpu, gpu_memory)
        # serving sizes the count to the model; other kinds run the user's code on one GPU unless told
        plan = gpuplan.plan(mdl, preset, server, _validate_gpus(gpus) if gpus else None, memory_gb, gpu_label,
                            default_count=None if kind == "serve" else 1, fit=kind in ("serve", "train"))
        tasks = (preset.get("parallel") or {}).get("tasks")
        if plan.count > 1 and tasks and mdl.task not in tasks:
            raise DlgenError(f"the {server} server places a {mdl.task} model on one GPU; {plan.count} would "
                             "leave GPUs idle", "use --gpus 1 (run one container per GPU for more throughput)")
    elif gpu or gpu_memory is not None:
        raise DlgenError(f"the {kind} kind runs without a GPU", "drop --gpu/--gpu-memory")
    gpus_ = plan.request.docker() if plan else None
    ipc, shm = kd["ipc"], kd["shm_size"]
    if preset.get("ipc") or preset.get("shm_size"):   # what the server's documentation asks for
        ipc, shm = preset.get("ipc"), preset.get("shm_size")
    if shm_size:
        ipc, shm = None, shm_size
    env: dict[str, str | None] = {}
    for key, value in (preset.get("env") or {}).items():
        env[str(key)] = str(value).format(gpus=plan.count if plan else 0)
    volumes: list[Volume] = []
    fetch = model_files = None
    for flag, value in (("--model-path", model_path), ("--model-repo", model_repo)):
        if value and not preset.get("model_dir"):
            raise DlgenError(f"the {server} server loads {mdl.name} from the hub (fetched into the cache volume)",
                             f"drop {flag}; it is for servers that read model files (llamacpp, triton, torchserve)")
    if model_path and model_repo:
        raise DlgenError("--model-path and --model-repo both name the model files",
                         "give one: files on the host (--model-path) or a hub repository to fetch (--model-repo)")
    if mdl.task != "none" and kind in ("serve", "train") and preset.get("model_dir") and model_path:
        volumes.append(_model_files(server, preset, model_path))  # the user's files, read-only: no hub
    elif mdl.task != "none" and kind in ("serve", "train") and preset.get("model_dir"):
        model_files = _model_repo(server, preset, model_repo, mdl)  # fetched into a volume, in a small image
        volumes.append(Volume("models", model_files["dir"], "", "volume"))
        fetch = {"image": "fetch", "entrypoint": ["python", "/app/fetch.py"], "command": []}
    elif mdl.task != "none" and kind in ("serve", "train"):
        env["HF_TOKEN"] = None  # passed by name: the value never lands in a file (DLG107)
        volumes.append(Volume("hf-cache", HF_HOME, "", "volume"))
        for var, path in (preset.get("caches") or {}).items():  # e.g. vLLM's compile cache: warm restarts
            env[str(var)] = str(path)
            volumes.append(Volume(f"{str(var).lower().replace('_', '-')}", str(path), "", "volume"))
        if preset.get("fetch"):
            fetch = dict(preset["fetch"])
        elif python_cmd and (mdl.hf_id or mdl.torchvision):
            app_image_dir = (preset.get("app_dir") or {}).get("image", "/app")
            fetch = {"entrypoint": ["{python}", f"{app_image_dir}/fetch.py"], "command": []}
        if fetch and not preset.get("user_app"):  # the weights are in the cache first: it never asks the hub
            env["HF_HUB_OFFLINE"] = "1"   # (the user's app may fetch more than the model: it stays online)
    if kind == "notebook":
        env["JUPYTER_TOKEN"] = None
        volumes.append(Volume("./notebooks", "/app/notebooks", "", "bind"))
    if kind == "train":
        volumes.append(Volume("checkpoints", "/checkpoints", "", "volume"))
    if kind == "tensorboard":
        volumes.append(Volume("./runs", "/logs", "ro", "bind"))
    if mount and kind != "dev":
        raise DlgenError(f"--mount is for the dev kind, not {kind}", "drop --mount, or use --kind dev")
    if mount:
        _host_path("--mount", mount)
    if kind == "dev":
        volumes.append(Volume(mount.rstrip("/") or "/" if mount else ".", "/app", "", "bind"))
    if kind in RUN_AS_KINDS:  # another uid than the image's: give it a home it can write
        env["HOME"] = "/tmp"
    # NCCL between worker processes: locked memory and a large stack (NVIDIA's PyTorch container
    # documentation runs with --ulimit memlock=-1 --ulimit stack=67108864)
    nccl = bool(plan and plan.count > 1 and (preset.get("parallel") or {}).get("nccl"))
    user = APP_USER if preset["image"] in ("torch", "python") and kind != "dev" else None
    notes = []
    if torch_base and not torch_base.tags_verified:
        notes.append(f"pytorch/pytorch tags for torch {torch_base.torch} are not verified in dlgen's matrix; "
                     "check that the tag exists before building")
    made = DeploySpec(
        name=name or _default_name(mdl if mdl.task != "none" else Model(server, "", "", 0, "bf16", ""), kind),
        model=mdl, kind=kind, server=server, preset=preset, base_image=base_image, facts=facts,
        torch_base=torch_base, port=port_ if kind != "dev" else None,
        extra_ports=list(preset.get("extra_ports") or []), probe=probe, timing=tm, gpus=gpus_,
        restart=restart if restart is not None else kd["restart"], shm_size=shm, ipc=ipc,
        ulimits=dict(TRAIN_ULIMITS) if kind == "train" or nccl else {}, user=user, docker_version=dv,
        python=python_cmd or "python", pip=list(preset.get("pip") or []),
        init=not preset.get("handles_sigterm", True), env=env, volumes=volumes, notes=notes, gpu_plan=plan,
        fetch=fetch, net_gbps=net_gbps or timing.NET_GBPS, model_path=model_path, model_files=model_files,
        publish_all=publish_all, mount=mount, user_app=app, app_paths=[p for p in (health_path, ready_path) if p],
        pip_sources=pip_sources,
    )
    made.notes.extend(made.pip_source_cuda_notes)
    return made


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
