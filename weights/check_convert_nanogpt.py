#!/usr/bin/python3
"""By-hand check of convert_nanogpt.py: builds a nanoGPT-style checkpoint with its own model code
(nanoGPT's structure: bias=False LayerNorm/Linear, exact nn.GELU(), the registered causal-mask
buffer, a tied lm_head, torch.compile's "_orig_mod." prefix), converts it, and compares the
engine's `gpt loss` with PyTorch's on the same text.

    /usr/bin/python3 weights/check_convert_nanogpt.py [build/native/gpt]
"""
import math
import os
import pickle
import re
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_nanogpt  # noqa: E402

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 4


class LayerNorm(nn.Module):  # nanoGPT's: optional bias
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n) + 0.2 * torch.randn(n))
        self.bias = None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class Block(nn.Module):
    def __init__(self, C, NH, T):
        super().__init__()
        self.n_head = NH
        self.ln_1, self.ln_2 = LayerNorm(C), LayerNorm(C)
        self.attn = nn.Module()
        self.attn.c_attn = nn.Linear(C, 3 * C, bias=False)
        self.attn.c_proj = nn.Linear(C, C, bias=False)
        self.attn.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(C, 4 * C, bias=False)
        self.mlp.c_proj = nn.Linear(4 * C, C, bias=False)
        self.gelu = nn.GELU()

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        att = att.masked_fill(self.attn.bias[:, :, :T, :T] == 0, float("-inf")).softmax(-1)
        x = x + self.attn.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp.c_proj(self.gelu(self.mlp.c_fc(self.ln_2(x))))


def main():
    gpt = sys.argv[1] if len(sys.argv) > 1 else "build/native/gpt"
    torch.manual_seed(3)
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    L, NH, C, T, V = 2, 4, 32, 64, len(chars)
    model = nn.Module()
    model.transformer = nn.Module()
    model.transformer.wte = nn.Embedding(V, C)
    model.transformer.wpe = nn.Embedding(T, C)
    model.transformer.h = nn.ModuleList([Block(C, NH, T) for _ in range(L)])
    model.transformer.ln_f = LayerNorm(C)
    model.lm_head = nn.Linear(C, V, bias=False)
    model.lm_head.weight = model.transformer.wte.weight  # tied, as nanoGPT
    sd = {"_orig_mod." + k: v for k, v in model.state_dict().items()}

    ids = torch.tensor([stoi[c] for c in TEXT])
    total, count = 0.0, 0
    with torch.no_grad():
        for a in range(0, len(ids) - 1, T):
            x = ids[a : a + T][None, : min(T, len(ids) - 1 - a)]
            y = ids[a + 1 : a + 1 + x.shape[1]]
            h = model.transformer.wte(x) + model.transformer.wpe(torch.arange(x.shape[1]))
            for b in model.transformer.h:
                h = b(h)
            logits = model.lm_head(model.transformer.ln_f(h))[0]
            total += F.cross_entropy(logits.double(), y, reduction="sum").item()
            count += len(y)
    torch_loss = total / count

    with tempfile.TemporaryDirectory() as d:
        torch.save({"model": sd, "model_args": {"n_layer": L, "n_head": NH, "n_embd": C, "block_size": T,
                                                "vocab_size": V, "bias": False, "dropout": 0.0}},
                   os.path.join(d, "ckpt.pt"))
        with open(os.path.join(d, "meta.pkl"), "wb") as f:
            pickle.dump({"vocab_size": V, "stoi": stoi, "itos": {i: c for c, i in stoi.items()}}, f)
        with open(os.path.join(d, "text.txt"), "w") as f:
            f.write(TEXT)
        out = os.path.join(d, "model.safetensors")
        convert_nanogpt.convert(os.path.join(d, "ckpt.pt"), out, os.path.join(d, "meta.pkl"), "F32")
        r = subprocess.run([gpt, "loss", "--weights", out, "--data", os.path.join(d, "text.txt")], capture_output=True, text=True)
        if r.returncode:
            sys.exit(r.stderr)
        engine_loss = float(re.search(r"loss ([\d.]+)", r.stdout).group(1))
    diff = abs(engine_loss - torch_loss)
    print(f"PyTorch (nanoGPT structure) {torch_loss:.6f}, engine {engine_loss:.6f}, difference {diff:.2e}")
    sys.exit(0 if diff < 1e-4 else 1)


if __name__ == "__main__":
    main()
