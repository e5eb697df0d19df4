#!/usr/bin/python3
"""Converts a nanoGPT checkpoint (ckpt.pt from nanoGPT's train.py) to the engine's safetensors.

    /usr/bin/python3 weights/convert_nanogpt.py out-shakespeare-char/ckpt.pt model.safetensors \\
        [--meta data/shakespeare_char/meta.pkl] [--dtype F16]

Character models: give nanoGPT's meta.pkl (its stoi/itos), and the vocabulary goes into the file.
GPT-2 BPE models (no meta.pkl; nanoGPT pads the vocabulary to 50304): the file is marked
"tokenizer": "gpt2"; load it with GPT-2's tokenizer.json beside it (page: drop both; CLI:
--tokenizer). Uses torch only: the engine never parses pickles.

What changes on the way: names lose torch.compile's "_orig_mod." prefix; a model trained with
bias=False gets zero biases (the same function); the attention-mask buffers are dropped; lm_head is
dropped when tied to wte; the file records "activation": "gelu" because nanoGPT's MLP uses the
exact GELU (nn.GELU()), which the engine then computes too.
"""
import argparse
import os
import pickle
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptref  # noqa: E402


def convert(ckpt_path, out_path, meta_path=None, dtype="F16"):
    ck = torch.load(ckpt_path, map_location="cpu")
    sd = {k.removeprefix("_orig_mod."): v for k, v in ck["model"].items()}
    args = ck["model_args"]
    cfg = {k: int(args[k]) for k in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size")}
    C = cfg["n_embd"]

    tensors = {}
    for name, shape in expected_shapes(cfg).items():
        if name in sd:
            t = sd[name]
        elif name.endswith(".bias"):
            t = torch.zeros(shape)  # trained with bias=False: LayerNorm and Linear without bias
        else:
            sys.exit(f"convert_nanogpt: {ckpt_path} has no tensor {name}")
        if tuple(t.shape) != tuple(shape):
            sys.exit(f"convert_nanogpt: {name} has shape {list(t.shape)}, expected {list(shape)}")
        tensors[name] = t
    head = sd.get("lm_head.weight")
    if head is not None and not torch.equal(head, sd["transformer.wte.weight"]):
        tensors["lm_head.weight"] = head  # untied

    meta = {"format": gptref.FORMAT_NAME, "format_version": gptref.FORMAT_VERSION, "activation": "gelu"}
    meta.update({k: str(v) for k, v in cfg.items()})
    if meta_path:
        with open(meta_path, "rb") as f:
            m = pickle.load(f)
        itos = m["itos"]
        vocab = [itos[i] for i in range(len(itos))]
        if len(vocab) != cfg["vocab_size"]:
            sys.exit(f"convert_nanogpt: meta.pkl has {len(vocab)} characters, the model {cfg['vocab_size']}")
        meta["tokenizer"] = "char"
        meta["vocab"] = gptref.json.dumps(vocab, ensure_ascii=False)
    else:
        meta["tokenizer"] = "gpt2"
    gptref.save_safetensors(out_path, tensors, meta, dtype)
    n = sum(t.numel() for t in tensors.values())
    print(f"{out_path}: {n:,} parameters, {cfg}, tokenizer {meta['tokenizer']}, {dtype}")


def expected_shapes(cfg):
    C, V, T = cfg["n_embd"], cfg["vocab_size"], cfg["block_size"]
    s = {"transformer.wte.weight": (V, C), "transformer.wpe.weight": (T, C)}
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}."
        s.update({p + "ln_1.weight": (C,), p + "ln_1.bias": (C,), p + "attn.c_attn.weight": (3 * C, C),
                  p + "attn.c_attn.bias": (3 * C,), p + "attn.c_proj.weight": (C, C), p + "attn.c_proj.bias": (C,),
                  p + "ln_2.weight": (C,), p + "ln_2.bias": (C,), p + "mlp.c_fc.weight": (4 * C, C),
                  p + "mlp.c_fc.bias": (4 * C,), p + "mlp.c_proj.weight": (C, 4 * C), p + "mlp.c_proj.bias": (C,)})
    s.update({"transformer.ln_f.weight": (C,), "transformer.ln_f.bias": (C,)})
    return s


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ckpt")
    p.add_argument("out")
    p.add_argument("--meta", help="nanoGPT's meta.pkl, for character-level models")
    p.add_argument("--dtype", default="F16", choices=["F32", "F16", "BF16"])
    a = p.parse_args()
    convert(a.ckpt, a.out, a.meta, a.dtype)


if __name__ == "__main__":
    main()
