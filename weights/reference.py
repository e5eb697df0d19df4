#!/usr/bin/python3
"""Golden files for the engine's parity tests, computed by PyTorch in float64.

    /usr/bin/python3 weights/reference.py tiny tests/data
        A small randomly initialised checkpoint in F32, F16 and BF16 (tiny-{dtype}.safetensors) and,
        for each, the reference outputs of a fixed input (tiny-{dtype}.ref.safetensors).
    /usr/bin/python3 weights/reference.py ascii tests/data
        A tiny random model whose vocabulary is printable ASCII (browser tests: text stays text).
    /usr/bin/python3 weights/reference.py bpe tests/data/bpe
        A small byte-level BPE (vocab.json, merges.txt, tokenizer.json) and reference encodings of a
        corpus of tricky strings by OpenAI's algorithm (needs python3-regex).
    /usr/bin/python3 weights/reference.py hf tests/data/gpt2-hf       (after bpe)
        A random GPT-2-vocabulary model in Hugging Face's layout, config.json, and references.
    /usr/bin/python3 weights/reference.py model WEIGHTS --prompt TEXT --out REF
        Reference outputs of a shipped checkpoint for a prompt.
    /usr/bin/python3 weights/reference.py probe WEIGHTS --prompt TEXT --positions 0,9 --off 0.1 --uniform 1.2 --out F
        What the engine's probe records at a few positions, and the logits and loss, for four cases:
        no intervention ("normal"), the --off heads switched off, the --uniform heads made uniform,
        and both ("mixed"). Tensors "<case>.<name>" (P = the positions, n = prompt tokens):
        logits (n, V); resid (P, L+1, C) after the embedding and each block; attn_out, mlp_out
        (P, L, C); q, out (P, L, NH, hs); scores before the mask and probs (P, L, NH, n); and
        normal.k (L, NH, m, hs), the keys of positions 0..m-1 up to the middle probed one. Metadata:
        tokens, positions, off, uniform, and "<case>.loss" over the prompt (`gpt loss`'s windows).

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


def write_reference(model_path, tokens, out_path, loss_tokens=None, extra_meta=None):
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
    meta = {"tokens": json.dumps(tokens), "loss": repr(loss), "loss_tokens": json.dumps(loss_tokens), "loss_targets": str(n)}
    meta.update(extra_meta or {})
    gptref.save_safetensors(out_path, tensors, meta, dtype="F32")
    print(f"{out_path}: {len(tokens)} tokens, loss {loss:.6f}")


def write_probe(model_path, tokens, positions, off, uniform, out_path):
    model, _, _ = gptref.load_model(model_path)
    model = model.double()
    cfg = model.cfg
    x = torch.tensor([tokens], dtype=torch.long)
    ids = torch.tensor(tokens, dtype=torch.long)
    P = positions
    m = P[len(P) // 2] + 1  # keys 0..m-1: enough to check every key a middle position sees, and small
    tensors, meta = {}, {"tokens": json.dumps(tokens), "positions": json.dumps(P), "off": off, "uniform": uniform}
    cases = {"normal": {}, "off": gptref.heads_modes(cfg, off=off), "uniform": gptref.heads_modes(cfg, uniform=uniform),
             "mixed": gptref.heads_modes(cfg, off=off, uniform=uniform)}
    for case, iv in cases.items():
        rec = []
        with torch.no_grad():
            logits, _, _ = model(x, interventions=iv, rec=rec)
        blocks = rec[1:]
        t = {
            "logits": logits[0],
            "resid": torch.stack([r["resid"][0, P] for r in rec], dim=1),                # (P, L+1, C)
            "attn_out": torch.stack([b["attn_out"][0, P] for b in blocks], dim=1),       # (P, L, C)
            "mlp_out": torch.stack([b["mlp_out"][0, P] for b in blocks], dim=1),
            "q": torch.stack([b["q"][0][:, P] for b in blocks], dim=0).permute(2, 0, 1, 3),  # (P, L, NH, hs)
            "out": torch.stack([b["out"][0][:, P] for b in blocks], dim=0).permute(2, 0, 1, 3),
            "scores": torch.stack([b["scores"][0][:, P] for b in blocks], dim=0).permute(2, 0, 1, 3),  # (P, L, NH, n)
            "probs": torch.stack([b["probs"][0][:, P] for b in blocks], dim=0).permute(2, 0, 1, 3),
        }
        if case == "normal":
            t["k"] = torch.stack([b["k"][0][:, :m] for b in blocks], dim=0)  # (L, NH, m, hs)
        for name, v in t.items():
            tensors[f"{case}.{name}"] = v.contiguous()
        loss, _ = gptref.eval_loss_windows(model, ids, cfg["block_size"], interventions=iv)
        meta[f"{case}.loss"] = repr(loss)
        print(f"{case}: loss {loss:.6f}")
    gptref.save_safetensors(out_path, tensors, meta, dtype="F32")
    print(f"{out_path}: {len(tokens)} tokens, positions {P}")


def tiny_model(cfg):
    torch.manual_seed(20261122)
    return gptref.sharpen(gptref.GPT(cfg))


def make_tiny(out_dir):
    cfg = dict(TINY_CFG, vocab_size=len(TINY_VOCAB))
    stoi = {c: i for i, c in enumerate(TINY_VOCAB)}
    tokens = [stoi[c] for c in TINY_TEXT]
    loss_tokens = [stoi[c] for c in TINY_LOSS_TEXT]
    # The same weights in three dtypes with GPT-2's tanh GELU, and once with nanoGPT's exact GELU.
    for name, c, dtype in (("f32", cfg, "F32"), ("f16", cfg, "F16"), ("bf16", cfg, "BF16"),
                           ("gelu-f32", dict(cfg, activation="gelu"), "F32")):
        path = os.path.join(out_dir, f"tiny-{name}.safetensors")
        gptref.export(tiny_model(c), TINY_VOCAB, path, dtype)
        write_reference(path, tokens, os.path.join(out_dir, f"tiny-{name}.ref.safetensors"), loss_tokens)


def make_ascii(out_dir):
    """A tiny random model whose vocabulary is all of printable ASCII: it can be prompted with, and
    generate, HTML, which the browser tests use to check that text is never interpreted."""
    torch.manual_seed(7)
    vocab = ["\n"] + [chr(c) for c in range(32, 127)]
    model = gptref.GPT({"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 64, "vocab_size": len(vocab)})
    path = os.path.join(out_dir, "ascii-tiny.safetensors")
    gptref.export(model, vocab, path, "F16")
    print(f"{path}: {model.num_params()} parameters")


# ---- GPT-2 byte-level BPE: a small merges table and reference encodings for the C++ tokenizer ----

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# The corpus of tricky strings, as bytes (some are not valid UTF-8).
BPE_CORPUS = [s.encode("utf-8") if isinstance(s, str) else s for s in [
    "Hello, world! How's it going?", "I'm sure you're right: they'll say we've done what he'd do.",
    "DON'T SHOUT'S", "'s'", "'" * 3, "it's John's", "a  b", "   leading", "trailing   ", "\n\n\nHello",
    "\t\ttabs\tand spaces \n ", " \n ", "  multiple   spaces  here  ", "123456789", "3.14159 and 1,000,000",
    "x=1; y = 2; z==3", "½ ² ³ ⅓ Ⅻ", "😀👍🏽 👨‍👩‍👧 family", "日本語のテキスト、中文。", "e\u0301 naïve café Zalgo z̴̛a̷",
    "ÀÉÎÕÜ àéîõü", "مرحبا بالعالم", "नमस्ते दुनिया", "non\u00a0breaking\u3000ideographic space",
    "<|endoftext|>", "text<|endoftext|>more", "the the the there their then", "",
    b"\xff\xfe abc", b"caf\xc3", b"\xed\xa0\x80 surrogate", b"\xc0\xaf overlong", b"ok \xe2\x82 cut",
]]

BPE_TRAINING_TEXT = """The quick brown fox jumps over the lazy dog. It's the same old story: they'll
say there is nothing new, and we've heard it all before. Then the weather turned, and the rain
came down on the town for three days and three nights. Numbers like 1, 10, 100 and 2024 appear in
text; so do names such as Alice, Bob and Charlie, and words that repeat: the, the, the. Hello
world! Hello again, world. I'm here, you're there, he'd go, she'll stay.
"""


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def pretokenize(raw):
    import regex
    text = raw.decode("utf-8", "surrogateescape")
    return [p.encode("utf-8", "surrogateescape") for p in regex.findall(GPT2_PATTERN, text)]


def merge_pair(word, pair):
    out, i = [], 0
    while i < len(word):
        if i < len(word) - 1 and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def bpe_encode(raw, vocab, ranks):
    """OpenAI's encoder.py algorithm: per piece, merge the lowest-ranked pair everywhere, repeat."""
    b2u = bytes_to_unicode()
    ids = []
    for piece in pretokenize(raw):
        word = [b2u[b] for b in piece]
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
            if best not in ranks:
                break
            word = merge_pair(word, best)
        ids.extend(vocab[w] for w in word)
    return ids


