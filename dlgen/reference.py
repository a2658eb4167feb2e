"""Reference data shipped in dlgen/data/*.yaml (models, servers, images, torch/CUDA matrix, exit
codes), loaded once per process. (Named so it does not shadow the dlgen.data package of YAML files.)"""

from __future__ import annotations

import fnmatch
import os
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")


def data_file(name: str) -> Path:
    """``name``.yaml from $DLGEN_DATA_DIR when that directory has it (a site's own presets, models or
    image facts, or a test's), else the one shipped with dlgen."""
    extra = os.environ.get("DLGEN_DATA_DIR")
    if extra and (Path(extra) / f"{name}.yaml").is_file():
        return Path(extra) / f"{name}.yaml"
    return DATA_DIR / f"{name}.yaml"


@cache
def load(name: str) -> dict:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from dlgen import dataschema
    from dlgen.errors import DlgenError

    path = data_file(name)
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError, OSError) as exc:
        raise DlgenError(f"{path}: cannot read this data file: {str(exc).splitlines()[0]}",
                         "fix the file, or unset DLGEN_DATA_DIR") from None
    dataschema.check(name, path, doc)
    return doc


def models() -> list[dict]:
    return load("models")["models"]


def torch_matrix() -> dict:
    return load("torch_cuda")


def servers() -> dict:
    return load("servers")


def image_facts(image: str) -> dict | None:
    """Facts for an image reference (``repo:tag``; a digest is ignored), or None if unknown."""
    ref = image.split("@", 1)[0].lower()
    if ref.startswith("docker.io/"):
        ref = ref[len("docker.io/"):]
    if ref.startswith("library/"):
        ref = ref[len("library/"):]
    for entry in load("images")["images"]:
        if fnmatch.fnmatchcase(ref, entry["pattern"]):
            return entry
    return None
