#!/usr/bin/python3
"""Train the engine's GPT on a text file, character level (nanoGPT's shakespeare_char recipe).

    /usr/bin/python3 weights/train.py [DATA] --out runs/shakespeare [--time-limit 5400] [--resume]

DATA defaults to ../shared/data/tinyshakespeare.txt. Split: first 90% train, last 10% validation.
AdamW, linear warm-up then cosine decay, dropout, gradient clipping, periodic validation. Every
evaluation writes OUT/ckpt.pt (model, optimizer, step, RNG: --resume continues exactly there) and,
when validation improves, exports OUT/best.safetensors in the engine's format (F16 by default).
Losses go to OUT/log.tsv. Needs Debian's python3-torch (use /usr/bin/python3) and, for speed,
libopenblas0-pthread.
"""
import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptref  # noqa: E402


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="?", default=os.path.join(here, "..", "..", "shared", "data", "tinyshakespeare.txt"))
    p.add_argument("--out", default="runs/shakespeare")
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=192)
    p.add_argument("--block-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-iters", type=int, default=6000, help="length of the cosine schedule")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--eval-interval", type=int, default=250)
    p.add_argument("--eval-iters", type=int, default=40)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--time-limit", type=float, default=0, help="seconds; stop (resumably) after this")
    p.add_argument("--dtype", default="F16", choices=["F32", "F16", "BF16"])
    p.add_argument("--resume", action="store_true")
    return p.parse_args()


def lr_at(it, a):
    if it < a.warmup:
        return a.lr * (it + 1) / a.warmup
    if it >= a.max_iters:
        return a.min_lr
    t = (it - a.warmup) / max(1, a.max_iters - a.warmup)
    return a.min_lr + 0.5 * (1 + math.cos(math.pi * t)) * (a.lr - a.min_lr)


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    text = open(a.data, encoding="utf-8").read()
    vocab = sorted(set(text))
    stoi = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(ids))
    train_ids, val_ids = ids[:n], ids[n:]

    cfg = {"n_layer": a.n_layer, "n_head": a.n_head, "n_embd": a.n_embd,
           "block_size": a.block_size, "vocab_size": len(vocab)}
    torch.manual_seed(a.seed)
    model = gptref.GPT(cfg, dropout=a.dropout)
    # Weight decay on matrices only (nanoGPT): not on biases, LayerNorm gains or position tables.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(a.seed)
    step, best_val, elapsed = 0, float("inf"), 0.0
    ckpt_path = os.path.join(a.out, "ckpt.pt")
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        if ck["cfg"] != cfg:
            sys.exit(f"train.py: checkpoint config {ck['cfg']} differs from the arguments {cfg}")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["torch_rng"])
        step, best_val, elapsed = ck["step"], ck["best_val"], ck["elapsed"]
        print(f"resumed at step {step}, best val {best_val:.4f}, {elapsed:.0f}s trained")

    log_path = os.path.join(a.out, "log.tsv")
    if not os.path.exists(log_path):
        with open(log_path, "w") as f:
            f.write("step\tseconds\tlr\ttrain_loss\tval_loss\n")
    print(f"{model.num_params():,} parameters, config {cfg}, {len(train_ids):,} train / {len(val_ids):,} val chars")

    def batch(split):
        d = train_ids if split == "train" else val_ids
        ix = torch.randint(len(d) - a.block_size - 1, (a.batch_size,), generator=gen)
        x = torch.stack([d[i : i + a.block_size] for i in ix])
        y = torch.stack([d[i + 1 : i + 1 + a.block_size] for i in ix])
        return x, y

    def estimate():
        # A fixed generator so every evaluation sees the same batches: curves are comparable.
        g = torch.Generator().manual_seed(0)
        model.eval()
        out = {}
        with torch.no_grad():
            for split, d in (("train", train_ids), ("val", val_ids)):
                tot = 0.0
                for _ in range(a.eval_iters):
                    ix = torch.randint(len(d) - a.block_size - 1, (a.batch_size,), generator=g)
                    x = torch.stack([d[i : i + a.block_size] for i in ix])
                    y = torch.stack([d[i + 1 : i + 1 + a.block_size] for i in ix])
                    tot += model(x, y)[1].item()
                out[split] = tot / a.eval_iters
        model.train()
        return out

    t0 = time.time() - elapsed
    model.train()
    while step <= a.max_iters:
        if step % a.eval_interval == 0 or step == a.max_iters:
            losses = estimate()
            secs = time.time() - t0
            print(f"step {step}: train {losses['train']:.4f} val {losses['val']:.4f} ({secs:.0f}s)", flush=True)
            with open(log_path, "a") as f:
                f.write(f"{step}\t{secs:.0f}\t{lr_at(step, a):.2e}\t{losses['train']:.4f}\t{losses['val']:.4f}\n")
            if losses["val"] < best_val:
                best_val = losses["val"]
                gptref.export(model, vocab, os.path.join(a.out, "best.safetensors"), a.dtype)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                        "torch_rng": torch.get_rng_state(), "step": step, "best_val": best_val,
                        "elapsed": secs, "cfg": cfg, "args": vars(a)}, ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)
            if step == a.max_iters:
                break
            if a.time_limit and secs > a.time_limit:
                print(f"time limit reached at step {step}; continue with --resume")
                break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        x, y = batch("train")
        _, loss, _ = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        opt.step()
        step += 1
    print(f"best val {best_val:.4f}; exported {os.path.join(a.out, 'best.safetensors')}")


if __name__ == "__main__":
    main()
