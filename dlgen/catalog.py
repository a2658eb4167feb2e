"""Model names -> parameter count, dtype and weight size.

Accepts catalog names and aliases (``llama-8b``), Hugging Face ids
(``meta-llama/Llama-3.1-8B-Instruct``; sizes are read from the name when the id is not in
the catalog) and explicit sizes (``--params 8B --dtype bf16``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

from dlgen import reference
from dlgen.errors import DlgenError

# Bytes per parameter of each dtype (fp32 4, bf16/fp16 2, fp8/int8 1, int4 0.5).
BYTES_PER_PARAM = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}
DTYPE_ALIASES = {
    "float32": "fp32", "float": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16",
    "e4m3": "fp8", "awq": "int4", "gptq": "int4", "4bit": "int4", "8bit": "int8",
}
# torch / server spelling of each dtype
TORCH_DTYPE = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "fp8": "float8_e4m3fn",
               "int8": "int8", "int4": "int4"}

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmbt]?)$", re.IGNORECASE)
_NAME_SIZE_RE = re.compile(r"(?<![a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)([mb])(?![a-z0-9])", re.IGNORECASE)
NAME_SOURCE = "parameter count read from the model id"
_UNIT = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


@dataclass(frozen=True)
class Model:
    name: str          # catalog name, or the id / size given
    hf_id: str         # what the server loads ("" when only a size was given)
    task: str          # llm, vision, diffusion, speech, embedding, custom
    params: int
    dtype: str
    source: str
    torchvision: str = ""
    in_catalog: bool = True
    heads: int | None = None       # num_attention_heads (config.json), LLMs in the catalog
    kv_heads: int | None = None    # num_key_value_heads
    gguf: tuple[str, str, float] | None = None   # (repo, file, GB) of a public GGUF for llama.cpp
    stored_gb: float | None = None   # the checkpoint's own size (its safetensors headers), when read
    quant: str | None = None         # quantization_config.quant_method of the checkpoint
    stored_dtype: str | None = None  # the checkpoint's dtype when --dtype converts it at load (else dtype)
    layers: int | None = None        # num_hidden_layers (config.json)
    head_dim: int | None = None
    context: int | None = None       # max_position_embeddings

    @property
    def weights_gb(self) -> float:
        """Decimal GB of the checkpoint as stored (what is downloaded and kept on the volume): its
        safetensors headers when read (dlgen.modelfacts), else params x bytes per param."""
        if self.stored_gb is not None:
            return self.stored_gb
        return self.params * BYTES_PER_PARAM[self.stored_dtype or self.dtype] / 1e9

    @property
    def gpu_gb(self) -> float:
        """Decimal GB of weights on the GPUs: the stored bytes, or the conversion --dtype asks for."""
        if self.stored_dtype and self.stored_dtype != self.dtype:
            return self.params * BYTES_PER_PARAM[self.dtype] / 1e9
        return self.weights_gb

    @property
    def torch_dtype(self) -> str:
        return TORCH_DTYPE[self.dtype]

    def with_dtype(self, dtype: str | None) -> Model:
        """The same checkpoint loaded as ``dtype``: the download stays what is stored; whether the
        chosen server can convert it so is spec's question (quantization)."""
        if not dtype or normalize_dtype(dtype) == self.dtype:
            return self
        return replace(self, dtype=normalize_dtype(dtype), stored_dtype=self.stored_dtype or self.dtype)


def normalize_dtype(dtype: str) -> str:
    d = dtype.strip().lower()
    d = DTYPE_ALIASES.get(d, d)
    if d not in BYTES_PER_PARAM:
        raise DlgenError(f"unknown dtype {dtype!r}", f"use one of {', '.join(BYTES_PER_PARAM)}")
    return d


def parse_params(text: str) -> int:
    """'8B' -> 8e9, '350M' -> 3.5e8, '8030261248' -> itself."""
    m = _SIZE_RE.match(text.strip().replace("_", "").replace(",", ""))
    if not m:
        raise DlgenError(f"cannot read parameter count {text!r}", "write it like 8B, 1.5B or 350M")
    value = float(m.group(1)) * _UNIT[m.group(2).lower()]
    if value < 1e5:
        raise DlgenError(f"parameter count {text!r} is implausibly small", "write it like 8B, 1.5B or 350M")
    return int(value)


def entry_model(entry: dict) -> Model:
    return Model(entry["name"], entry["hf_id"], entry["task"], int(entry["params"]), entry["dtype"],
                 entry["source"], entry.get("torchvision", ""), True, entry.get("num_attention_heads"),
                 entry.get("num_key_value_heads"),
                 (g["repo"], g["file"], float(g["size_gb"])) if (g := entry.get("gguf")) else None,
                 layers=entry.get("num_hidden_layers"),
                 head_dim=entry.get("head_dim") or (entry["hidden_size"] // entry["num_attention_heads"]
                                                    if entry.get("hidden_size") and entry.get("num_attention_heads")
                                                    else None),
                 context=entry.get("max_position_embeddings"),
                 stored_gb=float(entry["stored_gb"]) if entry.get("stored_gb") else None,
                 quant=entry.get("quant_method"))


