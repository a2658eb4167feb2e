"""What a model is, read from the model itself: its config.json and the headers of its safetensors
files, in a local checkpoint folder or on the Hugging Face Hub.

- **safetensors** (huggingface/safetensors README, "Format"): 8 bytes little-endian u64 N, then N
  bytes of JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": ...}``,
  then the data. A tensor's stored bytes are ``end - begin``; reading a header takes two small reads
  (HTTP Range requests on the Hub), never the weights.
- **Which files are loaded**: ``model.safetensors.index.json``'s ``weight_map`` when there is one,
  else every ``*.safetensors`` except second copies in another layout (``original/``,
  ``consolidated*.safetensors``): summing every file of a repository can double its size.
- **config.json**: layers, hidden size, attention and KV heads, head dim, context length (nested
  under ``text_config`` for multimodal models), experts (``num_local_experts`` / ``num_experts`` /
  ``n_routed_experts``, ``num_experts_per_tok``), multi-head latent attention (``kv_lora_rank``),
  sliding windows, and ``quantization_config.quant_method`` (fp8, awq, gptq, mxfp4,
  compressed-tensors, bitsandbytes).
- **The Hub**, through huggingface_hub's public API (``HfApi.model_info`` with file sizes,
  ``hf_hub_download`` for config.json and the index, Range requests on ``hf_hub_url`` for headers),
  with ``HF_ENDPOINT``, ``HF_TOKEN`` and ``HF_HUB_OFFLINE`` read when the call is made. What was read
  is kept in dlgen's facts cache, so a second ``dlgen new`` for the same model makes no network call.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dlgen.errors import DlgenError

# Bytes per element of each safetensors dtype (safetensors README; F8_E8M0 and F4 in newer versions).
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
               "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "U16": 2, "U32": 4, "U64": 8, "F4": 0.5}
# dlgen's dtype for the dtype that holds most of the bytes.
STORED_DTYPE = {"F32": "fp32", "F16": "fp16", "BF16": "bf16", "F8_E4M3": "fp8", "F8_E5M2": "fp8", "I8": "int8"}
# quant_method -> dlgen dtype of the weights as loaded (the stored bytes are what the GPU holds).
QUANT_DTYPE = {"fp8": "fp8", "fbgemm_fp8": "fp8", "awq": "int4", "gptq": "int4", "mxfp4": "int4",
               "bitsandbytes": "int4", "compressed-tensors": "int8"}
# Values packed into one stored element: int4 in I32 (AWQ, GPTQ qweight), fp4 pairs in U8 (MXFP4 blocks).
PACKED = (("awq", "I32", 8), ("gptq", "I32", 8), ("mxfp4", "U8", 2))
MAX_HEADER = 100 * 2**20          # a header larger than this is not a safetensors header
TWIN = re.compile(r"(^|/)(original/|consolidated[^/]*\.safetensors$)")
HUB_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ModelFacts:
    """One model's facts, from its files."""
    where: str                          # the folder, or hub:REPO@COMMIT
    stored_bytes: int                   # what is downloaded and (for these formats) what the GPU holds
    params: int                         # total parameters (packed values unpacked)
    dtype: str                          # dlgen dtype of the weights as loaded: bf16, fp8, int4...
    quant_method: str | None = None
    task: str = "llm"                   # llm, or diffusion for a pipeline (model_index.json)
    model_type: str = ""
    layers: int | None = None
    hidden: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None
    context: int | None = None
    experts: int | None = None
    experts_per_token: int | None = None
    attention: str = "full"             # full, mla (latent), sliding (a window on some layers)
    bytes_by_dtype: dict[str, int] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    @property
    def stored_gb(self) -> float:
        return self.stored_bytes / 1e9

    @property
    def active_params(self) -> int | None:
        """Parameters one token runs through (a mixture of experts: the shared part + k experts)."""
        if not (self.experts and self.experts_per_token):
            return None
        share = self.experts_per_token / self.experts
        return int(self.params * share) if share < 1 else self.params

    def to_json(self) -> dict:
        d = asdict(self)
        d["files"] = list(self.files)
        return d

    @classmethod
    def from_json(cls, d: dict) -> ModelFacts:
        return cls(**{**d, "files": tuple(d.get("files") or ())})


# ---------------------------------------------------------------------------------- safetensors
def parse_header(read: Callable[[int, int], bytes], name: str) -> dict:
    """A safetensors header through ``read(offset, length)``."""
    head = read(0, 8)
    if len(head) != 8:
        raise DlgenError(f"{name}: not a safetensors file (shorter than 8 bytes)", "check the checkpoint's files")
    (size,) = struct.unpack("<Q", head)
    if size > MAX_HEADER:
        raise DlgenError(f"{name}: not a safetensors file (header of {size} bytes)", "check the checkpoint's files")
    try:
        header = json.loads(read(8, size))
    except (ValueError, UnicodeDecodeError):
        raise DlgenError(f"{name}: its safetensors header is not JSON", "check the checkpoint's files") from None
    if not isinstance(header, dict):
        raise DlgenError(f"{name}: its safetensors header is not a mapping", "check the checkpoint's files")
    return header


