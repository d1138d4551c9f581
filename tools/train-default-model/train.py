#!/usr/bin/python3
"""Train Synthgate's default model: corpus -> byte-level BPE -> Llama decoder -> HF folder.

Usage (through train.sh, which installs the Debian packages first):
  tools/train-default-model/train.sh [--work DIR] [--out DIR] [--device cpu|cuda] [--tokens N]

Expected run time on 2 CPU cores: about 1 minute for the corpus and tokenizer, 30 seconds to
encode, then 1,200 steps of 32 x 256 tokens (9.8M tokens): about 60 minutes at 2,700 tokens/s
with the cores to itself, 2 hours at 1,400 tokens/s when other work shares them; 1 minute to
evaluate and export. With --device cuda the training stage takes a few minutes.
Every stage resumes: a finished stage is skipped, and training restarts from its last checkpoint
(written every --checkpoint-minutes to DIR/ckpt.pt, outside the repository).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpe  # noqa: E402
import prepare  # noqa: E402
from export import write_hf_folder  # noqa: E402
from model import LlamaConfig, LlamaForCausalLM  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=os.path.join(REPO_ROOT, "..", "shared", "data", "corpus", "gutenberg-60mb.txt"))
    p.add_argument("--work", default=os.path.expanduser("~/.cache/synthgate-train"), help="checkpoints and token streams")
    p.add_argument("--out", default=None, help="Hugging Face folder to write (default WORK/hf)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=20241129)
    p.add_argument("--vocab-size", type=int, default=4096)
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--intermediate-size", type=int, default=688)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--context", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=32, help="sequences per step")
    p.add_argument("--tokens", type=float, default=9.8304e6, help="training tokens (sets the step count)")
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--min-lr", type=float, default=1.5e-4)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--eval-windows", type=int, default=256, help="held-out windows (same rule as bench:model)")
    p.add_argument("--export-only", action="store_true", help="evaluate and export the last checkpoint as it is")
    p.add_argument("--init-onnx", default=None, help="start from the weights of a Synthgate-built model.onnx (e.g. models/default/model.onnx) instead of from scratch")
    p.add_argument("--tokenizer", default=None, help="use this tokenizer.json instead of training one (required with --init-onnx: the model's own)")
    p.add_argument("--pairs-share", type=float, default=0.0, help="share of each batch drawn from the paired prompt-format documents (pairs.py), windows starting at a document")
    p.add_argument("--trial-steps", type=int, default=0, help="only time this many steps, write nothing")
    return p.parse_args(argv)


def heldout_windows(stream: np.ndarray, context: int, count: int) -> list:
    """Window k starts at token floor(k * n / count) * context, n = floor((len - 1) / context).

    bench/model.bench.ts applies the same rule to its own tokenization of the held-out books.
    """
    n = (len(stream) - 1) // context
    count = min(count, n)
    return [(k * n // count) * context for k in range(count)]


@torch.no_grad()
def evaluate(model, stream: np.ndarray, context: int, count: int, device) -> tuple:
    model.eval()
    starts = heldout_windows(stream, context, count)
    total = 0.0
    tokens = 0
    for i in range(0, len(starts), 16):
        chunk = starts[i : i + 16]
        x = torch.from_numpy(np.stack([stream[s : s + context + 1].astype(np.int64) for s in chunk])).to(device)
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum")
        total += float(loss)
        tokens += x[:, 1:].numel()
    model.train()
    return total / tokens, tokens


def lr_at(step: int, total: int, a) -> float:
    if step < a.warmup_steps:
        return a.lr * (step + 1) / a.warmup_steps
    progress = min(1.0, (step - a.warmup_steps) / max(1, total - a.warmup_steps))
    return a.min_lr + 0.5 * (a.lr - a.min_lr) * (1 + math.cos(math.pi * progress))


def main(argv=None) -> None:
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    device = torch.device(a.device if (a.device == "cpu" or torch.cuda.is_available()) else "cpu")
    if a.device == "cuda" and device.type != "cuda":
        log("no CUDA device: training on CPU")
    os.makedirs(a.work, exist_ok=True)
    out = a.out or os.path.join(a.work, "hf")

    if a.tokenizer and not os.path.exists(os.path.join(a.work, "tokenizer.json")):
        shutil.copy(a.tokenizer, os.path.join(a.work, "tokenizer.json"))
    prepare.prepare(a.corpus, a.work, a.vocab_size, log)
    train = np.fromfile(os.path.join(a.work, "train.bin"), dtype=np.uint16)
    held = np.fromfile(os.path.join(a.work, "heldout.bin"), dtype=np.uint16)
    pairs_stream = pair_starts = None
    if a.pairs_share > 0:
        prepare.prepare_pairs(a.corpus, a.work, a.seed, log)
        pairs_stream = np.fromfile(os.path.join(a.work, "pairs.bin"), dtype=np.uint16)
        pair_starts = np.fromfile(os.path.join(a.work, "pairs-starts.bin"), dtype=np.int64)
        pair_starts = pair_starts[pair_starts < len(pairs_stream) - a.context - 1]

    cfg = LlamaConfig(
        vocab_size=a.vocab_size,
        hidden_size=a.hidden_size,
        intermediate_size=a.intermediate_size,
        num_hidden_layers=a.layers,
        num_attention_heads=a.heads,
        num_key_value_heads=a.kv_heads,
        max_position_embeddings=a.context,
    )
    model = LlamaForCausalLM(cfg)
    if a.init_onnx:
        from onnx_weights import read_llama_onnx

        weights = read_llama_onnx(a.init_onnx, cfg)
        missing, unexpected = model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()}, strict=False)
        if unexpected or [k for k in missing if "rotary" not in k]:
            raise SystemExit(f"--init-onnx: missing {missing}, unexpected {unexpected}")
    model = model.to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=a.lr,
        betas=(0.9, 0.95),
        eps=1e-8,
    )
    tokens_per_step = a.batch_size * a.context
    total_steps = int(a.tokens // tokens_per_step) if not a.trial_steps else a.trial_steps
    log(
        f"model: {model.num_parameters()} parameters, {cfg}; {total_steps} steps of {tokens_per_step} tokens; "
        f"train stream {len(train)} tokens, held-out {len(held)}"
    )

    ckpt_path = os.path.join(a.work, "ckpt.pt")
    step = 0
    elapsed = 0.0
    if os.path.exists(ckpt_path) and not a.trial_steps:
        state = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        elapsed = state["elapsed"]
        log(f"resumed at step {step} ({elapsed / 60:.1f} min of training so far)")

    def save():
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed}, tmp)
        os.replace(tmp, ckpt_path)

    if a.export_only:
        total_steps = step  # skip the loop: evaluate and export the checkpoint as it stands
    if a.init_onnx and step == 0:
        initial, _ = evaluate(model, held, a.context, a.eval_windows, device)
        log(f"initial weights from {a.init_onnx}: held-out loss {initial:.4f} perplexity {math.exp(initial):.3f}")
    model.train()
    last_save = time.time()
    t_start = time.time()
    window_loss = 0.0
    window_steps = 0
    t_window = time.time()
    while step < total_steps:
        # Batches depend on (seed, step) only, so a resumed run sees exactly the same data.
        rng = np.random.default_rng([a.seed, step])
        n_pairs = int(round(a.batch_size * a.pairs_share)) if pairs_stream is not None else 0
        starts = rng.integers(0, len(train) - a.context - 1, size=a.batch_size - n_pairs)
        windows = [train[s : s + a.context + 1] for s in starts]
        if n_pairs:
            windows += [pairs_stream[s : s + a.context + 1] for s in pair_starts[rng.integers(0, len(pair_starts), size=n_pairs)]]
        x = torch.from_numpy(np.stack([w.astype(np.int64) for w in windows])).to(device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, total_steps, a)
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        window_loss += float(loss)
        window_steps += 1
        now = time.time()
        if step % 50 == 0 or a.trial_steps:
            dt = now - t_window
            log(
                f"step {step}/{total_steps} loss {window_loss / window_steps:.4f} lr {lr_at(step, total_steps, a):.2e} "
                f"{window_steps * tokens_per_step / dt:.0f} tok/s"
            )
            window_loss = 0.0
            window_steps = 0
            t_window = time.time()
        if step % 400 == 0 and not a.trial_steps:
            probe, _ = evaluate(model, held, a.context, 32, device)
            log(f"step {step}: held-out probe loss {probe:.4f} (32 windows)")
        if not a.trial_steps and (now - last_save > a.checkpoint_minutes * 60 or step == total_steps):
            elapsed += now - t_start
            t_start = now
            save()
            last_save = now
            log(f"checkpoint at step {step}")
    if a.trial_steps:
        return
    elapsed += time.time() - t_start

    loss, n = evaluate(model, held, a.context, a.eval_windows, device)
    log(f"held-out: loss {loss:.4f} perplexity {math.exp(loss):.3f} over {n} tokens")
    with open(os.path.join(a.work, "corpus-stats.json")) as f:
        stats = json.load(f)
    report = {
        "parameters": model.num_parameters(),
        "config": cfg.to_hf(bpe.EOS_ID, bpe.EOS_ID),
        "steps": step,
        "tokens_seen": step * tokens_per_step,
        "training_seconds": round(elapsed),
        "device": str(device),
        "threads": a.threads,
        "seed": a.seed,
        "heldout_loss": loss,
        "heldout_perplexity": math.exp(loss),
        "heldout_tokens": n,
        "corpus": stats,
        "args": vars(a),
    }
    write_hf_folder(model.cpu(), cfg, os.path.join(a.work, "tokenizer.json"), out, report)
    shutil.copy(os.path.join(a.work, "tokenizer-fixture.json"), os.path.join(out, "tokenizer-fixture.json"))
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
