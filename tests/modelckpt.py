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
    experts = c.get("num_local_experts") or c.get("num_experts") or c.get("n_routed_experts")
    inter = c.get("moe_intermediate_size") if experts and c.get("moe_intermediate_size") else c["intermediate_size"]
    out = [("model.embed_tokens.weight", dtype, [c["vocab_size"], h])]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += [(p + "self_attn.q_proj.weight", dtype, [heads * hd, h]), (p + "self_attn.k_proj.weight", dtype, [kv * hd, h]),
                (p + "self_attn.v_proj.weight", dtype, [kv * hd, h]), (p + "self_attn.o_proj.weight", dtype, [h, heads * hd]),
                (p + "input_layernorm.weight", dtype, [h]), (p + "post_attention_layernorm.weight", dtype, [h])]
        if c.get("model_type") == "qwen3_moe":
            out += [(p + "self_attn.q_norm.weight", dtype, [hd]), (p + "self_attn.k_norm.weight", dtype, [hd])]
        if experts and i < c.get("first_k_dense_replace", 0):   # the first layers dense (GLM-4.5, DeepSeek)
            d = c["intermediate_size"]
            out += [(p + "mlp.gate_proj.weight", dtype, [d, h]), (p + "mlp.up_proj.weight", dtype, [d, h]),
                    (p + "mlp.down_proj.weight", dtype, [h, d])]
        elif experts:
            out.append((p + "mlp.gate.weight", dtype, [experts, h]))
            for j in range(c.get("n_shared_experts", 0)):
                q = f"{p}mlp.shared_experts.{j}."
                out += [(q + "gate_proj.weight", dtype, [inter, h]), (q + "up_proj.weight", dtype, [inter, h]),
                        (q + "down_proj.weight", dtype, [h, inter])]
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


