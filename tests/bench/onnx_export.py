#!/usr/bin/python3
"""Exports an engine checkpoint to ONNX with torch.onnx, for the ONNX Runtime Web comparison in
`npm run bench` (tests/bench/onnx-peer.mjs): the model as its users would export it from PyTorch,
idx (1, T) int64 -> logits (1, 1, V) float32 of the last position, T dynamic: nanoGPT's inference
forward (the head on the last position only, no KV cache).

    /usr/bin/python3 tests/bench/onnx_export.py WEIGHTS.safetensors OUT.onnx
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "weights"))
import gptref  # noqa: E402


class NextTokenLogits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, idx):
        tr = self.model.transformer
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = tr.wte(idx) + tr.wpe(pos)
        for block in tr.h:
            x, _ = block(x)
        x = tr.ln_f(x[:, -1:, :])  # nanoGPT: "inference-time mini-optimization: only forward the lm_head on the very last position"
        return x @ tr.wte.weight.t()


def main():
    weights, out = sys.argv[1], sys.argv[2]
    model, _, _ = gptref.load_model(weights)
    idx = torch.zeros((1, 8), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(NextTokenLogits(model), (idx,), out, input_names=["idx"], output_names=["logits"],
                          dynamic_axes={"idx": {1: "T"}}, opset_version=14)


if __name__ == "__main__":
    main()
