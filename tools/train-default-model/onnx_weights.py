"""Reads the weights of a Synthgate-built Llama ONNX model (`models/default/model.onnx`) back into
Hugging Face tensor names, so a run can start from the committed model instead of from scratch.

The graph builder (libs/generation/src/model/llama-graph.builder.ts) stores, per layer:
- `self_attn.qkv_rotary.weight` [hidden, 2 (q + k) + (qR + kR) + v]: columns are q * 1/sqrt(head_dim),
  k, the rotated copies q R / sqrt(head_dim) and k R, then v (x @ W layout, i.e. W = proj.T);
- `self_attn.o_proj.weight_t`, `mlp.down_proj.weight_t`: the transposed projections;
- `mlp.gate_up.weight_t` [hidden, 2 * intermediate]: gate then up, transposed.
The rotated copies are derived from q and k, so they are dropped. 1/sqrt(64) = 1/8 is a power of
two: undoing the scale is exact.
"""

from __future__ import annotations

import math
from typing import Dict

import numpy as np


def read_llama_onnx(path: str, cfg) -> Dict[str, np.ndarray]:
    import onnx  # Debian python3-onnx; only needed for --init-onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    hd = cfg.hidden_size // cfg.num_attention_heads
    q_rows = cfg.num_attention_heads * hd
    kv_rows = cfg.num_key_value_heads * hd
    scale = 1 / math.sqrt(hd)
    out: Dict[str, np.ndarray] = {"model.embed_tokens.weight": init["model.embed_tokens.weight"]}
    norm = [n for n in init if n.endswith("norm.weight") and "layers" not in n]
    if len(norm) != 1:
        raise ValueError(f"{path}: expected one final norm weight, found {norm}")
    out["model.norm.weight"] = init[norm[0]]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        qkv = init[p + "self_attn.qkv_rotary.weight"]
        if qkv.shape != (cfg.hidden_size, 2 * (q_rows + kv_rows) + kv_rows):
            raise ValueError(f"{path}: layer {i} qkv shape {qkv.shape} does not match the configuration")
        out[p + "self_attn.q_proj.weight"] = qkv[:, :q_rows].T / scale
        out[p + "self_attn.k_proj.weight"] = qkv[:, q_rows : q_rows + kv_rows].T
        out[p + "self_attn.v_proj.weight"] = qkv[:, 2 * (q_rows + kv_rows) :].T
        out[p + "self_attn.o_proj.weight"] = init[p + "self_attn.o_proj.weight_t"].T
        gate_up = init[p + "mlp.gate_up.weight_t"]
        out[p + "mlp.gate_proj.weight"] = gate_up[:, : cfg.intermediate_size].T
        out[p + "mlp.up_proj.weight"] = gate_up[:, cfg.intermediate_size :].T
        out[p + "mlp.down_proj.weight"] = init[p + "mlp.down_proj.weight_t"].T
        out[p + "input_layernorm.weight"] = init[p + "input_layernorm.weight"]
        out[p + "post_attention_layernorm.weight"] = init[p + "post_attention_layernorm.weight"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}
