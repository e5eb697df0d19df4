"""PyTorch reference for the engine: the model, and the engine's safetensors format.

One definition of the architecture, shared by train.py, export and the reference/golden scripts,
so the engine is always checked against the same thing that was trained. It follows nanoGPT's
model.py (Karpathy) with the choices the engine makes explicit:
  - pre-LayerNorm blocks, eps 1e-5, with bias; fused QKV projection (c_attn);
  - GELU with the tanh approximation (as GPT-2);
  - lm_head tied to the token embedding;
  - attention computed explicitly (no flash path) so its probabilities can be returned.

Run only with Debian's python3-torch (/usr/bin/python3). Tests never import this file: they read the
golden files it writes.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT_NAME = "gpt-playground"
FORMAT_VERSION = "1"
CONFIG_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "vocab_size")


class Block(nn.Module):
    def __init__(self, cfg, dropout):
        super().__init__()
        C = cfg["n_embd"]
        self.n_head = cfg["n_head"]
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = nn.Module()
        self.attn.c_attn = nn.Linear(C, 3 * C)
        self.attn.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(C, 4 * C)
        self.mlp.c_proj = nn.Linear(4 * C, C)
        self.drop = nn.Dropout(dropout)
        self.gelu = "none" if cfg.get("activation") == "gelu" else "tanh"  # exact (nanoGPT) or GPT-2's approximation
        T = cfg["block_size"]
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)), persistent=False)

    def attention(self, x, want_att, modes=None, rec=None):
        """modes: None, or one of "normal", "off", "uniform" per head (the engine's interventions);
        rec: None, or a dict that receives q, k, v (B, NH, T, hs), the scaled scores before the mask
        and the probabilities used (B, NH, T, T), and each head's output (B, NH, T, hs)."""
        B, T, C = x.shape
        NH = self.n_head
        hs = C // NH
        q, k, v = self.attn.c_attn(x).split(C, dim=2)
        q = q.view(B, T, NH, hs).transpose(1, 2)  # (B, NH, T, hs)
        k = k.view(B, T, NH, hs).transpose(1, 2)
        v = v.view(B, T, NH, hs).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, NH, T, T)
        att = scores.masked_fill(~self.mask[:T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        if modes and "uniform" in modes:
            # The causal average of the "mathematical trick": tril(ones) with each row divided by its sum.
            tril = self.mask[:T, :T].to(att.dtype)
            uniform = tril / tril.sum(dim=-1, keepdim=True)
            att = torch.stack([uniform.expand(B, T, T) if m == "uniform" else att[:, h] for h, m in enumerate(modes)], dim=1)
        y = self.drop(att) @ v  # (B, NH, T, hs)
        if modes and "off" in modes:
            y = torch.stack([torch.zeros_like(y[:, h]) if m == "off" else y[:, h] for h, m in enumerate(modes)], dim=1)
        if rec is not None:
            rec.update(q=q, k=k, v=v, scores=scores, probs=att, out=y)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.drop(self.attn.c_proj(y)), (att if want_att else None)

    def forward(self, x, want_att=False, modes=None, rec=None):
        a, att = self.attention(self.ln_1(x), want_att, modes, rec)
        x = x + a
        h = F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate=self.gelu)
        m = self.drop(self.mlp.c_proj(h))
        x = x + m
        if rec is not None:
            rec.update(attn_out=a, mlp_out=m, resid=x)
        return x, att


class GPT(nn.Module):
    def __init__(self, cfg, dropout=0.0):
        super().__init__()
        self.cfg = dict(cfg)
        C = cfg["n_embd"]
        assert C % cfg["n_head"] == 0
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(cfg["vocab_size"], C)
        self.transformer.wpe = nn.Embedding(cfg["block_size"], C)
        self.transformer.drop = nn.Dropout(dropout)
        self.transformer.h = nn.ModuleList([Block(cfg, dropout) for _ in range(cfg["n_layer"])])
        self.transformer.ln_f = nn.LayerNorm(C, eps=1e-5)
        self.apply(self._init_weights)
        # GPT-2's scaled init of the residual projections (nanoGPT does the same).
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg["n_layer"]))

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None, want_att=False, interventions=None, rec=None):
        """idx (B, T) int64 -> logits (B, T, V), loss or None, [att (B, NH, T, T) per layer].
        interventions: None or {layer: [mode per head]} (Block.attention); rec: None or a list that
        receives {"embedding": x} and then one dict per block (Block.attention, Block.forward)."""
        B, T = idx.shape
        tr = self.transformer
        pos = torch.arange(T, device=idx.device)
        x = tr.drop(tr.wte(idx) + tr.wpe(pos))
        if rec is not None:
            rec.append({"resid": x})
        atts = []
        for l, block in enumerate(tr.h):
            r = {} if rec is not None else None
            x, att = block(x, want_att, (interventions or {}).get(l), r)
            if rec is not None:
                rec.append(r)
            atts.append(att)
        x = tr.ln_f(x)
        logits = x @ tr.wte.weight.t()  # tied head
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss, (atts if want_att else None)


