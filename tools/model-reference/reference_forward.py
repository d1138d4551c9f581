#!/usr/bin/env python3
"""An independent PyTorch forward pass of Hugging Face decoder checkpoints, for Synthgate's tests.

Reads a Hugging Face folder (config.json and float32 model.safetensors) and prints, as JSON, the
logits at every position of each given row of token ids. Written from the architectures' papers
and the meaning of Hugging Face's config keys, sharing no code with the TypeScript graph builder:

  Llama / Llama 3.x  RMSNorm, rotate-half RoPE (rope_scaling "linear" or "llama3"), SwiGLU MLP,
                     grouped-query attention.
  Mistral            Llama with a sliding window: a query at position p sees keys p-w+1 .. p.
  Qwen2              q/k/v biases.        Qwen3   per-head RMSNorm of q and k before RoPE.
  Phi-3              fused qkv_proj (rows q, k, v) and gate_up_proj (rows gate, up), partial rotary.
  Gemma 2            embedding times sqrt(hidden), RMSNorm by (1 + weight), GELU-tanh gated MLP,
                     norms before and after attention and MLP, scores scaled by
                     query_pre_attn_scalar^-0.5 and soft-capped, final logits soft-capped, sliding
                     window on even layers.
  Gemma 3            Gemma 2 without soft-capping, with (1 + weight) q/k norms, one global layer in
                     sliding_window_pattern (every 6th), local layers with rope_local_base_freq.

Usage: reference_forward.py <folder> '<json rows>'   (float64 throughout; torch threads 1)
"""
import json
import math
import struct
import sys

import torch

torch.set_num_threads(1)
DTYPE = torch.float64


def read_safetensors(path):
    with open(path, 'rb') as f:
        (length,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise SystemExit(f'{name}: only F32 checkpoints are read, got {info["dtype"]}')
        start, end = info['data_offsets']
        values = torch.frombuffer(bytearray(data[start:end]), dtype=torch.float32)
        tensors[name] = values.reshape(info['shape']).to(DTYPE)
    return tensors


def rms_norm(x, weight, eps, gemma):
    normed = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return normed * ((1.0 + weight) if gemma else weight)


def inverse_frequencies(base, rotary_dim, scaling):
    inv = 1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=DTYPE) / rotary_dim))
    if not scaling:
        return inv
    kind = scaling.get('rope_type', scaling.get('type'))
    if kind in (None, 'default'):
        return inv
    if kind == 'linear':
        return inv / scaling['factor']
    if kind == 'llama3':
        # Llama 3.1: wavelengths beyond original/low_freq_factor slowed by factor, those below
        # original/high_freq_factor kept, and a smooth blend between.
        factor, low, high = scaling['factor'], scaling['low_freq_factor'], scaling['high_freq_factor']
        original = scaling['original_max_position_embeddings']
        out = []
        for f in inv.tolist():
            wavelen = 2 * math.pi / f
            if wavelen < original / high:
                out.append(f)
            elif wavelen > original / low:
                out.append(f / factor)
            else:
                smooth = (original / wavelen - low) / (high - low)
                out.append((1 - smooth) * f / factor + smooth * f)
        return torch.tensor(out, dtype=DTYPE)
    raise SystemExit(f'rope scaling {kind} is not implemented in the reference')


def rotate(x, positions, inv):
    """Rotate-half RoPE on the first 2 * len(inv) dimensions of each head: x is [heads, seq, dim]."""
    rotary_dim = 2 * inv.shape[0]
    angles = positions[:, None].to(DTYPE) * inv[None, :]
    cos, sin = torch.cos(angles), torch.sin(angles)
    cos, sin = torch.cat([cos, cos], -1), torch.cat([sin, sin], -1)
    rot, rest = x[..., :rotary_dim], x[..., rotary_dim:]
    half = rotary_dim // 2
    rotated_half = torch.cat([-rot[..., half:], rot[..., :half]], -1)
    return torch.cat([rot * cos + rotated_half * sin, rest], -1)


