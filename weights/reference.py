#!/usr/bin/python3
"""Golden files for the engine's parity tests, computed by PyTorch in float64.

    /usr/bin/python3 weights/reference.py tiny tests/data
        A small randomly initialised checkpoint in F32, F16 and BF16 (tiny-{dtype}.safetensors) and,
        for each, the reference outputs of a fixed input (tiny-{dtype}.ref.safetensors).
    /usr/bin/python3 weights/reference.py ascii tests/data
        A tiny random model whose vocabulary is printable ASCII (browser tests: text stays text).
    /usr/bin/python3 weights/reference.py model WEIGHTS --prompt TEXT --out REF
        Reference outputs of a shipped checkpoint for a prompt.

A reference file is a safetensors file (F32) holding `logits` (T, V) for every position and
`att.{l}` (NH, T, T) for every layer; its metadata holds the input `tokens` (JSON) and `loss`, the
mean next-token cross-entropy over the input as `gpt loss` defines it. Outputs are computed in
float64 from the weights exactly as stored (after F16/BF16 rounding), so the only error the tests
see is the engine's own float32 arithmetic. Run by hand; tests never need Python.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptref  # noqa: E402

TINY_CFG = {"n_layer": 2, "n_head": 4, "n_embd": 64, "block_size": 32, "vocab_size": 0}
TINY_TEXT = "First Citizen:\nBefore we proceed"  # exactly block_size (32) characters
# Longer than three windows, the last one partial: exercises every rule of the loss.
TINY_LOSS_TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
                  "First Citizen:\nYou are all resolved rather to die than to famish?\n")
TINY_VOCAB = sorted(set("\n !',-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))


def write_reference(model_path, tokens, out_path, loss_tokens=None):
    model, vocab, meta = gptref.load_model(model_path)
    model = model.double()
    x = torch.tensor([tokens], dtype=torch.long)
    with torch.no_grad():
        logits, _, atts = model(x, want_att=True)
    loss_tokens = loss_tokens or tokens
    ids = torch.tensor(loss_tokens, dtype=torch.long)
    loss, n = gptref.eval_loss_windows(model, ids, model.cfg["block_size"])
    tensors = {"logits": logits[0]}
    for l, a in enumerate(atts):
        tensors[f"att.{l}"] = a[0]
    gptref.save_safetensors(out_path, tensors, {"tokens": json.dumps(tokens), "loss": repr(loss),
                                                 "loss_tokens": json.dumps(loss_tokens),
                                                 "loss_targets": str(n)}, dtype="F32")
    print(f"{out_path}: {len(tokens)} tokens, loss {loss:.6f}")


def make_tiny(out_dir):
    torch.manual_seed(20261122)
    cfg = dict(TINY_CFG, vocab_size=len(TINY_VOCAB))
    model = gptref.GPT(cfg)
    # GPT-2's init (std 0.02) gives near-uniform attention and near-constant logits: a weak test.
    # Larger weights and non-trivial LayerNorm parameters make every head sharp and every path count.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (1.0 / p.shape[-1] ** 0.5) * 1.5)
    stoi = {c: i for i, c in enumerate(TINY_VOCAB)}
    tokens = [stoi[c] for c in TINY_TEXT]
    loss_tokens = [stoi[c] for c in TINY_LOSS_TEXT]
    for dtype in ("F32", "F16", "BF16"):
        path = os.path.join(out_dir, f"tiny-{dtype.lower()}.safetensors")
        gptref.export(model, TINY_VOCAB, path, dtype)
        write_reference(path, tokens, os.path.join(out_dir, f"tiny-{dtype.lower()}.ref.safetensors"), loss_tokens)


def make_ascii(out_dir):
    """A tiny random model whose vocabulary is all of printable ASCII: it can be prompted with, and
    generate, HTML, which the browser tests use to check that text is never interpreted."""
    torch.manual_seed(7)
    vocab = ["\n"] + [chr(c) for c in range(32, 127)]
    model = gptref.GPT({"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 64, "vocab_size": len(vocab)})
    path = os.path.join(out_dir, "ascii-tiny.safetensors")
    gptref.export(model, vocab, path, "F16")
    print(f"{path}: {model.num_params()} parameters")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tiny")
    t.add_argument("out_dir")
    sub.add_parser("ascii").add_argument("out_dir")
    m = sub.add_parser("model")
    m.add_argument("weights")
    m.add_argument("--prompt", required=True)
    m.add_argument("--out", required=True)
    a = p.parse_args()
    if a.cmd == "tiny":
        make_tiny(a.out_dir)
    elif a.cmd == "ascii":
        make_ascii(a.out_dir)
    else:
        _, vocab, _ = gptref.load_model(a.weights)
        stoi = {c: i for i, c in enumerate(vocab)}
        write_reference(a.weights, [stoi[c] for c in a.prompt], a.out)


if __name__ == "__main__":
    main()
