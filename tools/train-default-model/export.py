"""Write a Hugging Face model folder: config.json, model.safetensors (F32), tokenizer.json.

safetensors is written by hand (8-byte little-endian header length, JSON header, raw tensors)
because Debian has no python3-safetensors; the format is simple and documented.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np

import bpe


def write_safetensors(tensors: dict, path: str, metadata: dict) -> None:
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype="<f4")
        raw = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)  # align the data section to 8 bytes
    with open(path, "wb") as f:
        f.write(len(head).to_bytes(8, "little"))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def write_hf_folder(model, cfg, tokenizer_path: str, out: str, report: dict) -> None:
    os.makedirs(out, exist_ok=True)
    # Tied head: transformers omits lm_head.weight when tie_word_embeddings is true.
    tensors = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
    write_safetensors(tensors, os.path.join(out, "model.safetensors"), {"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg.to_hf(bpe.EOS_ID, bpe.EOS_ID), f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": bpe.EOS_ID, "eos_token_id": bpe.EOS_ID, "transformers_version": "4.44.0"}, f, indent=2)
    shutil.copy(tokenizer_path, os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(
            {
                "tokenizer_class": "GPT2TokenizerFast",
                "bos_token": bpe.EOS,
                "eos_token": bpe.EOS,
                "unk_token": bpe.EOS,
                "add_bos_token": False,
                "model_max_length": cfg.max_position_embeddings,
                "clean_up_tokenization_spaces": False,
            },
            f,
            indent=2,
        )
    with open(os.path.join(out, "training-report.json"), "w") as f:
        json.dump(report, f, indent=2)