def forward(config, tensors, ids):
    arch = config['architectures'][0]
    gemma = arch.startswith('Gemma')
    gemma3 = arch.startswith('Gemma3')
    p = 'model.' if 'model.embed_tokens.weight' in tensors else ''
    d = config['hidden_size']
    n_heads = config['num_attention_heads']
    n_kv = config.get('num_key_value_heads', n_heads)
    head_dim = config.get('head_dim') or d // n_heads
    eps = config.get('rms_norm_eps', 1e-6)
    layers = config['num_hidden_layers']
    rotary_dim = int(head_dim * config.get('partial_rotary_factor', 1.0))
    inv_global = inverse_frequencies(config.get('rope_theta', 10000.0), rotary_dim, config.get('rope_scaling'))
    inv_local = inverse_frequencies(config['rope_local_base_freq'], rotary_dim, None) if gemma3 else inv_global
    window = config.get('sliding_window') if config.get('use_sliding_window', True) else None
    if 'layer_types' in config:
        sliding = [t == 'sliding_attention' for t in config['layer_types']]
    elif arch.startswith('Gemma2'):
        sliding = [i % 2 == 0 for i in range(layers)]
    elif gemma3:
        pattern = config.get('sliding_window_pattern', 6)
        sliding = [(i + 1) % pattern != 0 for i in range(layers)]
    else:
        sliding = [window is not None] * layers
    scale = config['query_pre_attn_scalar'] ** -0.5 if gemma else head_dim ** -0.5
    attn_cap = config.get('attn_logit_softcapping') if gemma else None
    final_cap = config.get('final_logit_softcapping') if gemma else None
    act = (lambda x: torch.nn.functional.gelu(x, approximate='tanh')) if gemma else torch.nn.functional.silu

    seq = len(ids)
    positions = torch.arange(seq)
    x = tensors[f'{p}embed_tokens.weight'][torch.tensor(ids)]
    if gemma:
        x = x * torch.tensor(d ** 0.5, dtype=torch.float32).to(DTYPE)
    for i in range(layers):
        lp = f'{p}layers.{i}.'
        t = lambda name: tensors[lp + name]
        h = rms_norm(x, t('input_layernorm.weight'), eps, gemma)
        if f'{lp}self_attn.qkv_proj.weight' in tensors:
            q_w, k_w, v_w = torch.split(t('self_attn.qkv_proj.weight'), [n_heads * head_dim, n_kv * head_dim, n_kv * head_dim])
        else:
            q_w, k_w, v_w = t('self_attn.q_proj.weight'), t('self_attn.k_proj.weight'), t('self_attn.v_proj.weight')
        q, k, v = h @ q_w.T, h @ k_w.T, h @ v_w.T
        if f'{lp}self_attn.q_proj.bias' in tensors:
            q, k, v = q + t('self_attn.q_proj.bias'), k + t('self_attn.k_proj.bias'), v + t('self_attn.v_proj.bias')
        q = q.view(seq, n_heads, head_dim).transpose(0, 1)
        k = k.view(seq, n_kv, head_dim).transpose(0, 1)
        v = v.view(seq, n_kv, head_dim).transpose(0, 1)
        if f'{lp}self_attn.q_norm.weight' in tensors:
            q = rms_norm(q, t('self_attn.q_norm.weight'), eps, gemma)
            k = rms_norm(k, t('self_attn.k_norm.weight'), eps, gemma)
        inv = inv_local if sliding[i] else inv_global
        q, k = rotate(q, positions, inv), rotate(k, positions, inv)
        k = k.repeat_interleave(n_heads // n_kv, 0)
        v = v.repeat_interleave(n_heads // n_kv, 0)
        scores = (q @ k.transpose(1, 2)) * scale
        if attn_cap:
            scores = attn_cap * torch.tanh(scores / attn_cap)
        allowed = positions[None, :] <= positions[:, None]
        if sliding[i] and window:
            allowed = allowed & (positions[:, None] - positions[None, :] < window)
        scores = scores.masked_fill(~allowed, float('-inf'))
        attn = (torch.softmax(scores, -1) @ v).transpose(0, 1).reshape(seq, n_heads * head_dim)
        out = attn @ t('self_attn.o_proj.weight').T
        if gemma:
            out = rms_norm(out, t('post_attention_layernorm.weight'), eps, True)
            x = x + out
            h = rms_norm(x, t('pre_feedforward_layernorm.weight'), eps, True)
        else:
            x = x + out
            h = rms_norm(x, t('post_attention_layernorm.weight'), eps, False)
        if f'{lp}mlp.gate_up_proj.weight' in tensors:
            gate_w, up_w = torch.chunk(t('mlp.gate_up_proj.weight'), 2, 0)
        else:
            gate_w, up_w = t('mlp.gate_proj.weight'), t('mlp.up_proj.weight')
        mlp = (act(h @ gate_w.T) * (h @ up_w.T)) @ t('mlp.down_proj.weight').T
        if gemma:
            mlp = rms_norm(mlp, t('post_feedforward_layernorm.weight'), eps, True)
        x = x + mlp
    x = rms_norm(x, tensors[f'{p}norm.weight'], eps, gemma)
    head = tensors.get('lm_head.weight')
    if head is None or config.get('tie_word_embeddings', gemma):
        head = tensors[f'{p}embed_tokens.weight']
    logits = x @ head.T
    if final_cap:
        logits = final_cap * torch.tanh(logits / final_cap)
    return logits


def main():
    folder, rows = sys.argv[1], json.loads(sys.argv[2])
    with open(f'{folder}/config.json') as f:
        config = json.load(f)
    tensors = read_safetensors(f'{folder}/model.safetensors')
    json.dump({'torch': torch.__version__, 'logits': [forward(config, tensors, row).tolist() for row in rows]}, sys.stdout)


if __name__ == '__main__':
    main()
