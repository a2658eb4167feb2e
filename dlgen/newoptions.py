"""The options of `dlgen new`, as one frozen value: the CLI's signature, the validation of option
text and the "Regenerate with" line all iterate this one list (in the order the line writes them)."""

from __future__ import annotations

import shlex
import typing
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any


def opt(default: Any, *flags: str, help: str, text: bool = False, metavar: str | None = None) -> Any:
    """A `dlgen new` option: its flags (the first is the long one), its help, and whether its value
    is checked as plain option text (spec.check_option) before anything reads it."""
    return field(default=default, metadata={"flags": flags, "help": help, "text": text, "metavar": metavar})


@dataclass(frozen=True)
class NewOptions:
    app: str | None = opt(None, "--app", help="Your own ASGI/WSGI app in DIR, MODULE:ATTR (main:app): served behind "
                                               "dlgen's health endpoints.")
    model: str | None = opt(None, "--model", "-m", text=True,
                            help="Catalog name (llama-8b), Hugging Face id, or a name for --params.")
    params: str | None = opt(None, "--params", text=True,
                             help="Parameter count when the model is not in the catalog: 8B, 1.5B, 350M.")
    dtype: str | None = opt(None, "--dtype", text=True, help="fp32, bf16, fp16, fp8, int8, int4.")
    kind: str = opt("serve", "--kind", "-k", text=True, help="serve, train, notebook, tensorboard or dev.")
    server: str | None = opt(None, "--server", "-s", text=True,
                             help="python, fastapi, vllm, tgi, triton, torchserve, sglang, llamacpp (serve); "
                                  "jupyter; tensorboard; trainer; shell.")
    torch: str | None = opt(None, "--torch", text=True, help="torch version (picks the pytorch/pytorch tag).")
    cuda: str | None = opt(None, "--cuda", text=True, help="CUDA version: 12.8 or cu128.")
    variant: str | None = opt(None, "--variant", text=True, help="runtime (default) or devel (has nvcc).")
    image: str | None = opt(None, "--image", text=True, help="Base image to use instead of the preset's.")
    model_path: str | None = opt(None, "--model-path", help="Model files on the host for servers that read files "
                                                            "(llamacpp: a .gguf; triton: a model repository; "
                                                            "torchserve: a model store).")
    model_repo: str | None = opt(None, "--model-repo", "--gguf-file", text=True,
                                 help="Hub repository the fetch phase downloads for servers that read files: "
                                      "OWNER/NAME (triton, torchserve) or OWNER/NAME:FILE.gguf (llamacpp; default: "
                                      "the catalog's GGUF).")
    mount: str | None = opt(None, "--mount", help="dev: the project folder on the host mounted at /app (default: "
                                                  "the folder run.sh is in).")
    health_path: str | None = opt(None, "--health-path", help="--app: your app's own liveness path.")
    ready_path: str | None = opt(None, "--ready-path", help="--app: your app's own readiness path.")
    port: int | None = opt(None, "--port", "-p", help="Port the server listens on.")
    gpus: str | None = opt(None, "--gpus", text=True, help="GPU count, or device indexes 0,1 (default: the fewest "
                                                           "that hold the model).")
    nodes: int | None = opt(None, "--nodes", help="Nodes the job spans, --gpus on each (default: one, or as many as "
                                                  "the model needs; vllm, sglang and training run across nodes).")
    gpu: str | None = opt(None, "--gpu", text=True, help="GPU model the count is sized for: h100, a100-40gb, l40s, "
                                                         "a10g... (see dlgen/data/gpus.yaml).")
    gpu_memory: float | None = opt(None, "--gpu-memory", help="Memory of one GPU in GB (default 80).")
    restart: str | None = opt(None, "--restart", text=True, help="Restart policy (default from the kind).")
    shm_size: str | None = opt(None, "--shm-size", text=True, help="Shared memory, e.g. 8g.")
    docker_version: str | None = opt(None, "--docker-version", text=True,
                                     help="Target Docker Engine; below 25 no --start-interval.")
    start_period: int | None = opt(None, "--start-period", help="Override the start period (s).")
    disk_gbps: float | None = opt(None, "--disk-gbps", help="Weight read speed in GB/s (default 0.6).")
    margin: float | None = opt(None, "--margin", help="Start-period safety factor (default 2).")
    net_gbps: float | None = opt(None, "--net-gbps", help="Download speed for the fetch estimate in GB/s "
                                                          "(default 0.1).")
    name: str | None = opt(None, "--name", text=True, help="Image and container name.")
    publish_all: bool = opt(False, "--publish-all", help="Publish ports on every interface (default: 127.0.0.1 "
                                                         "only).")
    find_links: tuple[str, ...] = opt((), "--find-links", help="A wheel page or folder for the image's pip install "
                                                               "(repeatable); its CUDA tag must match the base's.")
    extra_index_url: tuple[str, ...] = opt((), "--extra-index-url",
                                           help="Another package index for the image's pip install (repeatable), "
                                                "CUDA checked as above.")

    @classmethod
    def of(cls, given: NewOptions | dict[str, Any] | None = None, **kw: Any) -> NewOptions:
        """From a mapping of option names (None and empty lists count as not given)."""
        base = given if isinstance(given, NewOptions) else cls()
        values = {**(given if isinstance(given, dict) else {}), **kw}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(f"unknown dlgen new option(s): {', '.join(unknown)}")
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if value is None:
                continue
            if isinstance(value, list):
                value = tuple(value)
            clean[key] = value
        return replace(base, **clean)

    def given(self) -> dict[str, Any]:
        """The options that differ from their defaults."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}

    def command_line(self) -> str:
        """The `dlgen new` line that regenerates a bundle (each word shell-quoted)."""
        parts = ["dlgen", "new"]
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value is False or value == ():
                continue
            flag = f.metadata["flags"][0]
            for one in value if isinstance(value, tuple) else [value]:
                parts += [flag] if one is True else [flag, str(one)]
        return " ".join(shlex.quote(p) for p in parts)

    def text_options(self) -> list[tuple[str, str | None]]:
        """(flag, value) of every option whose value is checked as plain option text."""
        return [(f.metadata["flags"][0], getattr(self, f.name)) for f in fields(self) if f.metadata["text"]]


def cli_parameters() -> list[tuple[str, Any, Any, dict]]:
    """(name, type, default, typer.Option keywords) per option, for the CLI's signature: lists where
    the value is a tuple (a repeatable option)."""
    hints = typing.get_type_hints(NewOptions)
    out = []
    for f in fields(NewOptions):
        kind = hints[f.name]
        default = f.default if f.default is not MISSING else None
        if default == ():
            kind, default = list[str] | None, None
        out.append((f.name, kind, default, {"flags": f.metadata["flags"], "help": f.metadata["help"]}))
    return out
