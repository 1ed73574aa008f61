#!/usr/bin/env python3
"""Exports the benchmark models as PyTorch modules to ONNX (opset 13, batch 1): the same
architectures as models/models.cc (mlp, cnn32, mbv2 at 96x96), so ONNX Runtime and preflight
run the very same weights (preflight through its ONNX importer).

Beside each model, NAME.identity.onnx: one Identity node on an input of the same shape, which
bench/ort_bench.py times to measure what calling ONNX Runtime from Python costs by itself.

usage: /usr/bin/python3 bench/export_models.py OUT_DIR      (Debian's python3-torch, python3-onnx)
"""
import os
import sys

import onnx
import onnx.helper as helper
import torch
import torch.nn as nn


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)), (1, 64)


def cnn8():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10)), (1, 1, 8, 8)


def mlp1024():
    return nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)), (1, 1024)


def cnn32():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)), (1, 3, 32, 32)


class InvertedResidual(nn.Module):
    def __init__(self, channels, out, stride, expansion):
        super().__init__()
        hidden = channels * expansion
        layers = []
        if expansion != 1:
            layers += [nn.Conv2d(channels, hidden, 1), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden), nn.ReLU6(), nn.Conv2d(hidden, out, 1)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and channels == out

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


def mbv2():
    layers = [nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU6()]
    channels = 16
    for expansion, out, repeats, stride in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 3, 2), (6, 96, 2, 1), (6, 160, 2, 2)]:
        for r in range(repeats):
            layers.append(InvertedResidual(channels, out, stride if r == 0 else 1, expansion))
            channels = out
    layers += [nn.Conv2d(channels, 320, 1), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(320, 10)]
    return nn.Sequential(*layers), (1, 3, 96, 96)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    os.makedirs(sys.argv[1], exist_ok=True)
    torch.manual_seed(0)
    for name, build in [("mlp", mlp), ("cnn32", cnn32), ("mbv2", mbv2)]:
        model, shape = build()
        path = os.path.join(sys.argv[1], name + ".onnx")
        torch.onnx.export(model.eval(), torch.zeros(*shape), path, input_names=["x"], output_names=["logits"], opset_version=13)
        print("wrote", path)
        identity = helper.make_model(helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])], "identity",
            [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(shape))],
            [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, list(shape))]),
            opset_imports=[helper.make_opsetid("", 13)])
        identity.ir_version = 7
        onnx.save(identity, os.path.join(sys.argv[1], name + ".identity.onnx"))


if __name__ == "__main__":
    main()