def _index() -> dict[str, dict]:
    idx: dict[str, dict] = {}
    for e in reference.models():
        for key in [e["name"], *e.get("aliases", []), e["hf_id"]]:
            idx[key.lower()] = e
    return idx


def size_from_name(name: str) -> int | None:
    """Parameter count written in a model id (``Llama-3.1-8B`` -> 8e9; ``Mixtral-8x7B`` -> None).

    MoE names (``8x7b``) are not multiplied out: attention weights are shared, so the
    arithmetic is wrong (a mixture of experts loads all of its experts); such names need --params.
    """
    for m in _NAME_SIZE_RE.finditer(name.rsplit("/", 1)[-1]):
        if m.group(1):
            return None
        return int(float(m.group(2)) * _UNIT[m.group(3).lower()])
    return None


def find(name: str) -> Model | None:
    e = _index().get(name.strip().lower())
    return entry_model(e) if e else None


# A name that marks a mixture of experts or a quantized checkpoint: its size cannot be read from it
# (17B-16E and 235B-A22B give active parameters; FP8/AWQ/MXFP4 change the bytes per parameter).
_UNSIZEABLE_NAME = re.compile(r"(-A\d+(\.\d+)?B\b|-\d+E\b|\d+x\d+(\.\d+)?B|FP8|FP4|AWQ|GPTQ|Int4|Int8|MXFP4|bnb|"
                              r"4bit|8bit|GGUF|EXL2)", re.IGNORECASE)


def from_facts(name: str, facts) -> Model:
    """A Model from what the checkpoint itself says (dlgen.modelfacts.ModelFacts)."""
    return Model(name, name, "diffusion" if facts.task == "diffusion" else "llm", facts.params, facts.dtype,
                 f"read from {facts.where}", "", False, facts.heads, facts.kv_heads, None,
                 round(facts.stored_gb, 3), facts.quant_method, layers=facts.layers,
                 head_dim=facts.head_dim, context=facts.context)


def _hub_facts(name: str, online: bool) -> tuple[Model | None, str]:
    """(the model as its Hub files describe it, or None; why not, when not)."""
    from dlgen import modelfacts

    facts = modelfacts.cached(name)
    if facts is None and online:
        try:
            facts = modelfacts.from_hub(name)
        except modelfacts.HubUnreachable as exc:
            return None, str(exc)
    if facts is None:
        return None, "not read from the Hub"
    return from_facts(name, facts), ""


def resolve(name: str | None = None, params: str | None = None, dtype: str | None = None,
            online: bool = False) -> Model:
    """Turn --model / --params / --dtype into a Model, or raise a DlgenError. A Hugging Face id not
    in the catalog is read from the Hub (``online``; dlgen new) or from the facts cache (lint), and
    only as the last resort from the size in its name."""
    if name is not None:
        _check_text("model", name)
    if params:
        count = parse_params(params)
        label = name or f"custom-{params.strip().lower()}"
        hf_id = name if name and "/" in name else ""
        base = find(name) if name else None
        task = base.task if base else "custom"
        return Model(label, base.hf_id if base else hf_id, task, count, normalize_dtype(dtype or "bf16"),
                     f"--params {params}", base.torchvision if base else "", False,
                     base.heads if base else None, base.kv_heads if base else None,
                     base.gguf if base else None)
    if not name:
        raise DlgenError("no model given", "pass --model NAME (see `dlgen models`) or --params 8B")
    model = find(name)
    if model:
        return model.with_dtype(dtype)
    if "/" in name:
        read, why = _hub_facts(name, online)
        if read is not None:
            return read.with_dtype(dtype)
        found = size_from_name(name)
        if found is None or _UNSIZEABLE_NAME.search(name.rsplit("/", 1)[-1]):
            what = "a mixture of experts or a quantized checkpoint" if found else "no size"
            raise DlgenError(f"cannot tell the size of {name!r}: its files could not be read ({why}) and its name "
                             f"says {what}", "let dlgen reach the Hub (HF_ENDPOINT for a mirror, HF_TOKEN for a "
                             "gated model), or add --params with --dtype")
        return Model(name, name, "llm", found, normalize_dtype(dtype or "bf16"),
                     f"{NAME_SOURCE} ({why})", "", False)
    choices = sorted({k for k in _index() if "/" not in k})
    close = difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "see `dlgen models`"
    raise DlgenError(f"unknown model {name!r}", hint + " (or pass a Hugging Face id, or --params 8B)")


def _check_text(what: str, value: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{0,199}", value, re.ASCII):
        raise DlgenError(f"{what} {value!r} has characters a model name or id does not have",
                         "use letters, digits and - _ . / : only")
