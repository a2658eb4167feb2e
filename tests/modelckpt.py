"""Checkpoint folders for tests: config.json plus safetensors files whose headers describe every
tensor of an architecture, written sparse (the data is a hole: a 16 GB checkpoint takes a few KB of
disk). Tensor lists follow the transformers implementations' parameter names and shapes."""

from __future__ import annotations

import json
import struct
from pathlib import Path

BYTES = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4, "U8": 1, "F8_E4M3": 1}


def write_safetensors(path: Path, tensors: list[tuple[str, str, list[int]]]) -> int:
    """A safetensors file with these tensors' header and a sparse data section; its data bytes."""
    header, offset = {}, 0
    for name, dtype, shape in tensors:
        n = BYTES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(blob)) + blob)
        fh.truncate(8 + len(blob) + offset)
    return offset


def llama_tensors(c: dict, dtype: str = "BF16") -> list[tuple[str, str, list[int]]]:
    """A Llama/Mistral/Mixtral/Qwen-style decoder (MoE when the config has experts)."""
    h, heads, kv = c["hidden_size"], c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
    hd = c.get("head_dim") or h // heads
    experts = c.get("num_local_experts") or c.get("num_experts")
    inter = c.get("moe_intermediate_size") if experts and c.get("moe_intermediate_size") else c["intermediate_size"]
    out = [("model.embed_tokens.weight", dtype, [c["vocab_size"], h])]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += [(p + "self_attn.q_proj.weight", dtype, [heads * hd, h]), (p + "self_attn.k_proj.weight", dtype, [kv * hd, h]),
                (p + "self_attn.v_proj.weight", dtype, [kv * hd, h]), (p + "self_attn.o_proj.weight", dtype, [h, heads * hd]),
                (p + "input_layernorm.weight", dtype, [h]), (p + "post_attention_layernorm.weight", dtype, [h])]
        if c.get("model_type") == "qwen3_moe":
            out += [(p + "self_attn.q_norm.weight", dtype, [hd]), (p + "self_attn.k_norm.weight", dtype, [hd])]
        if experts:
            out.append((p + "mlp.gate.weight", dtype, [experts, h]))
            for e in range(experts):
                q = f"{p}mlp.experts.{e}."
                out += [(q + "gate_proj.weight", dtype, [inter, h]), (q + "up_proj.weight", dtype, [inter, h]),
                        (q + "down_proj.weight", dtype, [h, inter])]
        else:
            out += [(p + "mlp.gate_proj.weight", dtype, [inter, h]), (p + "mlp.up_proj.weight", dtype, [inter, h]),
                    (p + "mlp.down_proj.weight", dtype, [h, inter])]
    out.append(("model.norm.weight", dtype, [h]))
    if not c.get("tie_word_embeddings"):
        out.append(("lm_head.weight", dtype, [c["vocab_size"], h]))
    return out


def quantize(tensors, method: str, block: int = 128, group: int = 128):
    """The same model as a quantized checkpoint stores it: fp8 (F8_E4M3 weights + F32 block scales),
    awq (I32 qweight/qzeros, F16 scales), mxfp4 (U8 blocks of 32 fp4 values + U8 scales)."""
    out = []
    for name, dtype, shape in tensors:
        if not (name.endswith("proj.weight") and len(shape) == 2):
            out.append((name, dtype, shape))
            continue
        o, i = shape
        base = name[:-len(".weight")]
        if method == "fp8":
            out += [(name, "F8_E4M3", shape), (base + ".weight_scale_inv", "F32", [-(-o // block), -(-i // block)])]
        elif method == "awq":
            out += [(base + ".qweight", "I32", [i, o // 8]), (base + ".qzeros", "I32", [i // group, o // 8]),
                    (base + ".scales", "F16", [i // group, o])]
        elif method == "mxfp4":
            out += [(base + ".weight_blocks", "U8", [o, i // 32, 16]), (base + ".weight_scales", "U8", [o, i // 32])]
    return out


def count(tensors) -> int:
    n = 0
    for _, _, shape in tensors:
        k = 1
        for d in shape:
            k *= d
        n += k
    return n


def nbytes(tensors) -> int:
    n = 0
    for _, dtype, shape in tensors:
        k = BYTES[dtype]
        for d in shape:
            k *= d
        n += k
    return n


def write_checkpoint(folder: Path, config: dict, tensors, shards: int = 1, twins: bool = False) -> Path:
    """config.json, the tensors in ``shards`` files (with an index when more than one), and with
    ``twins`` a second copy in the publisher's layout (original/, consolidated.safetensors)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    per = -(-len(tensors) // shards)
    weight_map, total = {}, 0
    for s in range(shards):
        part = tensors[s * per:(s + 1) * per]
        name = "model.safetensors" if shards == 1 else f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        total += write_safetensors(folder / name, part)
        weight_map.update({t[0]: name for t in part})
    if shards > 1:
        (folder / "model.safetensors.index.json").write_text(json.dumps(
            {"metadata": {"total_size": total}, "weight_map": weight_map}))
    if twins:
        write_safetensors(folder / "consolidated.safetensors", tensors)
        write_safetensors(folder / "original" / "model.safetensors", tensors)
    return folder


# Published configs (the fields the tensor shapes need), from each model's config.json on the Hub.
LLAMA_31_8B = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
               "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
               "max_position_embeddings": 131072, "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
MIXTRAL_8X7B = {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000, "num_local_experts": 8,
                "num_experts_per_tok": 2, "max_position_embeddings": 32768, "tie_word_embeddings": False,
                "sliding_window": None}
QWEN3_30B_A3B = {"model_type": "qwen3_moe", "hidden_size": 2048, "intermediate_size": 6144,
                 "moe_intermediate_size": 768, "num_hidden_layers": 48, "num_attention_heads": 32,
                 "num_key_value_heads": 4, "head_dim": 128, "vocab_size": 151936, "num_experts": 128,
                 "num_experts_per_tok": 8, "max_position_embeddings": 40960, "tie_word_embeddings": False}
