#!/usr/bin/python3
"""Golden files for the engine's training parity tests (tests/test_train.cpp), by PyTorch.

    /usr/bin/python3 weights/train_reference.py tests/data

Writes train-text.txt (TEXT below) and, for a tiny character model (2 layers x 4 heads, 32 wide, context 16) on a short text
(TEXT below, written for this test):
  train-sharp.safetensors       F32 weights with large, sharp values (every head and path matters,
                                unlike GPT-2's near-uniform initialisation; as reference.py's tiny model)
  train-sharp-gelu.safetensors  the same weights with the exact GELU (metadata "activation": "gelu")
  train-init.safetensors        F32 weights as gptref.GPT initialises them (nanoGPT's init)
  train.ref.safetensors         the gradients of every parameter of train-sharp for the first batch,
                                in float64, once with the tanh GELU ("tanh.<name>") and once with the
                                exact GELU ("exact.<name>"); metadata: the text, batch shape, the
                                first batch's losses, and the loss curve of STEPS optimizer steps
                                from train-init by weights/train.py's optimizer (AdamW with its betas
                                and weight-decay groups, gradient clipping, lr_at's warm-up + cosine),
                                in float64 ("losses") and in float32 ("losses_f32").
Batches are `gpt train --sequential`'s: batch s, row b is window (s*B + b) mod W of the training
split (the first 90% of the characters), W = (n_train - 1) // T, window w = ids[w*T : w*T + T + 1].
Run by hand; tests never need Python.
"""
import json
import math
import os
import sys
import types

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptref  # noqa: E402
import train  # noqa: E402  (lr_at: the schedule under test)

TEXT = """The lamplighter came up the hill at dusk, as he had every evening for forty years.
He carried a ladder, a small tin of oil, and a lantern that swung from his left hand.
At each post he stopped, climbed three rungs, trimmed the wick, and struck a match.
Children followed him from the square to the chapel, counting the lamps aloud:
one by the well, two by the baker's door, three where the road bends toward the river.
When the last lamp was lit he sat on the low stone wall and watched the valley below,
where the windows of the farms came on one after another, like an answer.
"Why do you light them so early?" a girl once asked him. "The sky is still blue."
"So that nobody has to walk in the dark for even a minute," he said, and smiled.
"""

CFG = {"n_layer": 2, "n_head": 4, "n_embd": 32, "block_size": 16}
B = 4
STEPS = 50
SCHEDULE = types.SimpleNamespace(lr=3e-3, min_lr=3e-4, warmup=10, max_iters=STEPS)
WEIGHT_DECAY, GRAD_CLIP, BETAS = 0.1, 1.0, (0.9, 0.99)


def corpus():
    vocab = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)
    return vocab, ids, int(0.9 * len(ids))


def batch(ids, n_train, step):
    T = CFG["block_size"]
    windows = (n_train - 1) // T
    starts = [((step * B + b) % windows) * T for b in range(B)]
    x = torch.stack([ids[s : s + T] for s in starts])
    y = torch.stack([ids[s + 1 : s + T + 1] for s in starts])
    return x, y


def sharp(model):
    """gptref.sharpen, from this file's own seed (reference.py's tiny model has another)."""
    torch.manual_seed(20261202)
    return gptref.sharpen(model)


def gradients(path, ids, n_train):
    model, _, _ = gptref.load_model(path)
    model = model.double().train()
    x, y = batch(ids, n_train, 0)
    _, loss, _ = model(x, y)
    loss.backward()
    return loss.item(), {name: p.grad.detach().clone() for name, p in model.named_parameters()}


def loss_curve(path, ids, n_train, dtype):
    """train.py's optimizer, STEPS steps from the weights in path (no dropout: deterministic)."""
    model, _, _ = gptref.load_model(path)
    model = model.to(dtype).train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=SCHEDULE.lr, betas=BETAS)
    losses = []
    for step in range(STEPS):
        for g in opt.param_groups:
            g["lr"] = train.lr_at(step, SCHEDULE)
        x, y = batch(ids, n_train, step)
        _, loss, _ = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        losses.append(loss.item())
    return losses


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data"
    torch.set_num_threads(1)
    vocab, ids, n_train = corpus()
    cfg = dict(CFG, vocab_size=len(vocab))
    sharp_path = os.path.join(out, "train-sharp.safetensors")
    init_path = os.path.join(out, "train-init.safetensors")
    torch.manual_seed(1337)
    gptref.export(gptref.GPT(cfg), vocab, init_path, "F32")
    gptref.export(sharp(gptref.GPT(cfg)), vocab, sharp_path, "F32")
    exact_path = os.path.join(out, "train-sharp-gelu.safetensors")
    gptref.export(sharp(gptref.GPT(dict(cfg, activation="gelu"))), vocab, exact_path, "F32")

    tensors, meta = {}, {}
    for key, path in (("tanh", sharp_path), ("exact", exact_path)):
        loss, grads = gradients(path, ids, n_train)
        meta[f"loss.{key}"] = repr(loss)
        for name, g in grads.items():
            tensors[f"{key}.{name}"] = g
    losses = loss_curve(init_path, ids, n_train, torch.float64)
    losses32 = loss_curve(init_path, ids, n_train, torch.float32)
    meta.update({"text": TEXT, "batch": str(B), "steps": str(STEPS), "lr": repr(SCHEDULE.lr),
                 "min_lr": repr(SCHEDULE.min_lr), "warmup": str(SCHEDULE.warmup), "weight_decay": repr(WEIGHT_DECAY),
                 "grad_clip": repr(GRAD_CLIP), "betas": json.dumps(BETAS), "losses": json.dumps(losses),
                 "losses_f32": json.dumps(losses32)})
    with open(os.path.join(out, "train-text.txt"), "w", encoding="utf-8") as f:
        f.write(TEXT)  # for the CLI tests (tests/cli_train.cmake)
    ref = os.path.join(out, "train.ref.safetensors")
    gptref.save_safetensors(ref, tensors, meta, dtype="F32")
    drift = max(abs(a - b) for a, b in zip(losses, losses32))
    print(f"{ref}: first-batch loss {meta['loss.tanh']}, curve {losses[0]:.4f} -> {losses[-1]:.4f}, "
          f"float32 vs float64 at most {drift:.2e}")


if __name__ == "__main__":
    main()