def tensors(header: dict) -> Iterable[tuple[str, str, int, int]]:
    """(name, dtype, elements, stored bytes) per tensor of a header."""
    for name, t in header.items():
        if name == "__metadata__" or not isinstance(t, dict):
            continue
        count = 1
        for dim in t.get("shape") or []:
            count *= int(dim)
        begin, end = (t.get("data_offsets") or [0, 0])[:2]
        yield name, str(t.get("dtype")), count, int(end) - int(begin)


def loaded_files(names: Iterable[str], index: dict | None, pipeline: bool = False) -> list[str]:
    """The safetensors files a loader reads: the index's, else every one but second copies; of a
    diffusers ``pipeline``, those in its component folders (not a single-file twin at the top)."""
    if index and isinstance(index.get("weight_map"), dict):
        return sorted(set(index["weight_map"].values()))
    files = sorted(n for n in names if n.endswith(".safetensors"))
    kept = [n for n in files if not TWIN.search(n)] or files
    return [n for n in kept if "/" in n] if pipeline else kept


def _text_config(config: dict) -> dict:
    inner = config.get("text_config")
    return {**config, **inner} if isinstance(inner, dict) else config


def summarize(config: dict, headers: dict[str, dict], where: str, task: str = "llm") -> ModelFacts:
    """The facts of a model from its config.json and the headers of the files it loads."""
    c = _text_config(config)
    quant = c.get("quantization_config") or config.get("quantization_config") or {}
    method = str(quant.get("quant_method") or "").lower() or None
    by_dtype: dict[str, int] = {}
    params = stored = 0
    for header in headers.values():
        for name, dtype, count, nbytes in tensors(header):
            by_dtype[dtype] = by_dtype.get(dtype, 0) + nbytes
            stored += nbytes
            for m, packed_dtype, per in PACKED:
                if method == m and dtype == packed_dtype and re.search(r"(qweight|_blocks)$", name):
                    count *= per
                    break
            else:
                if method in ("awq", "gptq") and re.search(r"(qzeros|scales|g_idx)$", name):
                    count = 0        # quantization metadata, not parameters
                elif method in ("mxfp4", "fp8") and re.search(r"(_scales|scale_inv|_scale)$", name):
                    count = 0
            params += count
    main = max(by_dtype, key=lambda d: by_dtype[d]) if by_dtype else "BF16"
    dtype = QUANT_DTYPE.get(method or "", STORED_DTYPE.get(main, "bf16"))
    heads = c.get("num_attention_heads")
    hidden = c.get("hidden_size")
    head_dim = c.get("head_dim") or (hidden // heads if hidden and heads else None)
    experts = c.get("num_local_experts") or c.get("num_experts") or c.get("n_routed_experts")
    attention = "mla" if c.get("kv_lora_rank") else "sliding" if c.get("sliding_window") else "full"
    kv_heads = c.get("num_key_value_heads") or heads
    if attention == "mla":   # one latent per token and layer: kv_lora_rank + qk_rope_head_dim values (K and V alike)
        kv_heads, head_dim = 1, (int(c["kv_lora_rank"]) + int(c.get("qk_rope_head_dim") or 0)) // 2
    return ModelFacts(where=where, stored_bytes=stored, params=params, dtype=dtype, quant_method=method, task=task,
                      model_type=str(c.get("model_type") or ""), layers=c.get("num_hidden_layers"), hidden=hidden,
                      heads=heads, kv_heads=kv_heads, head_dim=head_dim,
                      context=c.get("max_position_embeddings"), experts=experts,
                      experts_per_token=c.get("num_experts_per_tok") or c.get("experts_per_token"),
                      attention=attention, bytes_by_dtype=by_dtype, files=tuple(sorted(headers)))


# ---------------------------------------------------------------------------------- a local folder
def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DlgenError(f"{path}: cannot read it ({exc})", "check the checkpoint's files") from None
    if not isinstance(data, dict):
        raise DlgenError(f"{path}: not a JSON object", "check the checkpoint's files")
    return data


def _file_reader(path: Path) -> Callable[[int, int], bytes]:
    def read(offset: int, length: int) -> bytes:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(length)
    return read


def read_local(folder: Path) -> ModelFacts:
    """The facts of a checkpoint folder (a transformers model, or a diffusers pipeline)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DlgenError(f"{folder}: no such checkpoint folder", "give the folder that holds config.json")
    pipeline = (folder / "model_index.json").is_file()   # a diffusers pipeline: one folder per component
    if not pipeline and not (folder / "config.json").is_file():
        raise DlgenError(f"{folder}: no config.json", "give the folder of a transformers or diffusers checkpoint")
    index_path = folder / "model.safetensors.index.json"
    index = _json(index_path) if index_path.is_file() and not pipeline else None
    names = [p.relative_to(folder).as_posix() for p in folder.rglob("*.safetensors")]
    files = loaded_files(names, index, pipeline)
    if not files:
        raise DlgenError(f"{folder}: no safetensors weights", "convert the checkpoint to safetensors")
    headers = {n: parse_header(_file_reader(folder / n), n) for n in files}
    config = {} if pipeline else _json(folder / "config.json")
    return summarize(config, headers, str(folder), task="diffusion" if pipeline else "llm")


# ---------------------------------------------------------------------------------- GGUF
# GGUF (ggml docs/gguf.md): "GGUF", version u32, tensor count u64, metadata count u64, the metadata
# (key string, value type u32, value), then per tensor: name, n_dims u32, dims u64 x n, type u32,
# offset u64. Strings are u64 length + bytes. The file is what llama.cpp loads: its size is the
# stored size; the tensors' dimensions give the parameters.
_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
MAX_GGUF_ITEMS = 10_000_000


class _Reader:
    def __init__(self, fh, name: str):
        self.fh, self.name = fh, name

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        data = self.fh.read(size)
        if len(data) != size:
            raise DlgenError(f"{self.name}: its GGUF header ends early", "check the .gguf file (a partial download?)")
        return struct.unpack(fmt, data)[0]

    def string(self) -> str:
        n = self.take("<Q")
        if n > 2**20:
            raise DlgenError(f"{self.name}: not a GGUF header (a {n}-byte string)", "check the .gguf file")
        return self.fh.read(n).decode("utf-8", "replace")

    def value(self, kind: int):
        if kind in _GGUF_SCALARS:
            return self.take(_GGUF_SCALARS[kind])
        if kind == 8:
            return self.string()
        if kind == 9:
            inner, n = self.take("<I"), self.take("<Q")
            if n > MAX_GGUF_ITEMS:
                raise DlgenError(f"{self.name}: not a GGUF header (an array of {n})", "check the .gguf file")
            items = [self.value(inner) for _ in range(n)]
            return items if len(items) <= 16 else None   # vocabularies: not facts dlgen uses
        raise DlgenError(f"{self.name}: unknown GGUF value type {kind}", "check the .gguf file")


def read_gguf(path: Path) -> ModelFacts:
    """The facts of a GGUF file: its size, the tensors' parameters, and the architecture's metadata."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            r = _Reader(fh, str(path))
            if fh.read(4) != b"GGUF":
                raise DlgenError(f"{path}: not a GGUF file", "give the .gguf file llama.cpp loads")
            version = r.take("<I")
            if version < 2:
                raise DlgenError(f"{path}: GGUF version {version} is older than llama.cpp reads", "convert it again")
            tensors, entries = r.take("<Q"), r.take("<Q")
            if tensors > MAX_GGUF_ITEMS or entries > MAX_GGUF_ITEMS:
                raise DlgenError(f"{path}: not a GGUF header", "check the .gguf file")
            meta = {}
            for _ in range(entries):
                key = r.string()
                meta[key] = r.value(r.take("<I"))
            params = 0
            for _ in range(tensors):
                r.string()
                dims = [r.take("<Q") for _ in range(r.take("<I"))]
                r.take("<I"), r.take("<Q")
                count = 1
                for d in dims:
                    count *= d
                params += count
            size = path.stat().st_size
    except OSError as exc:
        raise DlgenError(f"{path}: cannot read it ({exc.strerror})", "give the .gguf file llama.cpp loads") from None
    arch = str(meta.get("general.architecture") or "")

    def get(key: str):
        value = meta.get(f"{arch}.{key}")
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    heads, hidden = get("attention.head_count"), get("embedding_length")
    return ModelFacts(where=str(path), stored_bytes=size, params=params, dtype="int4", quant_method="gguf",
                      model_type=arch, layers=get("block_count"), hidden=hidden, heads=heads,
                      kv_heads=get("attention.head_count_kv") or heads,
                      head_dim=get("attention.key_length") or (hidden // heads if hidden and heads else None),
                      context=get("context_length"), experts=get("expert_count"),
                      experts_per_token=get("expert_used_count"), files=(path.name,))


# ---------------------------------------------------------------------------------- the Hub
def cache_dir() -> Path:
    base = os.environ.get("DLGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dlgen")
    return Path(base) / "model-facts"


def _endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def _cache_path(repo: str) -> Path:
    key = hashlib.sha256(f"{_endpoint()}|{repo}".encode()).hexdigest()[:16]
    return cache_dir() / f"{repo.replace('/', '--')}-{key}.json"


def cached(repo: str) -> ModelFacts | None:
    """The facts read earlier for ``repo`` from this endpoint (no network)."""
    path = _cache_path(repo)
    try:
        return ModelFacts.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _remember(repo: str, facts: ModelFacts) -> None:
    from dlgen import textfile

    path = _cache_path(repo)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        textfile.write_text(path, json.dumps(facts.to_json(), indent=1) + "\n")
    except (OSError, textfile.FileProblem):
        pass   # a read-only cache only costs the next call a network request


def offline() -> bool:
    return (os.environ.get("HF_HUB_OFFLINE") or "").strip().lower() in ("1", "true", "yes", "on")


class HubUnreachable(Exception):
    """The Hub (or the mirror in HF_ENDPOINT) did not answer."""


def from_hub(repo: str) -> ModelFacts:
    """The facts of a Hub repository: the cache first, then the Hub (unless HF_HUB_OFFLINE). Raises
    DlgenError for a repository that does not exist or is gated without access, HubUnreachable
    when there is no answer."""
    facts = cached(repo)
    if facts is not None:
        return facts
    if offline():
        raise HubUnreachable(f"HF_HUB_OFFLINE is set and dlgen has no facts of {repo} cached")
    facts = _read_hub(repo)
    _remember(repo, facts)
    return facts


def _read_hub(repo: str) -> ModelFacts:
    import requests
    from huggingface_hub import HfApi, get_session, hf_hub_download, hf_hub_url
    from huggingface_hub.utils import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        build_hf_headers,
    )

    endpoint, token = _endpoint(), os.environ.get("HF_TOKEN") or None
    gated_fix = (f"accept the model's license at {endpoint}/{repo} and set HF_TOKEN to a token of that account")
    try:
        info = HfApi(endpoint=endpoint, token=token).model_info(repo, files_metadata=True, timeout=HUB_TIMEOUT_S)
        commit = info.sha or "main"
        names = [s.rfilename for s in info.siblings or []]

        def fetch(filename: str) -> dict | None:
            if filename not in names:
                return None
            local = hf_hub_download(repo, filename, revision=commit, endpoint=endpoint, token=token,
                                    etag_timeout=HUB_TIMEOUT_S)
            return _json(Path(local))

        diffusers = "model_index.json" in names
        config = {} if diffusers else fetch("config.json")
        if config is None:
            raise DlgenError(f"{repo} has no config.json on {endpoint}", "give --params and --dtype for it")
        index = None if diffusers else fetch("model.safetensors.index.json")
        files = loaded_files(names, index, pipeline=diffusers)
        if not files:
            raise DlgenError(f"{repo} has no safetensors weights on {endpoint}", "give --params and --dtype for it")
        session, headers = get_session(), build_hf_headers(token=token)

        def reader(filename: str) -> Callable[[int, int], bytes]:
            url = hf_hub_url(repo, filename, revision=commit, endpoint=endpoint)

            def read(offset: int, length: int) -> bytes:
                r = session.get(url, headers={**headers, "Range": f"bytes={offset}-{offset + length - 1}"},
                                timeout=HUB_TIMEOUT_S)
                if r.status_code in (401, 403):
                    raise GatedRepoError(f"{r.status_code} for {url}", response=r)
                r.raise_for_status()
                return r.content[:length]
            return read

        parsed = {n: parse_header(reader(n), f"{repo}/{n}") for n in files}
        return summarize(config, parsed, f"hub:{repo}@{commit[:12]}", task="diffusion" if diffusers else "llm")
    except GatedRepoError:
        raise DlgenError(f"{repo} is gated: its files need a token of an account that accepted its license",
                         gated_fix) from None
    except RepositoryNotFoundError:
        raise DlgenError(f"{repo} is not a model on {endpoint} (or it is private)",
                         "check the id, or set HF_TOKEN for a private repository") from None
    except EntryNotFoundError as exc:
        raise DlgenError(f"{repo}: a file it lists is missing ({exc})", "give --params and --dtype for it") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            raise DlgenError(f"{repo} is gated or private: {endpoint} answered {status}", gated_fix) from None
        raise HubUnreachable(f"{endpoint} answered {status}") from None
    except (requests.ConnectionError, requests.Timeout, OSError) as exc:
        raise HubUnreachable(f"{endpoint} did not answer ({type(exc).__name__})") from None
