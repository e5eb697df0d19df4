#!/usr/bin/python3
"""The reference point: PyTorch CPU generating with the shipped model the way nanoGPT's
model.generate() does (the whole cropped context through the model for every new token, no KV
cache), as a user of the tutorials would run it. Prints {"tok_s": ...} as JSON.

    /usr/bin/python3 tests/bench/torch_bench.py WEIGHTS [--tokens 200] [--threads N]
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "weights"))
import gptref  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights")
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model, vocab, _ = gptref.load_model(a.weights)
    T = model.cfg["block_size"]
    idx = torch.zeros((1, 1), dtype=torch.long)
    g = torch.Generator().manual_seed(1337)
    times = []
    with torch.no_grad():
        for _ in range(a.tokens + 1):
            t0 = time.perf_counter()
            logits, _, _ = model(idx[:, -T:])
            probs = torch.softmax(logits[:, -1, :] / 0.8, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=g)
            idx = torch.cat((idx, nxt), dim=1)
            times.append(time.perf_counter() - t0)
    # Tokens per second after the first token, as the engine reports it.
    print(json.dumps({"tok_s": a.tokens / sum(times[1:]), "threads": a.threads, "tokens": a.tokens, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
