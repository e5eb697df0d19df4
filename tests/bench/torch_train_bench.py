#!/usr/bin/python3
"""The reference point for training speed: PyTorch CPU training weights/gptref.py's model the way
weights/train.py does (AdamW, gradient clipping; dropout off, as the engine trains), with the same
batch shape as `gpt_bench train`. Prints {"tok_s": ..., "threads": ...} as JSON.

    /usr/bin/python3 tests/bench/torch_train_bench.py --n-layer 2 --n-head 4 --n-embd 64 --block-size 64
        --batch 16 [--vocab 65] [--steps 20] [--threads N]
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
    for k, d in (("n-layer", 2), ("n-head", 4), ("n-embd", 64), ("block-size", 64), ("batch", 16), ("vocab", 65), ("steps", 20)):
        p.add_argument(f"--{k}", type=int, default=d)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    cfg = {"n_layer": a.n_layer, "n_head": a.n_head, "n_embd": a.n_embd, "block_size": a.block_size, "vocab_size": a.vocab}
    model = gptref.GPT(cfg).train()
    decay = [q for q in model.parameters() if q.dim() >= 2]
    no_decay = [q for q in model.parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
    x = torch.randint(a.vocab, (a.batch, a.block_size))
    y = torch.randint(a.vocab, (a.batch, a.block_size))
    times, cpu = [], []
    for _ in range(a.steps + 2):
        t0, c0 = time.perf_counter(), time.process_time()
        _, loss, _ = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # of all threads: comparable with the engine's with --threads 1
    times, cpu = sorted(times[2:]), sorted(cpu[2:])  # two warm-up steps
    step = times[len(times) // 2]
    print(json.dumps({"tok_s": a.batch * a.block_size / step, "step_s": step, "cpu_step_s": cpu[len(cpu) // 2],
                      "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