def gpt_oss_tensors(c: dict) -> list[tuple[str, str, list[int]]]:
    """gpt-oss: bf16 attention (with sinks) and embeddings; MoE experts in MXFP4 (U8 blocks of 32
    fp4 values in 16 bytes, U8 scales per block) with bf16 biases (transformers GptOss layout)."""
    h, heads, kv, hd, e = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], \
        c["num_local_experts"]
    inter = c["intermediate_size"]
    out = [("model.embed_tokens.weight", "BF16", [c["vocab_size"], h]), ("lm_head.weight", "BF16", [c["vocab_size"], h]),
           ("model.norm.weight", "BF16", [h])]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += [(p + "self_attn.q_proj.weight", "BF16", [heads * hd, h]), (p + "self_attn.q_proj.bias", "BF16", [heads * hd]),
                (p + "self_attn.k_proj.weight", "BF16", [kv * hd, h]), (p + "self_attn.k_proj.bias", "BF16", [kv * hd]),
                (p + "self_attn.v_proj.weight", "BF16", [kv * hd, h]), (p + "self_attn.v_proj.bias", "BF16", [kv * hd]),
                (p + "self_attn.o_proj.weight", "BF16", [h, heads * hd]), (p + "self_attn.o_proj.bias", "BF16", [h]),
                (p + "self_attn.sinks", "BF16", [heads]), (p + "input_layernorm.weight", "BF16", [h]),
                (p + "post_attention_layernorm.weight", "BF16", [h]),
                (p + "mlp.router.weight", "BF16", [e, h]), (p + "mlp.router.bias", "BF16", [e]),
                (p + "mlp.experts.gate_up_proj_blocks", "U8", [e, 2 * inter, h // 32, 16]),
                (p + "mlp.experts.gate_up_proj_scales", "U8", [e, 2 * inter, h // 32]),
                (p + "mlp.experts.gate_up_proj_bias", "BF16", [e, 2 * inter]),
                (p + "mlp.experts.down_proj_blocks", "U8", [e, h, inter // 32, 16]),
                (p + "mlp.experts.down_proj_scales", "U8", [e, h, inter // 32]),
                (p + "mlp.experts.down_proj_bias", "BF16", [e, h])]
    return out


def llama4_tensors(c: dict) -> list[tuple[str, str, list[int]]]:
    """Llama 4 text model: every layer a mixture of experts (interleave step 1) with one shared
    expert; experts stored fused (gate_up_proj [E, h, 2i], down_proj [E, i, h])."""
    h, heads, kv, hd, e = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], \
        c["num_local_experts"]
    inter = c["intermediate_size"]
    out = [("language_model.model.embed_tokens.weight", "BF16", [c["vocab_size"], h]),
           ("language_model.lm_head.weight", "BF16", [c["vocab_size"], h]),
           ("language_model.model.norm.weight", "BF16", [h])]
    for i in range(c["num_hidden_layers"]):
        p = f"language_model.model.layers.{i}."
        out += [(p + "self_attn.q_proj.weight", "BF16", [heads * hd, h]), (p + "self_attn.k_proj.weight", "BF16", [kv * hd, h]),
                (p + "self_attn.v_proj.weight", "BF16", [kv * hd, h]), (p + "self_attn.o_proj.weight", "BF16", [h, heads * hd]),
                (p + "input_layernorm.weight", "BF16", [h]), (p + "post_attention_layernorm.weight", "BF16", [h])]
        step = c.get("interleave_moe_layer_step", 1)
        if (i + 1) % step:   # a dense layer between MoE layers (Maverick: every other one)
            d = c["intermediate_size_mlp"]
            out += [(p + "feed_forward.gate_proj.weight", "BF16", [d, h]), (p + "feed_forward.up_proj.weight", "BF16", [d, h]),
                    (p + "feed_forward.down_proj.weight", "BF16", [h, d])]
            continue
        out += [(p + "feed_forward.router.weight", "BF16", [e, h]),
                (p + "feed_forward.experts.gate_up_proj", "BF16", [e, h, 2 * inter]),
                (p + "feed_forward.experts.down_proj", "BF16", [e, inter, h]),
                (p + "feed_forward.shared_expert.gate_proj.weight", "BF16", [inter, h]),
                (p + "feed_forward.shared_expert.up_proj.weight", "BF16", [inter, h]),
                (p + "feed_forward.shared_expert.down_proj.weight", "BF16", [h, inter])]
    return out


def deepseek_tensors(c: dict, dtype: str = "F8_E4M3") -> list[tuple[str, str, list[int]]]:
    """DeepSeek-V3: multi-head latent attention, first_k_dense_replace dense layers, then routed
    experts plus a shared expert; weights FP8 with F32 128x128 block scales, norms and embeddings bf16."""
    h, heads = c["hidden_size"], c["num_attention_heads"]
    qk = c["qk_nope_head_dim"] + c["qk_rope_head_dim"]

    def lin(name, o, i):
        return [(name + ".weight", dtype, [o, i]), (name + ".weight_scale_inv", "F32", [-(-o // 128), -(-i // 128)])]
    out = [("model.embed_tokens.weight", "BF16", [c["vocab_size"], h]), ("lm_head.weight", "BF16", [c["vocab_size"], h]),
           ("model.norm.weight", "BF16", [h])]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += lin(p + "self_attn.q_a_proj", c["q_lora_rank"], h) + lin(p + "self_attn.q_b_proj", heads * qk, c["q_lora_rank"])
        out += lin(p + "self_attn.kv_a_proj_with_mqa", c["kv_lora_rank"] + c["qk_rope_head_dim"], h)
        out += lin(p + "self_attn.kv_b_proj", heads * (c["qk_nope_head_dim"] + c["v_head_dim"]), c["kv_lora_rank"])
        out += lin(p + "self_attn.o_proj", h, heads * c["v_head_dim"])
        out += [(p + "self_attn.q_a_layernorm.weight", "BF16", [c["q_lora_rank"]]),
                (p + "self_attn.kv_a_layernorm.weight", "BF16", [c["kv_lora_rank"]]),
                (p + "input_layernorm.weight", "BF16", [h]), (p + "post_attention_layernorm.weight", "BF16", [h])]
        if i < c["first_k_dense_replace"]:
            out += lin(p + "mlp.gate_proj", c["intermediate_size"], h) + lin(p + "mlp.up_proj", c["intermediate_size"], h)
            out += lin(p + "mlp.down_proj", h, c["intermediate_size"])
            continue
        mi = c["moe_intermediate_size"]
        out.append((p + "mlp.gate.weight", "BF16", [c["n_routed_experts"], h]))
        for e in range(c["n_routed_experts"]):
            q = f"{p}mlp.experts.{e}."
            out += lin(q + "gate_proj", mi, h) + lin(q + "up_proj", mi, h) + lin(q + "down_proj", h, mi)
        out += lin(p + "mlp.shared_experts.gate_proj", mi, h) + lin(p + "mlp.shared_experts.up_proj", mi, h)
        out += lin(p + "mlp.shared_experts.down_proj", h, mi)
    return out


# Published configs of the 2025-26 models people serve (the fields the shapes need, from config.json).
GPT_OSS_120B = {"model_type": "gpt_oss", "hidden_size": 2880, "intermediate_size": 2880, "num_hidden_layers": 36,
                "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 201088,
                "num_local_experts": 128, "num_experts_per_tok": 4, "max_position_embeddings": 131072,
                "sliding_window": 128, "quantization_config": {"quant_method": "mxfp4"}}
LLAMA4_SCOUT: dict = {"model_type": "llama4", "text_config": {
    "model_type": "llama4_text", "hidden_size": 5120, "intermediate_size": 8192, "num_hidden_layers": 48,
    "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 202048,
    "num_local_experts": 16, "num_experts_per_tok": 1, "max_position_embeddings": 10485760}}
QWEN3_235B_A22B = {"model_type": "qwen3_moe", "hidden_size": 4096, "intermediate_size": 12288,
                   "moe_intermediate_size": 1536, "num_hidden_layers": 94, "num_attention_heads": 64,
                   "num_key_value_heads": 4, "head_dim": 128, "vocab_size": 151936, "num_experts": 128,
                   "num_experts_per_tok": 8, "max_position_embeddings": 40960, "tie_word_embeddings": False}
DEEPSEEK_V3 = {"model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432,
               "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
               "num_key_value_heads": 128, "vocab_size": 129280, "n_routed_experts": 256, "num_experts_per_tok": 8,
               "first_k_dense_replace": 3, "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
               "qk_rope_head_dim": 64, "v_head_dim": 128, "max_position_embeddings": 163840,
               "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}}


def write_gguf(path: Path, arch: str, metadata: dict, tensors: list[tuple[str, list[int]]], size: int) -> Path:
    """A GGUF file (v3): the metadata (ints as u32, strings) and tensor infos, then ``size`` bytes in all
    (a sparse hole for the data)."""
    def s(text: str) -> bytes:
        b = text.encode()
        return struct.pack("<Q", len(b)) + b
    meta = {"general.architecture": arch, **{f"{arch}.{k}": v for k, v in metadata.items()}}
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta))
    for key, value in meta.items():
        out += s(key) + (struct.pack("<I", 8) + s(value) if isinstance(value, str) else struct.pack("<II", 4, value))
    offset = 0
    for name, dims in tensors:
        out += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", 12, offset)    # type 12: Q4_K
        offset += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(out)
        fh.truncate(max(size, len(out)))
    return path


LLAMA4_MAVERICK: dict = {"model_type": "llama4", "text_config": {
    "model_type": "llama4_text", "hidden_size": 5120, "intermediate_size": 8192, "intermediate_size_mlp": 16384,
    "num_hidden_layers": 48, "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128,
    "vocab_size": 202048, "num_local_experts": 128, "num_experts_per_tok": 1, "interleave_moe_layer_step": 2,
    "max_position_embeddings": 1048576}}
KIMI_K2 = {**DEEPSEEK_V3, "n_routed_experts": 384, "num_attention_heads": 64, "first_k_dense_replace": 1,
           "vocab_size": 163840, "max_position_embeddings": 131072}
GLM_45_AIR = {"model_type": "glm4_moe", "hidden_size": 4096, "intermediate_size": 10944, "moe_intermediate_size": 1408,
              "num_hidden_layers": 46, "num_attention_heads": 96, "num_key_value_heads": 8, "head_dim": 128,
              "vocab_size": 151552, "n_routed_experts": 128, "n_shared_experts": 1, "num_experts_per_tok": 8,
              "first_k_dense_replace": 1, "max_position_embeddings": 131072, "tie_word_embeddings": False}
MISTRAL_LARGE_2411 = {"model_type": "mistral", "hidden_size": 12288, "intermediate_size": 28672,
                      "num_hidden_layers": 88, "num_attention_heads": 96, "num_key_value_heads": 8, "head_dim": 128,
                      "vocab_size": 32768, "max_position_embeddings": 131072, "tie_word_embeddings": False}
