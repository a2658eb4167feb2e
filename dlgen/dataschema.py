"""The shape of dlgen's data files, checked once when a file is loaded (dlgen/reference.py).

A preset, model, image or GPU entry with a key dlgen does not know, or a value of the wrong type, is
one line naming the file, the entry and the key, and exit 2: with DLGEN_DATA_DIR a site's own
files are read too, and a misspelt `paralel:` must not quietly turn tensor parallelism into
replicas, nor a typo in `readiness` end in an internal error later.

A schema is a mapping key -> type; a type is one of the names in TYPES, a tuple of them (any of),
a nested schema (a mapping with its own keys), or ("enum", values). A key ending in "!" is required.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from dlgen.errors import DlgenError

TYPES: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "num": (int, float), "bool": bool,
                                            "list": list, "dict": dict, "null": type(None)}

PARALLEL = {"split!": ("enum", ("heads", "layers", "replicas")), "flags": "list", "times": "list",
            "default": "int", "nccl": "bool", "tasks": "list", "nodes": "list", "spans": "dict",
            "times_inside": "list"}

MULTINODE = {"split!": ("enum", ("pipeline", "heads", "replicas")), "port!": "int", "args": "list",
             "command": "list", "leader_script": "str", "worker_entrypoint": "list", "worker_command": "list",
             "assembly_s": "int", "wait_s!": "int", "wait_env": "str", "trainjob_command": "list", "source!": "str"}

SERVER = {
    "kinds!": "list", "image!": "str", "port": "int", "liveness": ("str", "null"), "readiness": ("str", "null"),
    "probe": "str", "boot_s": "num", "warmup_s": "num", "handles_sigterm": "bool", "serves_model": "bool",
    "generated_app": "bool", "user_app": "bool", "lint_only": "bool", "task_requirements": "bool",
    "entrypoint": "list", "command": "list", "app": "dict", "app_dir": {"bundle!": "str", "image!": "str"},
    "env": "dict", "pip": "list", "ipc": "str", "shm_size": "str", "detect": "str", "detect_rank": "int",
    "model_after": "list", "parallel": PARALLEL, "fetch": {"entrypoint!": "list", "command": "list"},
    "caches": "dict", "model_dir": "str", "fetch_patterns": "list", "extra_ports": "list", "hf_cache": "str",
    "cache_flags": "list", "source": "str", "context": {"flags!": "list", "input_flags": "list"},
    "online_quant": "dict", "multinode": MULTINODE, "health_reflects_engine": "bool",
}
SERVING_COMMAND = {"pattern!": "str", "models!": "bool", "source!": "str"}
MODEL = {"name!": "str", "aliases": "list", "hf_id": "str", "task!": "str", "params!": "num", "dtype!": "str",
         "num_attention_heads": "int", "num_key_value_heads": "int", "heads_source": "str",
         "num_hidden_layers": "int", "head_dim": "int", "hidden_size": "int", "max_position_embeddings": "int",
         "stored_gb": "num", "quant_method": "str", "num_local_experts": "int", "num_experts_per_tok": "int",
         "source!": "str",
         "gguf": "dict", "gguf_source": "str", "torchvision": "str"}
IMAGE = {"pattern!": "str", "curl": ("bool", "null"), "wget": ("bool", "null"), "python": ("str", "null"),
         "nvcc": "bool", "torch": ("bool", "null"), "gpu": "bool", "shm": ("str", "bool"), "entrypoint": "list",
         "cmd": "list", "user": ("str", "int"), "expose": "list", "healthcheck": "bool", "env": "list",
         "source": "str"}
KIND = {"restart!": ("str", "null"), "shm_size!": ("str", "null"), "ipc!": ("str", "null"),
        "publish_ip!": ("str", "null"), "gpu!": "bool", "loads_model!": "bool", "model_optional!": "bool",
        "run_as_caller!": "bool", "one_gpu!": "bool", "trains!": "bool", "source!": "str"}
GPU = {"name!": "str", "aliases": "list", "memory_gb!": "num", "source!": "str"}

# file -> (top-level schema, {top-level key: (entry schema, "dict" of entries | "list" of entries)})
FILES: dict[str, tuple[dict, dict[str, tuple[dict, str]]]] = {
    "servers": ({"version!": "int", "servers!": "dict", "defaults!": "dict", "python_image!": "str",
                 "serving_commands": "list"},
                {"servers": (SERVER, "dict"), "serving_commands": (SERVING_COMMAND, "list")}),
    "models": ({"version!": "int", "models!": "list"}, {"models": (MODEL, "list")}),
    "kinds": ({"version!": "int", "kinds!": "dict"}, {"kinds": (KIND, "dict")}),
    "images": ({"version!": "int", "images!": "list"}, {"images": (IMAGE, "list")}),
    "twins": ({"version!": "int", "hadolint!": "dict", "buildkit!": "dict"},
              {"hadolint": ({"rule!": "str", "message": "str", "what!": "str"}, "dict"),
               "buildkit": ({"rule!": "str", "message": "str", "what!": "str"}, "dict")}),
    "kube_workloads": ({"version!": "int", "workloads!": "list", "operators!": "dict"},
                       {"workloads": ({"kinds!": "list", "pods": "list", "containers": "list", "group": "str",
                                       "restart": "str", "operator": "str",
                                       "group_restart": {"path!": "str", "default!": "str"}}, "list"),
                        "operators": ({"adds!": "list", "source!": "str"}, "dict")}),
    "gpus": ({"version!": "int", "default_memory_gb!": "num", "serving_headroom!": "num",
              "memory_utilization!": "num", "max_per_host!": "int", "max_nodes!": "int",
              "gpus!": "list"}, {"gpus": (GPU, "list")}),
}


def _fail(path: Path, where: str, what: str, fix: str) -> None:
    raise DlgenError(f"{path}: {where}: {what}", fix)


def _type_ok(value, kind) -> bool:
    if isinstance(kind, tuple) and kind and kind[0] == "enum":
        return value in kind[1]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        want = TYPES[k]
        if k in ("int", "num") and isinstance(value, bool):
            continue
        if isinstance(value, want):
            return True
    return False


def _describe(kind) -> str:
    if isinstance(kind, tuple) and kind and kind[0] == "enum":
        return "one of " + ", ".join(kind[1])
    names = {"str": "a string", "int": "an integer", "num": "a number", "bool": "true or false", "list": "a list",
             "dict": "a mapping", "null": "null"}
    return " or ".join(names[k] for k in (kind if isinstance(kind, tuple) else (kind,)))


def check_mapping(path: Path, where: str, data, schema: dict) -> None:
    if not isinstance(data, dict):
        _fail(path, where, "must be a mapping", "see the comment at the top of the shipped file for its keys")
    known = {k.rstrip("!"): v for k, v in schema.items()}
    for key in data:
        if str(key) not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            _fail(path, where, f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                  f"use one of: {', '.join(sorted(known))}")
    for raw, kind in schema.items():
        key = raw.rstrip("!")
        if key not in data:
            if raw.endswith("!"):
                _fail(path, where, f"missing key {key!r}", "add it (see the shipped file for an example)")
            continue
        value = data[key]
        if isinstance(kind, dict):
            check_mapping(path, f"{where}.{key}", value, kind)
        elif not _type_ok(value, kind):
            _fail(path, f"{where}.{key}", f"must be {_describe(kind)}, not {type(value).__name__} {value!r}",
                  f"fix {key} in the file")


def check(name: str, path: Path, doc) -> None:
    """Check one loaded data file (a no-op for files without a schema here)."""
    if name not in FILES:
        return
    top, entries = FILES[name]
    check_mapping(path, name, doc, top)
    for key, (schema, shape) in entries.items():
        items = (doc.get(key) or {}).items() if shape == "dict" else enumerate(doc.get(key) or [])
        for ident, entry in items:
            label = ident if shape == "dict" else (entry.get("name") or entry.get("pattern") or f"#{ident + 1}"
                                                   if isinstance(entry, dict) else f"#{ident + 1}")
            check_mapping(path, f"{key}.{label}", entry, schema)
