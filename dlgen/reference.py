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
    """``name``.yaml parsed and checked against its schema. A checked file is kept as JSON in the
    user's cache (keyed by its bytes and dlgen's version), so a one-file lint reads JSON, not YAML."""
    from dlgen.errors import DlgenError

    path = data_file(name)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DlgenError(f"{path}: cannot read this data file: {exc.strerror}",
                         "fix the file, or unset DLGEN_DATA_DIR") from None
    key = _cache_key(name, raw)
    doc = _cached(key)
    if doc is not None:
        return doc
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from dlgen import dataschema

    try:
        doc = YAML(typ="safe").load(raw.decode("utf-8"))
    except (YAMLError, UnicodeDecodeError) as exc:
        raise DlgenError(f"{path}: cannot read this data file: {str(exc).splitlines()[0]}",
                         "fix the file, or unset DLGEN_DATA_DIR") from None
    dataschema.check(name, path, doc)
    _keep(key, doc)
    return doc


def cache_dir() -> Path | None:
    """Where checked data files are kept: $XDG_CACHE_HOME/dlgen or ~/.cache/dlgen; none when
    DLGEN_NO_CACHE is set."""
    if os.environ.get("DLGEN_NO_CACHE"):
        return None
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "dlgen"


def _cache_key(name: str, raw: bytes) -> str:
    import hashlib

    from dlgen import __version__

    return f"{name}-{hashlib.blake2b(raw + __version__.encode(), digest_size=12).hexdigest()}"


def _cached(key: str) -> dict | None:
    import json

    where = cache_dir()
    if where is None:
        return None
    try:
        doc = json.loads((where / f"{key}.json").read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _keep(key: str, doc: dict) -> None:
    """Write the cache entry atomically and drop the file's older entries; a cache that cannot be
    written (read-only home) or a document JSON would change (number keys) is skipped, never an error."""
    import json
    import tempfile

    where = cache_dir()
    if where is None:
        return
    try:
        text = json.dumps(doc, separators=(",", ":"))
        if json.loads(text) != doc:   # what JSON cannot hold as it is (number keys: exit_codes.yaml)
            return
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, where / f"{key}.json")
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            return
        stem = key.rsplit("-", 1)[0]
        for old in where.glob(f"{stem}-*.json"):
            if old.name != f"{key}.json" and old.name.rsplit("-", 1)[0] == stem:
                old.unlink(missing_ok=True)
    except (OSError, TypeError, ValueError):
        return


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