# ---- safetensors (the subset the engine reads), written without the safetensors package ----

_DTYPES = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (None, 2)}


def _to_bytes(t, dtype):
    t = t.detach().to(torch.float32).contiguous().cpu()
    if dtype == "F32":
        return t.numpy().astype("<f4").tobytes()
    if dtype == "F16":
        return t.numpy().astype("<f2").tobytes()
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    raise ValueError(f"unknown dtype {dtype}")


def state_tensors(model):
    """The tensors the engine reads, in file order (nanoGPT names; lm_head is tied, not stored)."""
    sd = model.state_dict()
    return {k: v for k, v in sd.items() if not k.endswith(".mask") and k != "lm_head.weight"}


def save_safetensors(path, tensors, metadata, dtype="F16"):
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        b = _to_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # align the data start to 8 bytes (spec allows spaces)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """-> (dict name -> float32 torch tensor, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        buf = data[a:b]
        if info["dtype"] == "F32":
            arr = np.frombuffer(buf, dtype="<f4").astype(np.float32)
        elif info["dtype"] == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{name}: unknown dtype {info['dtype']}")
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out, meta


def sharpen(model):
    """Larger weights and non-trivial LayerNorm parameters, in place, from torch's current seed:
    GPT-2's init (std 0.02) gives near-uniform attention and near-constant logits, a weak test; with
    these every head is sharp and every path counts (the golden test models)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln_" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (1.0 / p.shape[-1] ** 0.5) * 1.5)
    return model


def metadata_for(cfg, vocab):
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "tokenizer": "char",
            "vocab": json.dumps(vocab, ensure_ascii=False)}
    if cfg.get("activation") == "gelu":
        meta["activation"] = "gelu"  # exact GELU (nanoGPT); absent means GPT-2's tanh approximation
    for k in CONFIG_KEYS:
        meta[k] = str(cfg[k])
    return meta


def export(model, vocab, path, dtype="F16"):
    save_safetensors(path, state_tensors(model), metadata_for(model.cfg, vocab), dtype)


def load_model(path):
    """A float32 GPT built from an engine safetensors file (weights as rounded by its dtype)."""
    tensors, meta = load_safetensors(path)
    cfg = {k: int(meta[k]) for k in CONFIG_KEYS}
    if meta.get("activation") == "gelu":
        cfg["activation"] = "gelu"
    model = GPT(cfg)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not m.endswith(".mask")]
    if missing or unexpected:
        raise ValueError(f"missing {missing}, unexpected {unexpected}")
    model.eval()
    return model, json.loads(meta["vocab"]), meta


def heads_modes(cfg, off="", uniform=""):
    """The engine's --ablate/--uniform lists ("0.1,2.3") -> {layer: [mode per head]}."""
    modes = {}
    for spec, mode in ((off, "off"), (uniform, "uniform")):
        for item in filter(None, spec.split(",")):
            l, h = map(int, item.split("."))
            modes.setdefault(l, ["normal"] * cfg["n_head"])[h] = mode
    return modes


def eval_loss_windows(model, ids, block_size, batch=16, interventions=None):
    """Mean next-token cross-entropy over consecutive non-overlapping windows of block_size input
    ids from the start of ids (window w predicts ids[w*T+1 .. w*T+T]; a final shorter window takes
    the remainder; every position counts). Mirrors the engine's `gpt loss`. ids: 1-D int64."""
    n_targets = len(ids) - 1
    starts = list(range(0, n_targets, block_size))
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(starts), batch):
            group = starts[s : s + batch]
            full = [a for a in group if a + block_size <= n_targets]
            parts = [full] + [[a] for a in group if a + block_size > n_targets]
            for rows in parts:
                if not rows:
                    continue
                L = min(block_size, n_targets - rows[0])
                x = torch.stack([ids[a : a + L] for a in rows])
                y = torch.stack([ids[a + 1 : a + L + 1] for a in rows])
                logits, _, _ = model(x, interventions=interventions)
                l = F.cross_entropy(logits.double().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum")
                total += l.item()
    return total / n_targets, n_targets