def make_bpe(out_dir, n_merges=300):
    """A byte-level BPE trained for the tests (most frequent pair first, within pieces), written as
    vocab.json + merges.txt + tokenizer.json, and reference encodings of BPE_CORPUS."""
    import base64
    from collections import Counter
    b2u = bytes_to_unicode()
    words = Counter(tuple(b2u[b] for b in p) for p in pretokenize(BPE_TRAINING_TEXT.encode()))
    vocab = {b2u[b]: i for i, b in enumerate(sorted(b2u))}
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, n in words.items():
            for i in range(len(w) - 1):
                pairs[(w[i], w[i + 1])] += n
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        vocab[best[0] + best[1]] = len(vocab)
        words = Counter({tuple(merge_pair(list(w), best)): n for w, n in words.items()})
    eot = len(vocab)
    os.makedirs(out_dir, exist_ok=True)
    full = {**vocab, "<|endoftext|>": eot}
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(full, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    tok = {"version": "1.0", "added_tokens": [{"id": eot, "content": "<|endoftext|>", "special": True}],
           "model": {"type": "BPE", "vocab": full, "merges": [f"{a} {b}" for a, b in merges]}}
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    ranks = {m: i for i, m in enumerate(merges)}
    cases = [{"bytes": base64.b64encode(raw).decode(), "pieces": [base64.b64encode(p).decode() for p in pretokenize(raw)],
              "ids": bpe_encode(raw, vocab, ranks)} for raw in BPE_CORPUS]
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump({"pattern": GPT2_PATTERN, "cases": cases}, f, indent=0)
    print(f"{out_dir}: {len(full)} tokens, {len(merges)} merges, {len(cases)} reference encodings")


# ---- A GPT-2-shaped checkpoint in Hugging Face's layout ----

HF_TEXT = "Hello, world! How's it going? The weather turned, and the rain came down on the town."


def make_hf(out_dir):
    """A randomly initialised model with GPT-2's vocabulary size in Hugging Face's layout: tensor names
    without the "transformer." prefix, Linear weights stored [in, out] (Conv1D), the causal-mask
    buffers h.N.attn.bias present as in older exports, config.json beside it; references from
    PyTorch in float64 for text tokenized with the test BPE (tests/data/bpe)."""
    torch.manual_seed(50257)
    cfg = {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 64, "vocab_size": 50257}
    model = gptref.GPT(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (1.0 / p.shape[-1] ** 0.5) * 1.5)
    os.makedirs(out_dir, exist_ok=True)
    tensors = {}
    T = cfg["block_size"]
    for name, t in gptref.state_tensors(model).items():
        hf = name[len("transformer."):]
        if name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
            t = t.t().contiguous()  # Conv1D: [in, out]
        tensors[hf] = t
        if hf.endswith("ln_1.weight"):
            tensors[hf.replace("ln_1.weight", "attn.bias")] = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
    gptref.save_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, {"format": "pt"}, dtype="F32")
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump({"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 16, "n_positions": T, "vocab_size": 50257,
                   "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}, f, indent=1)

    vocab = json.load(open(os.path.join(os.path.dirname(out_dir), "bpe", "vocab.json"), encoding="utf-8"))
    ranks = {tuple(l.split(" ")): i for i, l in enumerate(open(os.path.join(os.path.dirname(out_dir), "bpe", "merges.txt"),
                                                                 encoding="utf-8").read().splitlines()[1:])}
    tokens = bpe_encode(HF_TEXT.encode(), vocab, ranks)
    model = model.double().eval()
    with torch.no_grad():
        logits, _, atts = model(torch.tensor([tokens]), want_att=True)
    n = len(tokens)
    rows = [0, n // 2, n - 1]
    ref = {"logits_rows": logits[0, rows]}
    for l, a in enumerate(atts):
        ref[f"att.{l}"] = a[0]
    loss, _ = gptref.eval_loss_windows(model, torch.tensor(tokens), T)
    gptref.save_safetensors(os.path.join(out_dir, "reference.safetensors"), ref,
                            {"text": HF_TEXT, "tokens": json.dumps(tokens), "rows": json.dumps(rows), "loss": repr(loss)}, dtype="F32")
    print(f"{out_dir}: {model.num_params()} parameters, {n} tokens, loss {loss:.6f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tiny")
    t.add_argument("out_dir")
    sub.add_parser("ascii").add_argument("out_dir")
    sub.add_parser("bpe").add_argument("out_dir")
    sub.add_parser("hf").add_argument("out_dir")
    m = sub.add_parser("model")
    m.add_argument("weights")
    m.add_argument("--prompt", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--data", help="the training text: also record the loss on the first --val-chars validation characters")
    m.add_argument("--val-chars", type=int, default=50000)
    pr = sub.add_parser("probe")
    pr.add_argument("weights")
    pr.add_argument("--prompt", required=True)
    pr.add_argument("--positions", required=True)
    pr.add_argument("--off", default="")
    pr.add_argument("--uniform", default="")
    pr.add_argument("--out", required=True)
    a = p.parse_args()
    if a.cmd == "tiny":
        make_tiny(a.out_dir)
    elif a.cmd == "ascii":
        make_ascii(a.out_dir)
    elif a.cmd == "bpe":
        make_bpe(a.out_dir)
    elif a.cmd == "hf":
        make_hf(a.out_dir)
    elif a.cmd == "probe":
        _, vocab, _ = gptref.load_model(a.weights)
        stoi = {c: i for i, c in enumerate(vocab)}
        write_probe(a.weights, [stoi[c] for c in a.prompt], [int(p) for p in a.positions.split(",")], a.off, a.uniform, a.out)
    else:
        model, vocab, _ = gptref.load_model(a.weights)
        stoi = {c: i for i, c in enumerate(vocab)}
        extra = {}
        if a.data:
            # The validation split as train.py and `gpt loss --split val` cut it: the last 10% by character.
            text = open(a.data, encoding="utf-8").read()
            val = text[int(0.9 * len(text)):][: a.val_chars]
            loss, n = gptref.eval_loss_windows(model.double(), torch.tensor([stoi[c] for c in val]), model.cfg["block_size"])
            extra = {"val_chars": str(len(val)), "val_loss": repr(loss), "val_targets": str(n)}
            print(f"loss on the first {len(val)} validation characters: {loss:.6f} ({n} targets)")
        write_reference(a.weights, [stoi[c] for c in a.prompt], a.out, extra_meta=extra)


if __name__ == "__main__":
    main()
